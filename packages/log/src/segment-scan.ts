/**
 * Reading segment files batch by batch: full validating scans for recovery (framing, contiguous offsets,
 * CRC-32C) that rebuild the indexes, and lightweight header walks.
 */
import type { FileHandle } from 'node:fs/promises';
import { batchCrcMatches, batchLastOffset, batchBaseOffset, batchMaxTimestamp, checkBatchFraming, LOG_OVERHEAD_BYTES, BATCH_HEADER_BYTES } from './batch-header.js';
import { Segment } from './segment.js';

const SCAN_CHUNK_BYTES = 1024 * 1024;

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readAt(handle: FileHandle, position: number, length: number, into?: Buffer): Promise<Buffer> {
  const buffer = into !== undefined && into.length >= length ? into : Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

export interface ScanResult {
  /** Bytes of whole valid batches from the start of the file. */
  readonly validBytes: number;
  /** Why the scan stopped before the end of the file, or null when every byte was valid. */
  readonly problem: string | null;
}

/**
 * Scans the whole file of `segment` (which must have empty, loaded indexes), validating framing, offset
 * contiguity from the segment's base offset and the CRC-32C of every batch, and feeding each valid batch to
 * `segment.noteBatch` (which rebuilds the indexes). Stops at the first invalid byte.
 */
export async function scanAndIndexSegment(handle: FileHandle, segment: Segment, fileBytes: number, indexIntervalBytes: number): Promise<ScanResult> {
  let storage = Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES, Math.min(SCAN_CHUNK_BYTES, fileBytes)));
  let chunk: Buffer = storage.subarray(0, 0);
  let chunkStart = 0;
  const refill = async (from: number, length: number): Promise<void> => {
    const wanted = Math.min(length, fileBytes - from);
    if (storage.length < wanted) storage = Buffer.allocUnsafe(wanted);
    chunk = await readAt(handle, from, wanted, storage);
    chunkStart = from;
  };
  let position = 0;
  let expectedOffset = segment.baseOffset;
  const stop = (problem: string): ScanResult => ({ validBytes: position, problem });
  while (position < fileBytes) {
    if (position + BATCH_HEADER_BYTES > chunkStart + chunk.length) await refill(position, SCAN_CHUNK_BYTES);
    if (chunk.length - (position - chunkStart) >= LOG_OVERHEAD_BYTES) {
      const total = LOG_OVERHEAD_BYTES + chunk.readInt32BE(position - chunkStart + 8);
      if (total >= BATCH_HEADER_BYTES && position + total <= fileBytes && position + total > chunkStart + chunk.length) {
        await refill(position, Math.max(total, SCAN_CHUNK_BYTES));
      }
    }
    const batchAt = position - chunkStart;
    const framing = checkBatchFraming(chunk, batchAt, chunk.length);
    if (!framing.ok) return stop(framing.reason);
    const baseOffset = batchBaseOffset(chunk, batchAt);
    if (baseOffset !== expectedOffset) return stop(`batch base offset ${baseOffset}, expected ${expectedOffset}`);
    if (!batchCrcMatches(chunk, batchAt, framing.totalBytes)) return stop('CRC-32C mismatch');
    const lastOffset = batchLastOffset(chunk, batchAt);
    const maxTimestampMs = batchMaxTimestamp(chunk, batchAt);
    segment.noteBatch(position, baseOffset, lastOffset, maxTimestampMs, framing.totalBytes, indexIntervalBytes);
    expectedOffset = lastOffset + 1;
    position += framing.totalBytes;
  }
  return { validBytes: position, problem: null };
}

/** One batch seen by `walkBatchHeaders`: `bytes` holds the whole batch header at `at`. */
export type HeaderVisitor = (bytes: Buffer, at: number, position: number, totalBytes: number) => boolean | void;

/**
 * Walks whole batches from `startPosition` to `endPosition`, reading in chunks, calling `visit` with each batch
 * header (only the first 61 bytes are guaranteed to be in `bytes`). Stops when `visit` returns false.
 * Returns the position it stopped at. Framing is trusted (the bytes were validated when written or recovered),
 * but a length that would leave the range throws.
 */
export async function walkBatchHeaders(handle: FileHandle, startPosition: number, endPosition: number, visit: HeaderVisitor, chunkBytes = 64 * 1024): Promise<number> {
  const storage = Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES, Math.min(chunkBytes, endPosition - startPosition)));
  let chunk: Buffer = storage.subarray(0, 0);
  let chunkStart = 0;
  let chunkEnd = 0;
  let position = startPosition;
  while (position < endPosition) {
    if (position + BATCH_HEADER_BYTES > chunkEnd) {
      chunk = await readAt(handle, position, Math.min(storage.length, endPosition - position), storage);
      chunkStart = position;
      chunkEnd = position + chunk.length;
      if (chunk.length < BATCH_HEADER_BYTES) throw new Error(`truncated batch header at ${position}`);
    }
    const at = position - chunkStart;
    const total = LOG_OVERHEAD_BYTES + chunk.readInt32BE(at + 8);
    if (total < BATCH_HEADER_BYTES || position + total > endPosition) {
      throw new Error(`batch at ${position} of ${total} bytes does not fit below ${endPosition}`);
    }
    if (visit(chunk, at, position, total) === false) return position;
    position += total;
  }
  return position;
}
