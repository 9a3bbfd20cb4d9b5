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
 * Raft leader, epoch = Raft term), else from the last leader recorded in the metadata group. A broker fenced in the
 * metadata group (broker-fencing.ts) is offline everywhere: never in the ISR, always in `offlineReplicas`, and a
 * fenced leader is reported as LEADER_NOT_AVAILABLE (retriable). On the partition's leader the ISR is the leadership
 * service's view (leadership-isr.ts: caught up within the lag time and heard from recently) and a replica whose
 * node it has not heard from within the lag time is offline too (Raft liveness); elsewhere a broker cannot see the
 * replicas' progress, so it reports the replicated view only (every unfenced replica in sync), the same on every
 * such broker.
 */
export function clusterPartitions(topic: ClusterTopic, registry: unknown): ClusterPartitionView[] {
  const partitions = registry instanceof ClusterPartitionRegistry ? registry : undefined;
  const leadership = partitions?.leadership;
  const fenced = (broker: number): boolean => leadership?.isFenced(broker) ?? false;
  return topic.assignments.map((a) => {
    const replica = partitions?.replica(topic.name, a.partition);
    const local = replica?.leadership();
    const unfenced = a.replicas.filter((r) => !fenced(r));
    let offline = a.replicas.filter(fenced);
    let leaderId = -1;
    let leaderEpoch = -1;
    let isr: number[] = [];
    if (local !== undefined && local.leaderId !== 0 && !fenced(local.leaderId)) {
      leaderId = local.leaderId;
      leaderEpoch = local.term;
      const leaderView = local.isLeader ? leadership?.inSyncReplicas(replica!) : undefined;
      if (leaderView !== undefined) {
        isr = leaderView.filter((r) => !fenced(r));
        offline = a.replicas.filter((r) => fenced(r) || !leadership!.heardWithinLag(r));
      } else {
        isr = unfenced;
      }
    } else if (local === undefined && a.leader > 0 && !fenced(a.leader)) {
      leaderId = a.leader;
      leaderEpoch = a.leaderTerm;
      isr = unfenced;
    }
    return {
      errorCode: leaderId === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: a.partition,
      leaderId,
      leaderEpoch,
      replicaNodes: [...a.replicas],
      isrNodes: isr,
      offlineReplicas: offline,
    };
  });
}

/**
 * The registered brokers that are not fenced in the metadata group (Kafka lists only unfenced brokers: a client
 * then does not keep connecting to a dead one, e.g. a dead group coordinator). Read from the replicated state, so
 * every caught-up broker lists the same set; `includeFenced` (DescribeCluster v2) lists the fenced ones too, marked.
 */
export function clusterBrokers(catalogue: ReplicatedCatalogue, includeFenced = false): { nodeId: number; host: string; port: number; rack: string | null; isFenced: boolean }[] {
  const fenced = catalogue.node.store.fencedBrokers();
  return catalogue
    .brokers()
    .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: null, isFenced: fenced.has(b.nodeId) }))
    .filter((b) => includeFenced || !b.isFenced);
}

/** The metadata leader when known, else this node (clients then retry against it and get redirected). */
export function clusterControllerId(catalogue: ReplicatedCatalogue, selfId: number): number {
  const leader = catalogue.metadataLeaderId();
  return leader === 0 ? selfId : leader;
}
