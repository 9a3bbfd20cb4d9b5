import type { BrokerState } from './context.js';
import { KafkaError } from './error-codes.js';
import type { ApiVersionsRequest, ApiVersionsResponse } from './wire-types.js';

export function handleApiVersions(state: BrokerState, _request: ApiVersionsRequest): ApiVersionsResponse {
  return {
    errorCode: KafkaError.NONE,
    apiKeys: state.apiVersions(),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

/** The answer to an ApiVersions request of a version we do not know: v0 layout, UNSUPPORTED_VERSION, our ranges. */
export function unsupportedApiVersionsResponse(state: BrokerState): ApiVersionsResponse {
  return { ...handleApiVersions(state, {}), errorCode: KafkaError.UNSUPPORTED_VERSION };
}
