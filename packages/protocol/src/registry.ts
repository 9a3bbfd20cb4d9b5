/**
 * Which schemas implement which API key, and the version ranges this package supports and advertises.
 */
import { ApiKey } from './api-keys.js';
import { parseVersions, type MessageSchema } from './schema/dsl.js';
import * as core from './messages/core.js';
import * as admin from './messages/admin.js';
import * as groups from './messages/groups.js';
import * as transactions from './messages/transactions.js';

export interface ApiSchemas {
  readonly request: MessageSchema;
  readonly response: MessageSchema;
  /** Lowest version advertised in ApiVersions (the codec may decode older ones). */
  readonly minAdvertised?: number;
}

const registry = new Map<number, ApiSchemas>([
  // Produce < 3 and Fetch < 4 carry legacy magic 0/1 message sets only; the codec handles them but they are not advertised.
  [ApiKey.Produce, { request: core.ProduceRequestSchema, response: core.ProduceResponseSchema, minAdvertised: 3 }],
  [ApiKey.Fetch, { request: core.FetchRequestSchema, response: core.FetchResponseSchema, minAdvertised: 4 }],
  [ApiKey.ListOffsets, { request: core.ListOffsetsRequestSchema, response: core.ListOffsetsResponseSchema }],
  [ApiKey.Metadata, { request: core.MetadataRequestSchema, response: core.MetadataResponseSchema }],
  [ApiKey.ApiVersions, { request: core.ApiVersionsRequestSchema, response: core.ApiVersionsResponseSchema }],
  ...admin.adminApis,
  ...groups.groupApis,
  ...transactions.transactionApis,
]);

export function schemasFor(apiKey: number): ApiSchemas | undefined {
  return registry.get(apiKey);
}

export function registeredApiKeys(): number[] {
  return [...registry.keys()].sort((a, b) => a - b);
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

function fullRange(schemas: ApiSchemas): { min: number; max: number } {
  const req = parseVersions(schemas.request.validVersions);
  const res = parseVersions(schemas.response.validVersions);
  return { min: Math.max(req.min, res.min), max: Math.min(req.max, res.max) };
}

/** Version ranges to advertise in ApiVersions, sorted by api key. Shape matches ApiVersionsResponse.apiKeys. */
export function supportedApiVersions(): ApiVersionRange[] {
  return registeredApiKeys().map((apiKey) => {
    const schemas = registry.get(apiKey)!;
    const { min, max } = fullRange(schemas);
    return { apiKey, minVersion: Math.max(min, schemas.minAdvertised ?? min), maxVersion: max };
  });
}

/** True when the codec can decode requests and encode responses of this (apiKey, version). */
export function isVersionSupported(apiKey: number, version: number): boolean {
  const range = codecRanges[apiKey];
  return range !== undefined && version >= range.min && version <= range.max;
}

/** Decodable/encodable range per api key, indexed by key (hot path: no map lookups). */
const codecRanges: ({ min: number; max: number } | undefined)[] = [];
for (const [apiKey, schemas] of registry) codecRanges[apiKey] = fullRange(schemas);
