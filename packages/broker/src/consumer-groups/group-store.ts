// Durable consumer-group state: committed offsets and group metadata records. An interface, so the
// replicated cluster can keep the same data in the metadata Raft group's SQLite state machine; every method
// resolves only once the change is durable (for the replicated store: committed by a majority).
import type { PersistedGroup } from './group-state-machine.js';

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** -1 when the client sent none. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /** Explicit expiry (OffsetCommit v2-v4 retentionTimeMs), or null to follow offsets.retention.minutes. */
  readonly expireTimestampMs: number | null;
}

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface StoredConsumerGroups {
  readonly groups: PersistedGroup[];
  readonly offsets: ReadonlyMap<string, CommittedOffset[]>;
}

/**
 * Thrown by a store write when this node no longer coordinates consumer groups (cluster mode: it lost the metadata
 * group's leadership, so the write may not have been committed). The coordinator answers NOT_COORDINATOR, which
 * makes the client look the coordinator up again.
 */
export class NotCoordinatorError extends Error {
  override readonly name = 'NotCoordinatorError';
}

export interface ConsumerGroupStore {
  /** Everything stored, read once at start. */
  load(): Promise<StoredConsumerGroups>;
  saveGroup(record: PersistedGroup): Promise<void>;
  /** Removes the group record and all of its committed offsets. */
  deleteGroup(groupId: string): Promise<void>;
  commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void>;
  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void>;
  /** Removes every group's offsets of a deleted topic. */
  deleteTopicOffsets(topic: string): Promise<void>;
  close(): Promise<void>;
}
