// What the Metadata API reports in cluster mode, from this broker's local copy of the metadata group:
// the registered brokers, the metadata leader as controller, and each partition's assigned replicas.
// Partition Raft groups are not started yet, so no partition has a leader: LEADER_NOT_AVAILABLE (retriable),
// leader -1, empty ISR.
import { ErrorCode } from '@tributary/protocol';
import type { ReplicatedCatalogue } from './replicated-catalogue.js';
import type { ClusterTopic } from './metadata-store.js';

export interface ClusterPartitionView {
  readonly errorCode: number;
  readonly partitionIndex: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicaNodes: number[];
  readonly isrNodes: number[];
  readonly offlineReplicas: number[];
}

export function clusterPartitions(topic: ClusterTopic): ClusterPartitionView[] {
  return topic.assignments.map((a) => ({
    errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
    partitionIndex: a.partition,
    leaderId: -1,
    leaderEpoch: -1,
    replicaNodes: [...a.replicas],
    isrNodes: [],
    offlineReplicas: [],
  }));
}

export function clusterBrokers(catalogue: ReplicatedCatalogue): { nodeId: number; host: string; port: number; rack: string | null }[] {
  return catalogue.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: null }));
}

/** The metadata leader when known, else this node (clients then retry against it and get redirected). */
export function clusterControllerId(catalogue: ReplicatedCatalogue, selfId: number): number {
  const leader = catalogue.metadataLeaderId();
  return leader === 0 ? selfId : leader;
}
