/** Public option and result types of PartitionLog. */
import type { BatchHeaderInfo } from './batch-header.js';
import type { SyncObserver } from './durable-file.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { KafkaOffset } from './offset.js';

export interface PartitionLogOptions {
  /** Called just before every fsync/fdatasync this log issues (tests count them). */
  readonly onSync?: SyncObserver;
  /** Scheduler for fsyncPolicy 'interval' (default: one shared by the process). */
  readonly flushScheduler?: FlushScheduler;
  /** Clock for time-based rolling when append() gets no nowMs (default Date.now). */
  readonly nowMs?: () => number;
  /**
   * Zero-filled bytes kept allocated past the end of the active segment's data, so appends overwrite blocks the
   * file already has and an fdatasync need not commit a file-size change (ext4: a journal commit that waits for
   * other files' dirty data). Default 0 (off); e.g. 8 MiB turns it on. The space is trimmed when a segment is sealed
   * or the log closed; recovery treats a zero tail as the end (whatever this option, so a log written with it opens
   * without it).
   */
  readonly preallocateBytes?: number;
}

export interface AppendOptions {
  /** The broker's current time (ms); used for LogAppendTime and time-based rolling. Default: the clock. */
  readonly nowMs?: number;
  /** Stamp every batch with LogAppendTime = nowMs (sets attributes bit 3 and maxTimestamp, recomputes the CRC). */
  readonly logAppendTime?: boolean;
}

export interface AppendResult {
  readonly baseOffset: KafkaOffset;
  readonly lastOffset: KafkaOffset;
  /** nowMs when logAppendTime was asked for, else -1 (as Kafka reports it). */
  readonly logAppendTimeMs: number;
  readonly batchCount: number;
}

export interface ReadOptions {
  /** Exclusive upper bound (the high watermark): no batch whose last offset is >= maxOffset is returned. */
  readonly maxOffset?: number;
  /** Return the first batch even if it is larger than maxBytes (default true, as Kafka does for the first partition). */
  readonly minOneBatch?: boolean;
}

/**
 * `records` holds whole batches exactly as stored, starting with the batch that contains the requested offset
 * (which may start before it); `nextOffset` is the offset after the last returned batch (the requested offset when
 * nothing is returned). Reads outside [logStartOffset, logEndOffset] are an expected outcome, not an exception:
 * the broker answers OFFSET_OUT_OF_RANGE.
 */
export type ReadResult =
  | { readonly kind: 'records'; readonly records: Buffer; readonly nextOffset: KafkaOffset }
  | { readonly kind: 'offsetOutOfRange'; readonly logStartOffset: KafkaOffset; readonly logEndOffset: KafkaOffset };

export type DeleteRecordsResult =
  | { readonly kind: 'ok'; readonly logStartOffset: KafkaOffset }
  | { readonly kind: 'offsetOutOfRange'; readonly logStartOffset: KafkaOffset; readonly logEndOffset: KafkaOffset };

export interface RetentionResult {
  readonly deletedSegments: number;
  readonly deletedBytes: number;
  readonly logStartOffset: KafkaOffset;
}

/** One segment as segmentSummaries() reports it. */
export interface SegmentSummary {
  readonly baseOffset: KafkaOffset;
  /** Offset after the segment's last batch (== baseOffset when empty). */
  readonly nextOffset: KafkaOffset;
  readonly sizeBytes: number;
  /** Largest batch max timestamp in the segment; -1 when empty. */
  readonly maxTimestampMs: number;
}

export interface TimestampLookupResult {
  readonly offset: KafkaOffset;
  readonly timestampMs: number;
}

/** What `scanBatchHeaders` hands its visitor for each batch; return false to stop. */
export type BatchHeaderVisitor = (header: BatchHeaderInfo) => boolean | void;
