// AlterPartitionReassignments (45) and ListPartitionReassignments (46). Cluster mode: each partition's new target
// (or cancel) is a metadata command, forwarded to the metadata leader from any broker; the partition's Raft leader
// then moves the replicas by membership change (cluster/reassignment-driver.ts). A single broker is every
// partition's only replica: a target of exactly itself is accepted (nothing to move), any other broker is unknown.
import type { BrokerState } from './context.js';
import { KafkaError } from './error-codes.js';
import { ClusterTopicService } from '../cluster/cluster-topic-service.js';
import { ReplicatedCatalogue } from '../cluster/replicated-catalogue.js';
import { invalidTarget, isReassigning } from '../cluster/reassignment-plan.js';
import type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from './wire-types.js';

type PartitionAnswer = { partitionIndex: number; errorCode: number; errorMessage: string | null };

export async function handleAlterPartitionReassignments(state: BrokerState, request: AlterPartitionReassignmentsRequest): Promise<AlterPartitionReassignmentsResponse> {
  const cluster = state.topics instanceof ClusterTopicService ? state.topics : undefined;
  const responses = await Promise.all(
    request.topics.map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(t.partitions.map((p) => alterOne(t.name, p.partitionIndex, p.replicas))),
    })),
  );
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, errorMessage: null, responses };

  async function alterOne(topic: string, partition: number, target: number[] | null): Promise<PartitionAnswer> {
    const answer = (error: keyof typeof KafkaError, message: string | null): PartitionAnswer => ({ partitionIndex: partition, errorCode: KafkaError[error], errorMessage: message });
    if (cluster !== undefined) {
      const r = await cluster.alterReassignment(topic, partition, target);
      return r.ok ? answer('NONE', null) : answer(r.error, r.message);
    }
    const record = state.catalogue.getTopic(topic);
    if (record === undefined || partition < 0 || partition >= record.partitionCount) return answer('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${topic}-${partition}`);
    if (target === null) return answer('NO_REASSIGNMENT_IN_PROGRESS', `no reassignment of ${topic}-${partition} is in progress`);
    const invalid = invalidTarget(target, [state.config.nodeId]);
    return invalid === null ? answer('NONE', null) : answer('INVALID_REPLICA_ASSIGNMENT', `${topic}-${partition}: ${invalid}`);
  }
}

/** Partitions with a move in progress (all, or those asked for; unknown ones and idle ones are left out, as Kafka does). */
export function handleListPartitionReassignments(state: BrokerState, request: ListPartitionReassignmentsRequest): ListPartitionReassignmentsResponse {
  const catalogue = state.catalogue instanceof ReplicatedCatalogue ? state.catalogue : undefined;
  const topics: ListPartitionReassignmentsResponse['topics'] = [];
  if (catalogue !== undefined) {
    const wanted = request.topics === null ? catalogue.listTopics().map((t) => ({ name: t.name, partitionIndexes: null })) : request.topics;
    for (const w of wanted) {
      const topic = catalogue.getTopic(w.name);
      if (topic === undefined) continue;
      const partitions = topic.assignments
        .filter((a) => (w.partitionIndexes === null || w.partitionIndexes.includes(a.partition)) && isReassigning(a))
        .map((a) => ({ partitionIndex: a.partition, replicas: [...a.replicas], addingReplicas: [...a.addingReplicas], removingReplicas: [...a.removingReplicas] }));
      if (partitions.length > 0) topics.push({ name: topic.name, partitions });
    }
  }
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, errorMessage: null, topics };
}
