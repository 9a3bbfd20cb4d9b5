import { OffsetIndex } from './offset-index.js';
import { segmentPaths, type SegmentPaths } from './segment-files.js';
import { SegmentReadHandle } from './segment-read-handle.js';
import { TimeIndex } from './time-index.js';

export interface SegmentIndexes {
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
}

/** No batch in the segment yet. */
export const NO_TIMESTAMP = -1;

/**
 * In-memory state of one segment: a `.log` file of whole batches with contiguous offsets starting at
 * `baseOffset`, plus its sparse offset and time indexes. The indexes of sealed segments are loaded lazily
 * (`indexes === null` until the first lookup) so idle partitions cost little memory; file I/O lives in
 * PartitionLog and segment-scan.ts.
 */
export class Segment {
  readonly baseOffset: number;
  readonly paths: SegmentPaths;
  /** Bytes of validated batches in the file (the file is never read past this). */
  sizeBytes = 0;
  /** Offset after the last batch (== baseOffset when empty). */
  nextOffset: number;
  /** Largest batch max timestamp in the segment, NO_TIMESTAMP when empty. */
  maxTimestampMs = NO_TIMESTAMP;
  /** Base offset of the batch holding maxTimestampMs. */
  offsetOfMaxTimestamp: number;
  /** When the segment started, for time-based rolling (wall clock of the first append, or first batch's timestamp after recovery). */
  rollTimestampMs: number | null = null;
  /** Whether this segment no longer takes appends. */
  sealed = false;
  indexes: SegmentIndexes | null;
  /** Shared read handle: kept open while the segment is active, closed after the last reader once retired. */
  readonly readHandle: SegmentReadHandle;
  private bytesSinceIndexEntry = 0;

  constructor(dir: string, baseOffset: number, withEmptyIndexes: boolean) {
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
    this.paths = segmentPaths(dir, baseOffset);
    this.readHandle = new SegmentReadHandle(this.paths.log);
    this.indexes = withEmptyIndexes ? { offsetIndex: OffsetIndex.empty(), timeIndex: TimeIndex.empty() } : null;
  }

  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  /**
   * Records a batch of `sizeBytes` written at `position` (the end of the segment). Adds an offset-index entry
   * (and a time-index entry when the max timestamp grew) once more than `indexIntervalBytes` were written since
   * the last entry. Requires loaded indexes.
   */
  noteBatch(position: number, baseOffset: number, lastOffset: number, maxTimestampMs: number, sizeBytes: number, indexIntervalBytes: number): void {
    const indexes = this.indexes;
    if (indexes === null) throw new Error(`segment ${this.baseOffset}: indexes not loaded`);
    if (maxTimestampMs > this.maxTimestampMs || this.isEmpty) {
      this.maxTimestampMs = maxTimestampMs;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    if (this.bytesSinceIndexEntry > indexIntervalBytes) {
      indexes.offsetIndex.append(baseOffset - this.baseOffset, position);
      indexes.timeIndex.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += sizeBytes;
    this.sizeBytes = position + sizeBytes;
    this.nextOffset = lastOffset + 1;
  }

  /** Adds the final time-index entry so the last entry holds the segment's max timestamp (before writing index files). */
  completeTimeIndex(): void {
    if (this.indexes !== null && !this.isEmpty) {
      this.indexes.timeIndex.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp - this.baseOffset);
    }
  }

  /** After loading index files of a segment that will take appends again: estimate bytes since the last entry. */
  resumeIndexing(): void {
    const last = this.indexes?.offsetIndex.last() ?? null;
    this.bytesSinceIndexEntry = this.sizeBytes - (last === null ? 0 : last.position);
  }
}
