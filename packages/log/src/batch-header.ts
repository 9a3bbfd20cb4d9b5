/**
 * The parts of the Kafka magic v2 record batch header this package reads. The log knows nothing else of the
 * wire protocol: it never decodes records (except timestamps of uncompressed batches, see record-timestamps.ts).
 *
 *   baseOffset@0 int64 | batchLength@8 int32 | partitionLeaderEpoch@12 int32 | magic@16 int8 | crc@17 uint32
 *   attributes@21 int16 | lastOffsetDelta@23 int32 | baseTimestamp@27 int64 | maxTimestamp@35 int64
 *   producerId@43 int64 | producerEpoch@51 int16 | baseSequence@53 int32 | recordCount@57 int32 | records@61
 *
 * batchLength counts the bytes after the batchLength field, so a batch occupies 12 + batchLength bytes.
 * The CRC-32C covers bytes 21..end.
 */
import { crc32c } from '@node-rs/crc32';

export const BATCH_HEADER_BYTES = 61;
export const LOG_OVERHEAD_BYTES = 12;
export const BASE_OFFSET_AT = 0;
export const BATCH_LENGTH_AT = 8;
export const PARTITION_LEADER_EPOCH_AT = 12;
export const MAGIC_AT = 16;
export const CRC_AT = 17;
export const ATTRIBUTES_AT = 21;
export const LAST_OFFSET_DELTA_AT = 23;
export const BASE_TIMESTAMP_AT = 27;
export const MAX_TIMESTAMP_AT = 35;
export const PRODUCER_ID_AT = 43;
export const PRODUCER_EPOCH_AT = 51;
export const BASE_SEQUENCE_AT = 53;
export const RECORD_COUNT_AT = 57;

/** attributes bit 3: 0 = CreateTime, 1 = LogAppendTime. */
export const TIMESTAMP_TYPE_LOG_APPEND_TIME = 0x08;
/** attributes bits 0-2: compression codec (0 = none). */
export const COMPRESSION_CODEC_MASK = 0x07;

const TWO_POW_32 = 0x1_0000_0000;

/** Reads a big-endian int64 as a JS number (exact below 2^53, which covers offsets, timestamps and producer ids). */
export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_POW_32 + buf.readUInt32BE(at + 4);
}

/** Writes a safe integer (may be negative) as a big-endian int64. */
export function writeInt64(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * TWO_POW_32, at + 4);
}

/** Total bytes the batch at `at` occupies (reads only the length field). */
export function batchTotalBytes(buf: Buffer, at: number): number {
  return LOG_OVERHEAD_BYTES + buf.readInt32BE(at + BATCH_LENGTH_AT);
}

export function batchBaseOffset(buf: Buffer, at: number): number {
  return readInt64(buf, at + BASE_OFFSET_AT);
}

export function batchLastOffset(buf: Buffer, at: number): number {
  return readInt64(buf, at + BASE_OFFSET_AT) + buf.readInt32BE(at + LAST_OFFSET_DELTA_AT);
}

export function batchMaxTimestamp(buf: Buffer, at: number): number {
  return readInt64(buf, at + MAX_TIMESTAMP_AT);
}

/** Header fields handed to `scanBatchHeaders` visitors (enough to rebuild idempotent producer state). */
export interface BatchHeaderInfo {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly partitionLeaderEpoch: number;
  readonly attributes: number;
  readonly baseTimestampMs: number;
  readonly maxTimestampMs: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  /** Total bytes of the batch including the 12-byte log overhead. */
  readonly sizeBytes: number;
}

export function readBatchHeaderInfo(buf: Buffer, at: number): BatchHeaderInfo {
  const baseOffset = readInt64(buf, at + BASE_OFFSET_AT);
  return {
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + LAST_OFFSET_DELTA_AT),
    partitionLeaderEpoch: buf.readInt32BE(at + PARTITION_LEADER_EPOCH_AT),
    attributes: buf.readInt16BE(at + ATTRIBUTES_AT),
    baseTimestampMs: readInt64(buf, at + BASE_TIMESTAMP_AT),
    maxTimestampMs: readInt64(buf, at + MAX_TIMESTAMP_AT),
    producerId: readInt64(buf, at + PRODUCER_ID_AT),
    producerEpoch: buf.readInt16BE(at + PRODUCER_EPOCH_AT),
    baseSequence: buf.readInt32BE(at + BASE_SEQUENCE_AT),
    recordCount: buf.readInt32BE(at + RECORD_COUNT_AT),
    sizeBytes: batchTotalBytes(buf, at),
  };
}

export type FramingResult = { readonly ok: true; readonly totalBytes: number } | { readonly ok: false; readonly reason: string };

/**
 * Checks that a whole, plausible magic v2 batch starts at `at` and ends at or before `end`
 * (header present, length consistent, magic 2, lastOffsetDelta >= 0). Does not check the CRC.
 */
export function checkBatchFraming(buf: Buffer, at: number, end: number): FramingResult {
  const available = end - at;
  if (available < BATCH_HEADER_BYTES) {
    return { ok: false, reason: `only ${available} bytes left, a batch header needs ${BATCH_HEADER_BYTES}` };
  }
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH_AT);
  if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) {
    return { ok: false, reason: `batchLength ${batchLength} is smaller than the header` };
  }
  const totalBytes = LOG_OVERHEAD_BYTES + batchLength;
  if (totalBytes > available) {
    return { ok: false, reason: `batch of ${totalBytes} bytes extends past the end (${available} bytes left)` };
  }
  const magic = buf.readInt8(at + MAGIC_AT);
  if (magic !== 2) return { ok: false, reason: `magic ${magic}, only magic 2 is stored` };
  const lastOffsetDelta = buf.readInt32BE(at + LAST_OFFSET_DELTA_AT);
  if (lastOffsetDelta < 0) return { ok: false, reason: `negative lastOffsetDelta ${lastOffsetDelta}` };
  return { ok: true, totalBytes };
}

/** True when the stored CRC-32C matches bytes 21..end of the batch. */
export function batchCrcMatches(buf: Buffer, at: number, totalBytes: number): boolean {
  const stored = buf.readUInt32BE(at + CRC_AT);
  return crc32c(buf.subarray(at + ATTRIBUTES_AT, at + totalBytes)) === stored;
}

/** Recomputes and stores the CRC-32C (needed after changing attributes or maxTimestamp). */
export function rewriteBatchCrc(buf: Buffer, at: number, totalBytes: number): void {
  buf.writeUInt32BE(crc32c(buf.subarray(at + ATTRIBUTES_AT, at + totalBytes)), at + CRC_AT);
}
