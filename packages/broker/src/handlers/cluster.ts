// DescribeCluster, DeleteRecords, InitProducerId and OffsetForLeaderEpoch. Single node: small fixed answers (one
// broker, leader epoch 0). Cluster mode: the registered brokers and the metadata leader; leader epochs are Raft
// terms, answered from the replica's epoch cache (src/cluster/leadership-epochs.ts).
import type { BrokerState } from './context.js';
import { ReplicatedCatalogue } from '../cluster/replicated-catalogue.js';
import { clusterBrokers, clusterControllerId } from '../cluster/cluster-metadata.js';
import { checkCurrentLeaderEpoch, partitionLeadership } from '../cluster/leadership-view.js';
import { KafkaError } from './error-codes.js';
import { requestedOffset } from './offsets.js';
import type {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from './wire-types.js';

const OPERATIONS_NOT_REQUESTED = -2147483648;

export function handleDescribeCluster(state: BrokerState, request: DescribeClusterRequest): DescribeClusterResponse {
  const advertised = state.advertised();
  if (state.catalogue instanceof ReplicatedCatalogue) {
    const cluster = state.catalogue;
    return {
      throttleTimeMs: 0,
      errorCode: KafkaError.NONE,
      errorMessage: null,
      endpointType: 1,
      clusterId: cluster.clusterId,
      controllerId: clusterControllerId(cluster, state.config.nodeId),
      // Unfenced brokers, like Metadata; v2's includeFencedBrokers adds the fenced ones, marked (replicated state).
      brokers: clusterBrokers(cluster, request.includeFencedBrokers === true).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: b.isFenced })),
      clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode: KafkaError.NONE,
    errorMessage: null,
    endpointType: 1,
    clusterId: state.catalogue.clusterId,
    controllerId: state.config.nodeId,
    brokers: [{ brokerId: state.config.nodeId, host: advertised.host, port: advertised.port, rack: null, isFenced: false }],
    clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}

export async function handleDeleteRecords(state: BrokerState, request: DeleteRecordsRequest): Promise<DeleteRecordsResponse> {
  const topics = await Promise.all(
    request.topics.map(async (t) => {
      const name = t.name ?? '';
      const partitions = await Promise.all(
        t.partitions.map(async (p) => {
          const partition = state.partitions.get(name, p.partitionIndex);
          if (!partition) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
          const target = p.offset === -1 ? -1 : requestedOffset(p.offset);
          if (target === null) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: KafkaError.OFFSET_OUT_OF_RANGE };
          const r = await partition.deleteRecordsBefore(target);
          if (r.kind === 'ok') return { partitionIndex: p.partitionIndex, lowWatermark: r.lowWatermark, errorCode: KafkaError.NONE };
          const errorCode = r.kind === 'notLeader' ? KafkaError.NOT_LEADER_OR_FOLLOWER : KafkaError.OFFSET_OUT_OF_RANGE;
          return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode };
        }),
      );
      return { name, partitions };
    }),
  );
  return { throttleTimeMs: 0, topics };
}

/**
 * Idempotent producers get a fresh producer id with epoch 0 (Kafka does the same for a null transactionalId,
 * also when the request names an existing id). Transactional producers are refused until transactions exist.
 */
export function handleInitProducerId(state: BrokerState, request: InitProducerIdRequest): InitProducerIdResponse {
  if (request.transactionalId !== null && request.transactionalId !== undefined) {
    return { throttleTimeMs: 0, errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
  }
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, producerId: state.catalogue.allocateProducerId(), producerEpoch: 0 };
}

/**
 * The end offset of the requested leader epoch: the first offset of the next larger epoch, or the log end for the
 * current one (Kafka's rule, src/cluster/leadership-epochs.ts). Single node: one epoch (0) for ever.
 */
export function handleOffsetForLeaderEpoch(state: BrokerState, request: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => {
      const topic = t.topic ?? '';
      return {
        topic,
        partitions: t.partitions.map((p) => {
          const answer = (errorCode: number, leaderEpoch = -1, endOffset = -1) => ({ errorCode, partition: p.partition, leaderEpoch, endOffset });
          const partition = state.partitions.get(topic, p.partition);
          const exists = state.catalogue.getTopic(topic) !== undefined;
          if (!partition) return answer(exists && state.catalogue instanceof ReplicatedCatalogue ? KafkaError.NOT_LEADER_OR_FOLLOWER : KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
          const view = partitionLeadership(state.partitions, topic, p.partition);
          if (view === undefined) {
            if (p.leaderEpoch > 0) return answer(KafkaError.NONE);
            return answer(KafkaError.NONE, 0, partition.highWatermark);
          }
          // Consumers (replicaId -1, absent before v3) ask the leader; there are no Kafka-protocol followers here.
          if (!view.isLeader) return answer(KafkaError.NOT_LEADER_OR_FOLLOWER);
          const epochError = checkCurrentLeaderEpoch(view, p.currentLeaderEpoch);
          if (epochError !== KafkaError.NONE) return answer(epochError);
          const end = view.epochs.endOffsetFor(p.leaderEpoch, partition.highWatermark, view.leaderEpoch);
          return answer(KafkaError.NONE, end.epoch, end.endOffset);
        }),
      };
    }),
  };
}
