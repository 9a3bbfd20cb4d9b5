/**
 * Bringing one segment's in-memory state back from its files: trusted loads (index files checked for sanity),
 * full validating scans that truncate at the first torn or corrupt batch, and index rebuilds.
 */
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { LAST_OFFSET_DELTA_AT, MAGIC_AT, batchBaseOffset, batchLastOffset, readInt64 } from './batch-header.js';
import { fsyncPath, isNotFound, readFileIfExists, unlinkIfExists, type SyncObserver } from './durable-file.js';
import { LogStorageError } from './errors.js';
import type { LogLogger } from './log-logger.js';
import { OffsetIndex } from './offset-index.js';
import { readAt, scanAndIndexSegment, walkBatchHeaders } from './segment-scan.js';
import { Segment, type SegmentIndexes } from './segment.js';
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from './time-index.js';

export interface SegmentRecoveryContext {
  readonly dir: string;
  readonly indexIntervalBytes: number;
  readonly logger: LogLogger;
  readonly onSync: SyncObserver | undefined;
}

/**
 * A sealed segment below the recovery point (fully fsynced before the crash, or closed cleanly): size from the
 * file, end offset from the next segment, max timestamp from the last time-index entry; its indexes load lazily.
 * Returns false when the time index is missing or corrupt (the caller then scans).
 */
export async function loadTrustedSealedSegment(segment: Segment, fileBytes: number, nextBaseOffset: number): Promise<boolean> {
  segment.sizeBytes = fileBytes;
  segment.nextOffset = nextBaseOffset;
  // Only the last entry is read here (it holds the segment's max timestamp); the whole file is checked when the
  // indexes are first needed, so opening thousands of partitions reads a few bytes per sealed segment.
  let handle: FileHandle;
  try {
    handle = await open(segment.paths.timeIndex, 'r');
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0 || size % TIME_INDEX_ENTRY_BYTES !== 0) return false;
    const last = await readAt(handle, size - TIME_INDEX_ENTRY_BYTES, TIME_INDEX_ENTRY_BYTES);
    const relativeOffset = last.length === TIME_INDEX_ENTRY_BYTES ? last.readInt32BE(8) : -1;
    if (relativeOffset < 0 || relativeOffset >= nextBaseOffset - segment.baseOffset) return false;
    segment.maxTimestampMs = readInt64(last, 0);
    segment.offsetOfMaxTimestamp = segment.baseOffset + relativeOffset;
    return true;
  } finally {
    await handle.close();
  }
}

/**
 * The last segment after a clean shutdown: loads both index files and walks the batch headers after the last
 * offset-index entry to find the end offset, checking framing and offset continuity. False when anything does not
 * fit (the caller then scans).
 */
export async function loadTrustedActiveSegment(segment: Segment, fileBytes: number): Promise<boolean> {
  segment.sizeBytes = fileBytes;
  if (fileBytes === 0) {
    segment.indexes = { offsetIndex: OffsetIndex.empty(), timeIndex: TimeIndex.empty() };
    segment.nextOffset = segment.baseOffset;
    return true;
  }
  const offsetBytes = await readFileIfExists(segment.paths.offsetIndex);
  const offsetIndex = offsetBytes === null ? null : OffsetIndex.fromFile(offsetBytes, fileBytes);
  if (offsetIndex === null) return false;
  const handle = await open(segment.paths.log, 'r');
  try {
    const last = offsetIndex.last();
    let expected = segment.baseOffset + (last === null ? 0 : last.relativeOffset);
    let consistent = true;
    await walkBatchHeaders(handle, last === null ? 0 : last.position, fileBytes, (bytes, at) => {
      // walkBatchHeaders checked the length against the file; the whole batch need not be in `bytes`.
      if (bytes.readInt8(at + MAGIC_AT) !== 2 || bytes.readInt32BE(at + LAST_OFFSET_DELTA_AT) < 0 || batchBaseOffset(bytes, at) !== expected) {
        consistent = false;
        return false;
      }
      expected = batchLastOffset(bytes, at) + 1;
      return true;
    });
    if (!consistent) return false;
    segment.nextOffset = expected;
  } catch {
    return false; // a length running past the end: not what a clean close leaves
  } finally {
    await handle.close();
  }
  const timeBytes = await readFileIfExists(segment.paths.timeIndex);
  const timeIndex = timeBytes === null ? null : TimeIndex.fromFile(timeBytes, segment.nextOffset - segment.baseOffset);
  if (timeIndex === null || timeIndex.entryCount === 0) return false;
  segment.maxTimestampMs = timeIndex.lastTimestampMs;
  segment.offsetOfMaxTimestamp = segment.baseOffset + timeIndex.lastRelativeOffset;
  segment.indexes = { offsetIndex, timeIndex };
  return true;
}

/**
 * Full validating scan (framing, contiguous offsets, CRC-32C): truncates the file at the first torn or corrupt
 * batch (logging where and how much) and rebuilds the indexes, written to disk when the segment is sealed.
 * Returns whether the whole file was valid.
 */
