// Metadata: single node: this node is every partition's leader, only replica and ISR (leader epoch 0). Cluster mode
// (ReplicatedCatalogue): brokers, controller and replicas come from the metadata group (src/cluster/cluster-metadata.ts).
import type { TopicRecord } from '../catalogue/catalogue.js';
import type { BrokerState } from './context.js';
import { KafkaError } from './error-codes.js';
import type { MetadataRequest, MetadataResponse, MetadataResponseTopic } from './wire-types.js';
import { validateTopicName } from '../topic-configs.js';
import { ReplicatedCatalogue } from '../cluster/replicated-catalogue.js';
import { clusterBrokers, clusterControllerId, clusterPartitions } from '../cluster/cluster-metadata.js';

const ZERO_UUID = Buffer.alloc(16);
/** Kafka's "authorized operations not requested" marker. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

function topicEntry(state: BrokerState, topic: TopicRecord): MetadataResponseTopic {
  const nodeId = state.config.nodeId;
  const replicated = state.catalogue instanceof ReplicatedCatalogue ? state.catalogue.getTopic(topic.name) : undefined;
  const partitions = replicated ? clusterPartitions(replicated, state.partitions) : [];
  for (let p = 0; !replicated && p < topic.partitionCount; p++) {
    partitions.push({
      errorCode: KafkaError.NONE,
      partitionIndex: p,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    });
  }
  return {
    errorCode: KafkaError.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: false,
    partitions,
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}

function errorEntry(name: string | null, topicId: Buffer, errorCode: number): MetadataResponseTopic {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED };
}

export async function handleMetadata(state: BrokerState, request: MetadataRequest, apiVersion: number): Promise<MetadataResponse> {
  const advertised = state.advertised();
  // v0: an empty list means all topics; v1+: null means all, empty means none.
  const all = request.topics === null || (apiVersion === 0 && request.topics.length === 0);
  // v4+ carries allowAutoTopicCreation; before v4 requests always allowed it.
  const allowAutoCreate = state.config.autoCreateTopics && (apiVersion < 4 || request.allowAutoTopicCreation !== false);
  const topics: MetadataResponseTopic[] = [];
  if (all) {
    for (const t of state.catalogue.listTopics()) topics.push(topicEntry(state, t));
  } else {
    for (const requested of request.topics ?? []) {
      const byId = requested.topicId && !requested.topicId.equals(ZERO_UUID) ? requested.topicId : undefined;
      if (byId) {
        const t = state.catalogue.getTopicById(byId);
        // The response's topic name is nullable only from v12.
        topics.push(t ? topicEntry(state, t) : errorEntry(apiVersion >= 12 ? null : '', byId, KafkaError.UNKNOWN_TOPIC_ID));
        continue;
      }
      const name = requested.name;
      let t = name === null ? undefined : state.catalogue.getTopic(name);
      if (!t && name !== null && allowAutoCreate && validateTopicName(name) === null) {
        t = await state.topics.ensureTopic(name);
      }
      if (t) topics.push(topicEntry(state, t));
      else {
        const code = name !== null && validateTopicName(name) !== null ? KafkaError.INVALID_TOPIC_EXCEPTION : KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
        topics.push(errorEntry(name ?? (apiVersion >= 12 ? null : ''), ZERO_UUID, code));
      }
    }
  }
  const cluster = state.catalogue instanceof ReplicatedCatalogue ? state.catalogue : undefined;
  return {
    throttleTimeMs: 0,
    brokers: cluster ? clusterBrokers(cluster).map(({ isFenced: _, ...b }) => b) : [{ nodeId: state.config.nodeId, host: advertised.host, port: advertised.port, rack: null }],
    clusterId: state.catalogue.clusterId,
    controllerId: cluster ? clusterControllerId(cluster, state.config.nodeId) : state.config.nodeId,
    topics,
    clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}
