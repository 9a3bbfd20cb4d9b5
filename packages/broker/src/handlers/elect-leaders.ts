// ElectLeaders (cluster mode): PREFERRED moves each listed partition's leadership to its preferred replica (the
// first of its assignment) through a Raft leadership transfer made by the current leader, which may be another
// broker (src/cluster/leadership-service.ts). UNCLEAN cannot exist under Raft — only a replica holding every
// committed entry can win an election — so it is answered like Kafka answers it for a partition that has a leader
// (ELECTION_NOT_NEEDED) or, with no leader, ELIGIBLE_LEADERS_NOT_AVAILABLE with that reason.
import type { BrokerState } from './context.js';
import { KafkaError } from './error-codes.js';
import { ClusterPartitionRegistry } from '../cluster/cluster-partitions.js';
import { ReplicatedCatalogue } from '../cluster/replicated-catalogue.js';
import type { ElectionOutcome } from '../cluster/leadership-service.js';
import type { ElectLeadersRequest, ElectLeadersResponse } from './wire-types.js';

const PREFERRED = 0;
const UNCLEAN = 1;

export async function handleElectLeaders(state: BrokerState, request: ElectLeadersRequest, apiVersion: number): Promise<ElectLeadersResponse> {
  const electionType = apiVersion >= 1 ? (request.electionType ?? PREFERRED) : PREFERRED;
  const catalogue = state.catalogue instanceof ReplicatedCatalogue ? state.catalogue : undefined;
  const leadership = state.partitions instanceof ClusterPartitionRegistry ? state.partitions.leadership : undefined;
  // null = every partition of every topic.
  const wanted = request.topicPartitions ?? state.catalogue.listTopics().map((t) => ({ topic: t.name, partitions: [...Array(t.partitionCount).keys()] }));
  const timeoutMs = request.timeoutMs ?? 60_000;
  const replicaElectionResults = await Promise.all(
    wanted.map(async (t) => {
      const topic = t.topic ?? '';
      const partitionResult = await Promise.all(
        t.partitions.map(async (partitionId) => {
          const outcome = await electOne(topic, partitionId);
          return { partitionId, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
        }),
      );
      return { topic, partitionResult };
    }),
  );
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, replicaElectionResults };

  async function electOne(topic: string, partition: number): Promise<ElectionOutcome> {
    const record = state.catalogue.getTopic(topic);
    if (record === undefined || partition < 0 || partition >= record.partitionCount) {
      return { errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown partition ${topic}-${partition}` };
    }
    if (catalogue === undefined || leadership === undefined) {
      // One broker: it is every partition's only replica and leader.
      return { errorCode: KafkaError.ELECTION_NOT_NEEDED, errorMessage: 'single broker: it leads every partition' };
    }
    if (electionType === UNCLEAN) {
      const leader = catalogue.getTopic(topic)?.assignments[partition]?.leader ?? -1;
      const local = (state.partitions as ClusterPartitionRegistry).replica(topic, partition)?.leadership().leaderId;
      const known = local !== undefined ? local > 0 : leader > 0;
      return known
        ? { errorCode: KafkaError.ELECTION_NOT_NEEDED, errorMessage: `${topic}-${partition} has a leader` }
        : {
            errorCode: KafkaError.ELIGIBLE_LEADERS_NOT_AVAILABLE,
            errorMessage: 'unclean election is not possible: a Raft partition elects only a replica holding every committed entry (needs a majority of its replicas)',
          };
    }
    if (electionType !== PREFERRED) return { errorCode: KafkaError.INVALID_REQUEST, errorMessage: `unknown election type ${electionType}` };
    return leadership.electPreferred(topic, partition, timeoutMs);
  }
}