export async function recoverSegmentByScan(context: SegmentRecoveryContext, segment: Segment, fileBytes: number, sealed: boolean): Promise<boolean> {
  segment.sizeBytes = 0;
  segment.nextOffset = segment.baseOffset;
  segment.indexes = { offsetIndex: OffsetIndex.empty(), timeIndex: TimeIndex.empty() };
  const handle = await open(segment.paths.log, 'r+');
  let complete: boolean;
  try {
    const result = await scanAndIndexSegment(handle, segment, fileBytes, context.indexIntervalBytes);
    complete = result.problem === null;
    // Zero-filled space after the last batch is the preallocated end of an active segment, not damage.
    const zeroTail = !complete && (await isZeroFilled(handle, result.validBytes, fileBytes));
    if (zeroTail) {
      complete = true;
      context.logger.info(
        { dir: context.dir, segment: segment.baseOffset, position: result.validBytes, preallocatedBytes: fileBytes - result.validBytes },
        'recovery removed the zero-filled (preallocated) tail after the last batch',
      );
    }
    if (zeroTail || !complete) {
      const truncatedBytes = fileBytes - result.validBytes;
      if (!complete) {
        context.logger.warn(
          { dir: context.dir, segment: segment.baseOffset, position: result.validBytes, truncatedBytes, reason: result.problem },
          `recovery truncated ${truncatedBytes} bytes at position ${result.validBytes}`,
        );
      }
      await handle.truncate(result.validBytes);
      context.onSync?.('file', segment.paths.log);
      await handle.sync();
    }
  } finally {
    await handle.close();
  }
  if (sealed && complete) {
    await writeSealedIndexFiles(context, segment);
  } else {
    // The segment will take appends: index files written before a truncation would be wrong.
    await unlinkIfExists(segment.paths.offsetIndex);
    await unlinkIfExists(segment.paths.timeIndex);
  }
  return complete;
}

/** Whether every byte in [from, to) of the file is zero. */
async function isZeroFilled(handle: FileHandle, from: number, to: number): Promise<boolean> {
  const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(1024 * 1024, to - from)));
  for (let position = from; position < to; ) {
    const bytes = await readAt(handle, position, Math.min(chunk.length, to - position), chunk);
    if (bytes.length === 0) return false;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
    position += bytes.length;
  }
  return true;
}

/**
 * Rebuilds the indexes of a sealed segment whose index files are missing or corrupt (found when they are first
 * needed) and rewrites the files. The segment's bytes were validated before; a scan that disagrees is a storage
 * failure.
 */
export async function rebuildSealedIndexes(context: SegmentRecoveryContext, segment: Segment): Promise<SegmentIndexes> {
  const scratch = new Segment(context.dir, segment.baseOffset, true);
  const handle = await open(segment.paths.log, 'r');
  try {
    const result = await scanAndIndexSegment(handle, scratch, segment.sizeBytes, context.indexIntervalBytes);
    if (result.problem !== null || scratch.sizeBytes !== segment.sizeBytes) {
      throw new LogStorageError(`sealed segment ${segment.paths.log} is corrupt at byte ${result.validBytes}: ${result.problem ?? 'shorter than recorded'}`);
    }
  } finally {
    await handle.close();
  }
  await writeSealedIndexFiles(context, scratch);
  return scratch.indexes!;
}

/** Completes the time index (last entry = segment max) and writes both index files durably. */
export async function writeSealedIndexFiles(context: SegmentRecoveryContext, segment: Segment): Promise<void> {
  segment.completeTimeIndex();
  const indexes = segment.indexes!;
  await writeFile(segment.paths.offsetIndex, indexes.offsetIndex.toBuffer());
  await writeFile(segment.paths.timeIndex, indexes.timeIndex.toBuffer());
  await fsyncPath(segment.paths.offsetIndex, 'file', context.onSync);
  await fsyncPath(segment.paths.timeIndex, 'file', context.onSync);
}

/** Loads a sealed segment's index files, or rebuilds them when missing or corrupt. */
export async function loadSealedIndexes(context: SegmentRecoveryContext, segment: Segment): Promise<SegmentIndexes> {
  const [offsetBytes, timeBytes] = await Promise.all([readFileIfExists(segment.paths.offsetIndex), readFileIfExists(segment.paths.timeIndex)]);
  const offsetIndex = offsetBytes === null ? null : OffsetIndex.fromFile(offsetBytes, segment.sizeBytes);
  const timeIndex = timeBytes === null ? null : TimeIndex.fromFile(timeBytes, segment.nextOffset - segment.baseOffset);
  if (offsetIndex !== null && timeIndex !== null) return { offsetIndex, timeIndex };
  context.logger.warn(
    { dir: context.dir, segment: segment.baseOffset, offsetIndexOk: offsetIndex !== null, timeIndexOk: timeIndex !== null },
    'index files missing or corrupt; rebuilding',
  );
  return rebuildSealedIndexes(context, segment);
}
