/**
 * Opening a partition directory: removes leftovers (temp files, index files without a log), reads the
 * checkpoints, then brings every segment back:
 *
 * - after a clean close (marker present) nothing is scanned: sealed segments are trusted, the last one loads its
 *   index files and has its tail framing checked;
 * - after a crash, segments below the persisted recovery point (fully fsynced, indexes included) are trusted and
 *   every segment from it on is scanned with CRC-32C validation; the first torn or corrupt batch truncates the
 *   segment there and every later segment is removed (offsets must stay contiguous).
 *
 * The marker is removed durably before anything else, so a crash after this open can never look clean.
 */
import { readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { decodeOffsetCheckpoint, encodeOffsetCheckpoint, fsyncDirectory, readFileIfExists, unlinkIfExists, writeFileDurably } from './durable-file.js';
import { Segment } from './segment.js';
import {
  CLEAN_SHUTDOWN_FILE, LOG_START_OFFSET_FILE, OFFSET_INDEX_SUFFIX, RECOVERY_POINT_FILE, TEMP_SUFFIX, TIME_INDEX_SUFFIX,
  parseSegmentLogName, segmentFileStem,
} from './segment-files.js';
import { loadTrustedActiveSegment, loadTrustedSealedSegment, recoverSegmentByScan, type SegmentRecoveryContext } from './segment-recovery.js';

export interface RecoveredLog {
  /** Oldest first; the last one is the active segment, with its indexes loaded. */
  readonly segments: Segment[];
  readonly logStartOffset: number;
  /** Base offset of the first segment that is not known to be fully fsynced. */
  readonly recoveryPoint: number;
  /** Whether the previous close was clean (no scan was needed). */
  readonly clean: boolean;
}

export async function recoverLogDirectory(context: SegmentRecoveryContext): Promise<RecoveredLog> {
  const { dir, logger, onSync } = context;
  const names = await readdir(dir);
  const clean = names.includes(CLEAN_SHUTDOWN_FILE);
  if (clean) {
    await unlink(`${dir}/${CLEAN_SHUTDOWN_FILE}`);
    await fsyncDirectory(dir, onSync);
  }
  const bases = await removeLeftovers(dir, names);

  const checkpointBytes = await readFileIfExists(`${dir}/${LOG_START_OFFSET_FILE}`);
  const logStartCheckpoint = checkpointBytes === null ? null : decodeOffsetCheckpoint(checkpointBytes);
  if (checkpointBytes !== null && logStartCheckpoint === null) logger.warn({ dir }, 'log-start-offset checkpoint is corrupt; using the first segment');
  const recoveryPointBytes = await readFileIfExists(`${dir}/${RECOVERY_POINT_FILE}`);
  const persistedRecoveryPoint = (recoveryPointBytes === null ? null : decodeOffsetCheckpoint(recoveryPointBytes)) ?? 0;
  const trustBelow = clean ? Number.POSITIVE_INFINITY : persistedRecoveryPoint;
  if (!clean) logger.info({ dir, recoveryPoint: persistedRecoveryPoint }, 'no clean-shutdown marker; recovering');

  const segments: Segment[] = [];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const isLast = i === bases.length - 1;
    const segment = new Segment(dir, base, false);
    const fileStat = await stat(segment.paths.log);
    const fileBytes = fileStat.size;
    const previous = segments[segments.length - 1];
    if (!isLast && fileBytes === 0) {
      logger.warn({ dir, segment: base }, 'removing empty sealed segment');
      await removeSegmentFiles(context, base);
      continue;
    }
    if (previous !== undefined && previous.nextOffset !== base) {
      logger.warn({ dir, expectedBaseOffset: previous.nextOffset, segment: base }, 'segment does not continue the log; removing it and every later segment');
      for (const later of bases.slice(i)) await removeSegmentFiles(context, later);
      break;
    }
    const trusted = base < trustBelow;
    const loaded = trusted && (isLast ? await loadTrustedActiveSegment(segment, fileBytes) : await loadTrustedSealedSegment(segment, fileBytes, bases[i + 1]!));
    let complete = true;
    if (!loaded) {
      if (trusted) logger.warn({ dir, segment: base }, 'index files missing or inconsistent; scanning the segment');
      complete = await recoverSegmentByScan(context, segment, fileBytes, !isLast);
    }
    // Age for time-based rolling: when the file was created (birth time where the file system records it).
    segment.rollTimestampMs = segment.isEmpty ? null : fileStat.birthtimeMs > 0 ? fileStat.birthtimeMs : fileStat.mtimeMs;
    segments.push(segment);
    if (!complete && !isLast) {
      const dropped = bases.slice(i + 1);
      logger.warn({ dir, segment: base, removedSegments: dropped }, 'segment was truncated; removing every later segment');
      for (const later of dropped) await removeSegmentFiles(context, later);
      break;
    }
  }

  // The last segment may have been loaded as a sealed one if later segments were removed.
  const last = segments[segments.length - 1];
  if (last !== undefined && last.indexes === null) {
    if (!(await loadTrustedActiveSegment(last, last.sizeBytes))) await recoverSegmentByScan(context, last, last.sizeBytes, false);
  }

  const firstBase = segments.length > 0 ? segments[0]!.baseOffset : (logStartCheckpoint ?? 0);
  let logStartOffset = Math.max(logStartCheckpoint ?? firstBase, firstBase);
  const logEndOffset = last !== undefined ? last.nextOffset : firstBase;
  if (logStartOffset > logEndOffset) {
    logger.warn({ dir, logStartOffset, logEndOffset }, 'log start offset is past the recovered end; starting an empty log at the start offset');
    for (const segment of segments) await removeSegmentFiles(context, segment.baseOffset);
    segments.length = 0;
  }
  // A crash between persisting a new log start offset and deleting the segments below it leaves them behind.
  while (segments.length > 1 && segments[1]!.baseOffset <= logStartOffset) {
    const below = segments.shift()!;
    logger.info({ dir, segment: below.baseOffset, logStartOffset }, 'removing segment below the log start offset');
    await removeSegmentFiles(context, below.baseOffset);
  }
  if (segments.length === 0) {
    const segment = new Segment(dir, Math.max(logStartOffset, firstBase), true);
    await writeFile(segment.paths.log, Buffer.alloc(0));
    await fsyncDirectory(dir, onSync);
    segments.push(segment);
    logStartOffset = segment.baseOffset;
  }
  for (const segment of segments) segment.sealed = true;
  const active = segments[segments.length - 1]!;
  active.sealed = false;
  active.resumeIndexing();

  // Never leave a recovery point above the active segment (it may have been truncated or replaced).
  let recoveryPoint = persistedRecoveryPoint;
  if (recoveryPoint > active.baseOffset) {
    recoveryPoint = Math.min(recoveryPoint, active.baseOffset);
    await writeFileDurably(`${dir}/${RECOVERY_POINT_FILE}`, encodeOffsetCheckpoint(recoveryPoint), onSync);
  }
  return { segments, logStartOffset, recoveryPoint, clean };
}

