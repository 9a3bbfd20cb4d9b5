// What the Kafka handlers need to know about a partition's leadership in cluster mode: whether this replica leads,
// the current leader epoch (= Raft term), the replica's epoch → start-offset cache, and the ISR. Undefined for a
// single-node broker (its handlers keep epoch 0 and "this node is everything").
import { ErrorCode } from '@tributary/protocol';
import { Role } from '@tributary/raft';
import type { KafkaOffset } from '@tributary/log';
import type { PartitionRegistry } from '../partitions/partition-registry.js';
import { ClusterPartitionRegistry } from './cluster-partitions.js';
import { NO_LEADER_EPOCH, leaderEpoch, type LeaderEpoch, type LeaderEpochCache } from './leadership-epochs.js';

export interface PartitionLeadershipView {
  readonly isLeader: boolean;
  /** -1: no leader known to this replica. */
  readonly leaderId: number;
  /** The Raft term when a leader is known, else -1. */
  readonly leaderEpoch: LeaderEpoch;
  readonly epochs: LeaderEpochCache;
  readonly logEndOffset: KafkaOffset;
  /** The in-sync replicas (leader only; undefined on a follower, which cannot see its peers' progress). */
  inSyncReplicas(): number[] | undefined;
}

export function partitionLeadership(registry: PartitionRegistry, topic: string, partition: number): PartitionLeadershipView | undefined {
  if (!(registry instanceof ClusterPartitionRegistry)) return undefined;
  const replica = registry.replica(topic, partition);
  if (replica === undefined) return undefined;
  // Read the Raft node directly: this runs for every partition of every Fetch, and leadership() copies the progress.
  const raft = registry.leadership?.raftOf(replica);
  const known = raft !== undefined && raft.leaderId !== 0;
  return {
    isLeader: raft?.role === Role.Leader,
    leaderId: known ? raft.leaderId : -1,
    leaderEpoch: known ? leaderEpoch(raft.term) : NO_LEADER_EPOCH,
    epochs: replica.epochs,
    logEndOffset: replica.logEndOffset,
    inSyncReplicas: () => registry.leadership?.inSyncReplicas(replica),
  };
}

/**
 * Kafka's current-leader-epoch check: -1 (absent) passes; an older epoch than ours is FENCED_LEADER_EPOCH (the
 * client's metadata is stale), a newer one UNKNOWN_LEADER_EPOCH (ours is; both retriable after a refresh).
 */
export function checkCurrentLeaderEpoch(view: PartitionLeadershipView, requested: number | undefined): number {
  if (requested === undefined || requested < 0) return ErrorCode.NONE;
  if (view.leaderEpoch < 0) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  if (requested < view.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (requested > view.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}
