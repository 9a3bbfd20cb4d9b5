export { ProtocolError } from './errors.js';
export { ApiKey, apiKeyName, type ApiKeyName, type ApiKeyNumber } from './api-keys.js';
export { ErrorCode, errorName, type ErrorCodeName, type ErrorCodeNumber } from './error-codes.js';
export { Reader, Writer, uvarintSize, varintSize, varlongSize } from './primitives.js';
export { supportedApiVersions, isVersionSupported, schemasFor, type ApiVersionRange, type ApiSchemas } from './registry.js';
export {
  decodeRequestHeader,
  decodeRequest,
  encodeResponse,
  encodeResponseChunks,
  encodeRequest,
  decodeResponse,
  encodeBody,
  decodeBody,
  type RequestHeader,
  type DecodedRequestHeader,
  type RequestFor,
  type ResponseFor,
} from './frames.js';
export { compile, generateSource, isFlexible, type CompiledCodec } from './schema/compile.js';
export { parseVersions, inVersions, type FieldSchema, type MessageSchema, type MessageOf, type MessageType } from './schema/dsl.js';
export type { RequestByKey, ResponseByKey } from './types.js';
export * from './messages/core.js';
export * from './messages/admin.js';
export * from './messages/groups.js';
export * from './messages/transactions.js';
export {
  BATCH_HEADER_BYTES,
  Compression,
  crc32c,
  readBatchHeader,
  validateRecordBatches,
  setBaseOffset,
  setPartitionLeaderEpoch,
  encodeRecordBatch,
  decodeRecordBatch,
  type CompressionName,
  type BatchInfo,
  type ValidateResult,
  type RecordHeader,
  type RecordInput,
  type EncodeBatchOptions,
  type DecodedRecord,
  type DecodedBatch,
} from './record-batch.js';