/** Deletes temp files and index files without a log file; returns the base offsets of the segment logs, sorted. */
async function removeLeftovers(dir: string, names: string[]): Promise<number[]> {
  const bases = names.map(parseSegmentLogName).filter((base): base is number => base !== null).sort((a, b) => a - b);
  const stems = new Set(bases.map(segmentFileStem));
  for (const name of names) {
    if (name.endsWith(TEMP_SUFFIX)) {
      await unlinkIfExists(`${dir}/${name}`);
      continue;
    }
    const suffix = name.endsWith(OFFSET_INDEX_SUFFIX) ? OFFSET_INDEX_SUFFIX : name.endsWith(TIME_INDEX_SUFFIX) ? TIME_INDEX_SUFFIX : null;
    if (suffix === null) continue;
    const stem = name.slice(0, -suffix.length);
    if (/^\d{20}$/.test(stem) && !stems.has(stem)) await unlinkIfExists(`${dir}/${name}`);
  }
  return bases;
}

export async function removeSegmentFiles(context: SegmentRecoveryContext, baseOffset: number): Promise<void> {
  const segment = new Segment(context.dir, baseOffset, false);
  await unlinkIfExists(segment.paths.log);
  await unlinkIfExists(segment.paths.offsetIndex);
  await unlinkIfExists(segment.paths.timeIndex);
  await fsyncDirectory(context.dir, context.onSync);
}
