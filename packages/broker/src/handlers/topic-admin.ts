// CreateTopics, DeleteTopics and CreatePartitions over the TopicService.
import type { BrokerState } from './context.js';
import { KafkaError } from './error-codes.js';
import { topicConfigDefaults } from '../topic-configs.js';
import { replicationFactorOf } from '../topic-service.js';
import type {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  CreateTopicsResponseTopic,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from './wire-types.js';

const ZERO_UUID = Buffer.alloc(16);
const CONFIG_SOURCE_TOPIC = 1;
const CONFIG_SOURCE_DEFAULT = 5;

export async function handleCreateTopics(state: BrokerState, request: CreateTopicsRequest): Promise<CreateTopicsResponse> {
  const seen = new Map<string, number>();
  for (const t of request.topics) seen.set(t.name ?? '', (seen.get(t.name ?? '') ?? 0) + 1);
  const topics: CreateTopicsResponseTopic[] = [];
  for (const t of request.topics) {
    const name = t.name ?? '';
    const failed = (errorCode: number, errorMessage: string): CreateTopicsResponseTopic => ({
      name,
      topicId: ZERO_UUID,
      errorCode,
      errorMessage,
      topicConfigErrorCode: KafkaError.NONE,
      numPartitions: -1,
      replicationFactor: -1,
      configs: null,
    });
    if ((seen.get(name) ?? 0) > 1) {
      topics.push(failed(KafkaError.INVALID_REQUEST, `topic "${name}" appears more than once in the request`));
      continue;
    }
    const spec = {
      name: t.name,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      assignments: t.assignments,
      configs: (t.configs ?? []).map((c) => ({ name: c.name ?? '', value: c.value })),
    };
    const result = request.validateOnly ? state.topics.validateCreate(spec) : await state.topics.createTopic(spec);
    if (!result.ok) {
      topics.push(failed(KafkaError[result.error], result.message));
      continue;
    }
    const explicit = 'topic' in result ? result.topic.configs : result.configs;
    const partitions = 'topic' in result ? result.topic.partitionCount : result.partitions;
    const configs = [...topicConfigDefaults(state.config)].map(([key, value]) => ({
      name: key,
      value: explicit.get(key) ?? value,
      readOnly: false,
      configSource: explicit.has(key) ? CONFIG_SOURCE_TOPIC : CONFIG_SOURCE_DEFAULT,
      isSensitive: false,
    }));
    topics.push({
      name,
      topicId: 'topic' in result ? result.topic.topicId : ZERO_UUID,
      errorCode: KafkaError.NONE,
      errorMessage: null,
      topicConfigErrorCode: KafkaError.NONE,
      numPartitions: partitions,
      replicationFactor: replicationFactorOf(spec, state.config.defaultReplicationFactor),
      configs,
    });
  }
  return { throttleTimeMs: 0, topics };
}

export async function handleDeleteTopics(state: BrokerState, request: DeleteTopicsRequest, apiVersion: number): Promise<DeleteTopicsResponse> {
  // v0-5 list names; v6+ list {name, topicId}.
  const wanted: { name: string | null; topicId: Buffer }[] =
    apiVersion >= 6 ? (request.topics ?? []) : (request.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
  const responses: DeleteTopicsResponse['responses'] = [];
  for (const w of wanted) {
    let name = w.name;
    if (name === null && !w.topicId.equals(ZERO_UUID)) {
      const t = state.catalogue.getTopicById(w.topicId);
      if (!t) {
        responses.push({ name: null, topicId: w.topicId, errorCode: KafkaError.UNKNOWN_TOPIC_ID, errorMessage: 'unknown topic id' });
        continue;
      }
      name = t.name;
    }
    if (name === null) {
      responses.push({ name: null, topicId: w.topicId, errorCode: KafkaError.INVALID_REQUEST, errorMessage: 'neither name nor topic id given' });
      continue;
    }
    const result = await state.topics.deleteTopic(name);
    responses.push(
      result.ok
        ? { name, topicId: result.topic.topicId, errorCode: KafkaError.NONE, errorMessage: null }
        : { name, topicId: w.topicId, errorCode: KafkaError[result.error], errorMessage: result.message },
    );
  }
  return { throttleTimeMs: 0, responses };
}

export async function handleCreatePartitions(state: BrokerState, request: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
  const results: CreatePartitionsResponse['results'] = [];
  for (const t of request.topics) {
    const name = t.name ?? '';
    const r = await state.topics.createPartitions(name, t.count, (t.assignments?.length ?? 0) > 0, request.validateOnly);
    results.push(r.ok ? { name, errorCode: KafkaError.NONE, errorMessage: null } : { name, errorCode: KafkaError[r.error], errorMessage: r.message });
  }
  return { throttleTimeMs: 0, results };
}
