import { join } from 'node:path';

/** Segment files are named by their base offset zero-padded to 20 digits, like Kafka's. */
const OFFSET_DIGITS = 20;
const SEGMENT_NAME = /^(\d{20})\.log$/;

export const LOG_SUFFIX = '.log';
export const OFFSET_INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TEMP_SUFFIX = '.tmp';
/** Holds the persisted log start offset. */
export const LOG_START_OFFSET_FILE = 'log-start-offset';
/** Base offset of the first segment not known to be fully fsynced; segments below it skip CRC scans on unclean open. */
export const RECOVERY_POINT_FILE = 'recovery-point';
/** Present only between a clean close() and the next open(). */
export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown';

export function segmentFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, '0');
}

export interface SegmentPaths {
  readonly log: string;
  readonly offsetIndex: string;
  readonly timeIndex: string;
}

export function segmentPaths(dir: string, baseOffset: number): SegmentPaths {
  const stem = join(dir, segmentFileStem(baseOffset));
  return { log: stem + LOG_SUFFIX, offsetIndex: stem + OFFSET_INDEX_SUFFIX, timeIndex: stem + TIME_INDEX_SUFFIX };
}

/** Base offset of a segment log file name, or null when the name is not one. */
export function parseSegmentLogName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return null;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? value : null;
}
