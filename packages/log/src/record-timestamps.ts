/**
 * Finding the first record at or after a timestamp inside one batch. Only uncompressed batches can be searched
 * record by record (the log never decompresses); for compressed batches the batch's base offset is the answer
 * (a lower bound: a consumer starting there may see a few earlier records of that batch).
 */
import { ATTRIBUTES_AT, BASE_TIMESTAMP_AT, BATCH_HEADER_BYTES, COMPRESSION_CODEC_MASK, RECORD_COUNT_AT, TIMESTAMP_TYPE_LOG_APPEND_TIME, batchBaseOffset, batchMaxTimestamp, readInt64 } from './batch-header.js';

interface Cursor {
  position: number;
}

/** Reads a zigzag varint/varlong as a JS number; returns null if it runs past `end` or is longer than 10 bytes. */
function readZigZag(buf: Buffer, cursor: Cursor, end: number): number | null {
  let raw = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.position >= end) return null;
    const byte = buf[cursor.position++]!;
    raw += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      // zigzag decode on a non-negative number: even -> n/2, odd -> -(n+1)/2
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    multiplier *= 128;
  }
  return null;
}

/**
 * The first record of the batch at `at` (whole batch of `totalBytes` in `buf`) whose timestamp is >= `timestampMs`:
 * its offset and timestamp. Callers only ask for batches whose max timestamp is >= the target.
 */
export function firstRecordAtOrAfter(buf: Buffer, at: number, totalBytes: number, timestampMs: number): { offset: number; timestampMs: number } {
  const baseOffset = batchBaseOffset(buf, at);
  const maxTimestampMs = batchMaxTimestamp(buf, at);
  const attributes = buf.readInt16BE(at + ATTRIBUTES_AT);
  if ((attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME) !== 0 || (attributes & COMPRESSION_CODEC_MASK) !== 0) {
    return { offset: baseOffset, timestampMs: maxTimestampMs };
  }
  const baseTimestampMs = readInt64(buf, at + BASE_TIMESTAMP_AT);
  const recordCount = buf.readInt32BE(at + RECORD_COUNT_AT);
  const end = at + totalBytes;
  const cursor: Cursor = { position: at + BATCH_HEADER_BYTES };
  for (let i = 0; i < recordCount; i++) {
    const length = readZigZag(buf, cursor, end);
    if (length === null || length < 0) break;
    const recordStart = cursor.position;
    cursor.position += 1; // attributes
    const timestampDelta = readZigZag(buf, cursor, end);
    const offsetDelta = readZigZag(buf, cursor, end);
    if (timestampDelta === null || offsetDelta === null) break;
    const recordTimestampMs = baseTimestampMs + timestampDelta;
    if (recordTimestampMs >= timestampMs) return { offset: baseOffset + offsetDelta, timestampMs: recordTimestampMs };
    cursor.position = recordStart + length;
  }
  // Records malformed or none at/after the target despite maxTimestamp: fall back to the batch.
  return { offset: baseOffset, timestampMs: maxTimestampMs };
}
