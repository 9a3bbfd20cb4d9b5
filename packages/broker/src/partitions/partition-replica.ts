// What the Kafka handlers need from one partition. Today LocalPartition implements it over a local log;
// the Raft-per-partition issue swaps in a replicated write path behind the same interface.
// Offsets are branded KafkaOffset (from @tributary/log): a Raft index or a byte position cannot be passed by mistake.
import type { KafkaOffset } from '@tributary/log';

export type { KafkaOffset };

export type Acks = 0 | 1 | -1;

/** Producer fields of one batch of a produce request (read from its v2 header). */
export interface ProducedBatch {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
  readonly maxTimestampMs: number;
}

export type ProduceOutcome =
  | { readonly kind: 'appended'; readonly baseOffset: KafkaOffset; readonly logAppendTimeMs: number }
  | { readonly kind: 'duplicate'; readonly baseOffset: KafkaOffset; readonly logAppendTimeMs: number }
  | { readonly kind: 'outOfOrderSequence'; readonly message: string }
  | { readonly kind: 'invalidProducerEpoch'; readonly message: string }
  | { readonly kind: 'storageError'; readonly message: string }
  /** This replica is not (or no longer) the partition's leader; the client refreshes metadata and retries. */
  | { readonly kind: 'notLeader'; readonly message: string };

export type DeleteRecordsOutcome =
  | { readonly kind: 'ok'; readonly lowWatermark: KafkaOffset }
  | { readonly kind: 'offsetOutOfRange' }
  /** Cluster mode: this replica does not lead the partition (NOT_LEADER_OR_FOLLOWER; the client retries at the leader). */
  | { readonly kind: 'notLeader'; readonly message: string };

export interface ReadResult {
  readonly records: Buffer;
  readonly highWatermark: KafkaOffset;
  readonly logStartOffset: KafkaOffset;
}

export type ReadOutcome = { readonly kind: 'ok'; readonly result: ReadResult } | { readonly kind: 'offsetOutOfRange' };

export interface PartitionReplica {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: KafkaOffset;
  readonly logEndOffset: KafkaOffset;
  /** Consumers never read at or past it. */
  readonly highWatermark: KafkaOffset;
  readonly sizeBytes: number;
  /**
   * Appends the (already validated) batches. Resolves when the write is acknowledged per `acks`
   * (1 and -1: durable per the fsync policy; 0: appended).
   */
  produce(records: Buffer, batches: readonly ProducedBatch[], acks: Acks, logAppendTime: boolean): Promise<ProduceOutcome>;
  read(fetchOffset: KafkaOffset, maxBytes: number, minOneBatch: boolean): Promise<ReadOutcome>;
  offsetForTimestamp(timestampMs: number): Promise<{ offset: KafkaOffset; timestampMs: number } | null>;
  /** -1 = the high watermark. Resolves with the new log start offset or offsetOutOfRange. */
  deleteRecordsBefore(offset: KafkaOffset | -1): Promise<DeleteRecordsOutcome>;
  /** Calls `listener` whenever the high watermark advances; returns the unsubscribe function. */
  onHighWatermarkAdvance(listener: () => void): () => void;
}
