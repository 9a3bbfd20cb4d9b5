// Wires the real protocol codec and partition log into the broker (the only place that imports both).
import {
  decodeRequestHeader,
  decodeRequest,
  encodeResponse,
  encodeResponseChunks,
  isVersionSupported,
  supportedApiVersions,
  validateRecordBatches,
} from '@tributary/protocol';
import { PartitionLog } from '@tributary/log';
import type { Logger } from 'pino';
import type { BrokerDeps } from './broker.js';
import type { StorageLog } from './partitions/storage-log.js';
import { ConsumerGroupCoordinator } from './consumer-groups/index.js';

export function runtimeDeps(logger: Logger): BrokerDeps {
  return {
    codec: {
      decodeRequestHeader: (frame) => decodeRequestHeader(frame),
      decodeRequest: (apiKey, apiVersion, frame, bodyOffset) => decodeRequest(apiKey as never, apiVersion, frame, bodyOffset),
      encodeResponse: (apiKey, apiVersion, correlationId, body) => encodeResponse(apiKey as never, apiVersion, correlationId, body as never),
      encodeResponseChunks: (apiKey, apiVersion, correlationId, body) =>
        encodeResponseChunks(apiKey as never, apiVersion, correlationId, body as never),
      isVersionSupported: (apiKey, apiVersion) => isVersionSupported(apiKey, apiVersion),
      supportedApiVersions: () => supportedApiVersions(),
    },
    openLog: async (dir, config): Promise<StorageLog> => PartitionLog.open(dir, config, logger.child({ component: 'log', dir })),
    validateBatches: (records) => {
      const r = validateRecordBatches(records);
      if (!r.ok) return { ok: false, errorCode: r.errorCode, message: r.message };
      return {
        ok: true,
        batches: r.batches.map((b) => ({
          sizeBytes: b.sizeBytes,
          lastOffsetDelta: b.lastOffsetDelta,
          maxTimestampMs: b.maxTimestamp,
          producerId: b.producerId,
          producerEpoch: b.producerEpoch,
          baseSequence: b.baseSequence,
        })),
      };
    },
    createGroupCoordinator: (options) => new ConsumerGroupCoordinator(options),
  };
}
