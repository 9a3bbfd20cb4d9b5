/**
 * Reading one segment: whole batches from the one containing an offset (sparse index, then a header walk, then
 * ideally a single read that already holds the answer), and the first record at or after a timestamp.
 */
import type { FileHandle } from 'node:fs/promises';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, batchBaseOffset, batchLastOffset, batchMaxTimestamp } from './batch-header.js';
import { LogStorageError } from './errors.js';
import { firstRecordAtOrAfter } from './record-timestamps.js';
import type { Segment, SegmentIndexes } from './segment.js';
import { ReadBufferPool, sharedReadBufferPool } from './read-buffer-pool.js';
import { readAt, walkBatchHeaders } from './segment-scan.js';

/** Extra bytes read past maxBytes + indexIntervalBytes so the first read usually holds the whole answer. */
const READ_SLACK_BYTES = 16 * 1024;
/** Larger answers are read with a second, exact read instead of one speculative read this big. */
const WINDOW_BYTES_MAX = 8 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/** An offset-index entry that does not point at the batch it names: the index is stale or corrupt. */
export class IndexMismatchError extends LogStorageError {}

export interface SegmentReadRequest {
  readonly offset: number;
  readonly maxBytes: number;
  /** Exclusive: batches whose last offset is >= maxOffset are not returned. */
  readonly maxOffset: number;
  readonly minOneBatch: boolean;
  /** Bytes of the segment known written when the read was issued; nothing at or past it is read. */
  readonly endPosition: number;
  readonly indexIntervalBytes: number;
}

export interface SegmentReadResult {
  readonly records: Buffer;
  readonly nextOffset: number;
}

export async function readSegmentBatches(
  handle: FileHandle,
  segment: Segment,
  indexes: SegmentIndexes,
  request: SegmentReadRequest,
  pool: ReadBufferPool = sharedReadBufferPool,
): Promise<SegmentReadResult> {
  const { offset, maxBytes, maxOffset, minOneBatch, endPosition } = request;
  const entry = indexes.offsetIndex.lookupEntry(offset - segment.baseOffset);
  const indexedPosition = entry.position;
  const windowBytes = Math.min(maxBytes, WINDOW_BYTES_MAX) + request.indexIntervalBytes + READ_SLACK_BYTES;
  // Read windows come from the pool; every window not returned to the caller goes back to it at once.
  const readWindow = (position: number, length: number): Promise<Buffer> => readAt(handle, position, length, pool.take(length));
  let window = await readWindow(indexedPosition, Math.min(endPosition - indexedPosition, windowBytes));
  let returned = false;
  try {
    let windowStart = indexedPosition;
    if (window.length < BATCH_HEADER_BYTES || batchBaseOffset(window, 0) !== segment.baseOffset + entry.relativeOffset) {
      throw new IndexMismatchError(`${segment.paths.log}: index entry (${entry.relativeOffset}, ${entry.position}) does not point at that batch`);
    }
    const header = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
    /** [totalBytes, lastOffset] of the batch at `position`, from the window or a small read; checks the length. */
    const batchAt = async (position: number): Promise<[number, number]> => {
      let bytes: Buffer;
      let at: number;
      if (position >= windowStart && position + BATCH_HEADER_BYTES <= windowStart + window.length) {
        bytes = window;
        at = position - windowStart;
      } else {
        bytes = await readAt(handle, position, BATCH_HEADER_BYTES, header);
        at = 0;
        if (bytes.length < BATCH_HEADER_BYTES) throw new LogStorageError(`segment ${segment.paths.log} is shorter than recorded at ${position}`);
      }
      const total = LOG_OVERHEAD_BYTES + bytes.readInt32BE(at + 8);
      if (total < BATCH_HEADER_BYTES || position + total > endPosition) {
        throw new LogStorageError(`segment ${segment.paths.log}: batch at ${position} has an impossible length ${total}`);
      }
      return [total, batchLastOffset(bytes, at)];
    };

    // Skip to the batch containing `offset` (at most about one index interval).
    let position = indexedPosition;
    for (;;) {
      if (position >= endPosition) return { records: EMPTY, nextOffset: offset };
      const [total, lastOffset] = await batchAt(position);
      if (lastOffset >= offset) break;
      position += total;
      if (position + BATCH_HEADER_BYTES > windowStart + window.length && position < endPosition) {
        pool.release(window);
        window = EMPTY; // nothing to release if the next read throws
        window = await readWindow(position, Math.min(endPosition - position, Math.min(maxBytes, WINDOW_BYTES_MAX) + READ_SLACK_BYTES));
        windowStart = position;
      }
    }

    // Take whole batches within maxBytes and below maxOffset.
    const start = position;
    let nextOffset = offset;
    while (position < endPosition) {
      const [total, lastOffset] = await batchAt(position);
      if (lastOffset >= maxOffset) break;
      const taken = position - start;
      if (taken + total > maxBytes && !(taken === 0 && minOneBatch)) break;
      position += total;
      nextOffset = lastOffset + 1;
    }
    const length = position - start;
    if (length === 0) return { records: EMPTY, nextOffset: offset };
    if (start >= windowStart && position <= windowStart + window.length) {
      returned = true;
      return { records: window.subarray(start - windowStart, position - windowStart), nextOffset };
    }
    pool.release(window);
    window = EMPTY;
    const records = await readWindow(start, length);
    if (records.length !== length) {
      pool.release(records);
      throw new LogStorageError(`segment ${segment.paths.log} is shorter than recorded`);
    }
    return { records, nextOffset };
  } finally {
    if (!returned) pool.release(window);
  }
}

/**
 * The first record at or after `timestampMs` in the segment whose batch ends at or after `minOffset`: the time
 * index gives a safe starting point, batch headers find the first batch whose max timestamp reaches the target,
 * and that batch's records give the exact offset (see record-timestamps.ts).
 */
export async function findTimestampInSegment(
  handle: FileHandle,
  indexes: SegmentIndexes,
  timestampMs: number,
  minOffset: number,
  endPosition: number,
): Promise<{ offset: number; timestampMs: number } | null> {
  const startPosition = indexes.offsetIndex.lookup(indexes.timeIndex.scanStartFor(timestampMs));
  let found: { position: number; total: number } | null = null;
  await walkBatchHeaders(handle, startPosition, endPosition, (bytes, at, position, total) => {
    if (batchMaxTimestamp(bytes, at) >= timestampMs && batchLastOffset(bytes, at) >= minOffset) {
      found = { position, total };
      return false;
    }
    return true;
  });
  if (found === null) return null;
  const { position, total } = found;
  const batch = await readAt(handle, position, total);
  return firstRecordAtOrAfter(batch, 0, total, timestampMs);
}
