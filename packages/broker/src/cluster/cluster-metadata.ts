// What the Metadata API reports in cluster mode, from this broker's local copy of the metadata group:
// the registered brokers, the metadata leader as controller, and each partition's assigned replicas.
import { ErrorCode } from '@tributary/protocol';
import type { ReplicatedCatalogue } from './replicated-catalogue.js';
import type { ClusterTopic } from './metadata-store.js';
import { ClusterPartitionRegistry } from './cluster-partitions.js';

export interface ClusterPartitionView {
  readonly errorCode: number;
  readonly partitionIndex: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicaNodes: number[];
  readonly isrNodes: number[];
  readonly offlineReplicas: number[];
}

/**
 * Leader and epoch come from this broker's replica of the partition's Raft group when it hosts one (leader =
 * Raft leader, epoch = Raft term), else from the last leader recorded in the metadata group. ISR: on the leader,
 * the leadership service's view (leadership-isr.ts: caught up within the lag time and heard from recently);
 * elsewhere a follower cannot see its peers' progress, so it reports the replicas whose nodes it has heard from
 * within the lag time (a dead broker is never reported in sync). Offline replicas: those whose node has not been
 * heard from within the lag time. No known leader, or a recorded leader (on a broker without a replica) that is
 * offline: LEADER_NOT_AVAILABLE (retriable).
 */
export function clusterPartitions(topic: ClusterTopic, registry: unknown): ClusterPartitionView[] {
  const partitions = registry instanceof ClusterPartitionRegistry ? registry : undefined;
  const live = (broker: number): boolean => partitions?.leadership?.isLive(broker) ?? true;
  return topic.assignments.map((a) => {
    const replica = partitions?.replica(topic.name, a.partition);
    const local = replica?.leadership();
    const reachable = a.replicas.filter(live);
    let leaderId = -1;
    let leaderEpoch = -1;
    let isr: number[] = [];
    if (local !== undefined && local.leaderId !== 0) {
      leaderId = local.leaderId;
      leaderEpoch = local.term;
      isr = (local.isLeader ? partitions?.leadership?.inSyncReplicas(replica!) : undefined) ?? reachable;
    } else if (local === undefined && a.leader > 0 && live(a.leader)) {
      leaderId = a.leader;
      leaderEpoch = a.leaderTerm;
      isr = reachable;
    }
    return {
      errorCode: leaderId === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: a.partition,
      leaderId,
      leaderEpoch,
      replicaNodes: [...a.replicas],
      isrNodes: isr,
      offlineReplicas: a.replicas.filter((r) => !live(r)),
    };
  });
}

/**
 * The registered brokers that are live as this broker sees them (itself, and every peer heard from within the lag
 * time), as Kafka lists only unfenced brokers: a client then does not keep connecting to a dead one (e.g. a dead
 * group coordinator). Registration stays in the metadata group; a broker reappears as soon as it is heard again.
 */
export function clusterBrokers(catalogue: ReplicatedCatalogue, registry: unknown): { nodeId: number; host: string; port: number; rack: string | null }[] {
  const leadership = registry instanceof ClusterPartitionRegistry ? registry.leadership : undefined;
  return catalogue
    .brokers()
    .filter((b) => leadership?.isLive(b.nodeId) ?? true)
    .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: null }));
}

/** The metadata leader when known, else this node (clients then retry against it and get redirected). */
export function clusterControllerId(catalogue: ReplicatedCatalogue, selfId: number): number {
  const leader = catalogue.metadataLeaderId();
  return leader === 0 ? selfId : leader;
}
