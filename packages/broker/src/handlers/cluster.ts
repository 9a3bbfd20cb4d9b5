// DescribeCluster, DeleteRecords, InitProducerId and OffsetForLeaderEpoch: small single-node answers.
import type { BrokerState } from './context.js';
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

export function handleDescribeCluster(state: BrokerState, _request: DescribeClusterRequest): DescribeClusterResponse {
  const advertised = state.advertised();
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
          return r.kind === 'ok'
            ? { partitionIndex: p.partitionIndex, lowWatermark: r.lowWatermark, errorCode: KafkaError.NONE }
            : { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: KafkaError.OFFSET_OUT_OF_RANGE };
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

/** Single node, one leader epoch (0) for ever: its end offset is the log end offset. */
export function handleOffsetForLeaderEpoch(state: BrokerState, request: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => {
      const topic = t.topic ?? '';
      return {
        topic,
        partitions: t.partitions.map((p) => {
          const partition = state.partitions.get(topic, p.partition);
          if (!partition) return { errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
          if (p.leaderEpoch > 0) return { errorCode: KafkaError.NONE, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
          return { errorCode: KafkaError.NONE, partition: p.partition, leaderEpoch: 0, endOffset: partition.highWatermark };
        }),
      };
    }),
  };
}
