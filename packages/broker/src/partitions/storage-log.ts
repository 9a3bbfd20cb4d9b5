// The slice of @tributary/log's PartitionLog the broker uses, as a structural interface, so the partition
// layer states exactly what it depends on (and a Raft-backed write path can sit behind the same calls later).
import type { KafkaOffset } from '@tributary/log';

export interface StorageLogConfig {
  readonly segmentBytesMax: number;
  readonly segmentMsMax: number;
  readonly indexIntervalBytes: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly fsyncPolicy: 'always' | 'interval' | 'never';
  readonly flushIntervalMs: number;
}

export interface StorageAppendResult {
  readonly baseOffset: KafkaOffset;
  readonly lastOffset: KafkaOffset;
  readonly logAppendTimeMs: number;
  readonly batchCount: number;
}

export interface StorageBatchHeader {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** As stored; in cluster mode the Raft term of the entry that appended the batch. */
  readonly partitionLeaderEpoch: number;
  readonly maxTimestampMs: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

export interface StorageSegmentSummary {
  readonly baseOffset: KafkaOffset;
  readonly nextOffset: KafkaOffset;
  readonly sizeBytes: number;
  /** -1 when the segment is empty. */
  readonly maxTimestampMs: number;
}

export interface StorageLog {
  readonly logStartOffset: KafkaOffset;
  readonly logEndOffset: KafkaOffset;
  readonly durableEndOffset: KafkaOffset;
  readonly sizeBytes: number;
  append(batches: Buffer, opts?: { nowMs?: number; logAppendTime?: boolean }): StorageAppendResult | Promise<StorageAppendResult>;
  flush(): Promise<KafkaOffset>;
  read(
    offset: number,
    maxBytes: number,
    opts?: { maxOffset?: number; minOneBatch?: boolean },
  ): Promise<
    | { readonly kind: 'records'; readonly records: Buffer; readonly nextOffset: number }
    | { readonly kind: 'offsetOutOfRange'; readonly logStartOffset: number; readonly logEndOffset: number }
  >;
  offsetForTimestamp(timestampMs: number): Promise<{ offset: KafkaOffset; timestampMs: number } | null>;
  deleteRecordsBefore(offset: number): Promise<{ readonly kind: 'ok' | 'offsetOutOfRange'; readonly logStartOffset: number }>;
  applyRetention(nowMs: number): unknown;
  /** Every segment, oldest first (cluster-mode retention is decided from these on the leader). */
  segmentSummaries(): readonly StorageSegmentSummary[];
  /** The retention limits the log was opened with (the topic's retention.ms / retention.bytes, -1 = none). */
  readonly config: { readonly retentionMs: number; readonly retentionBytes: number };
  scanBatchHeaders(fromOffset: number, visitor: (header: StorageBatchHeader) => boolean | void): Promise<void>;
  close(): Promise<void> | void;
  deleteAll(): Promise<void> | void;
}

export type OpenStorageLog = (dir: string, config: StorageLogConfig) => Promise<StorageLog>;
