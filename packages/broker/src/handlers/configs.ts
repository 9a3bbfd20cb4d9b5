// DescribeConfigs (topic and broker resources), AlterConfigs and IncrementalAlterConfigs (topic configs only:
// broker settings come from environment variables and are read-only at run time).
import { DEFAULTS, type BrokerConfig } from '../config.js';
import { TOPIC_CONFIG_KEYS, topicConfigDefaults, validateTopicConfig } from '../topic-configs.js';
import type { TopicErrorName } from '../topic-service.js';
import type { BrokerState } from './context.js';
import { KafkaError } from './error-codes.js';
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  DescribeConfigsRequest,
  DescribeConfigsResourceResult,
  DescribeConfigsResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from './wire-types.js';

export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;
const Source = { TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;
const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const;
const OP_SET = 0;
const OP_DELETE = 1;

const TOPIC_CONFIG_TYPES: Record<string, number> = {
  'cleanup.policy': ConfigType.LIST,
  'retention.ms': ConfigType.LONG,
  'retention.bytes': ConfigType.LONG,
  'segment.bytes': ConfigType.INT,
  'segment.ms': ConfigType.LONG,
  'max.message.bytes': ConfigType.INT,
  'message.timestamp.type': ConfigType.STRING,
  'min.insync.replicas': ConfigType.INT,
};

function brokerConfigs(config: BrokerConfig): { name: string; value: string; isDefault: boolean; type: number }[] {
  const entry = (name: string, value: string | number | boolean, def: string | number | boolean, type: number) => ({
    name,
    value: String(value),
    isDefault: value === def,
    type,
  });
  return [
    entry('broker.id', config.nodeId, 0, ConfigType.INT),
    entry('num.partitions', config.defaultPartitions, DEFAULTS.defaultPartitions, ConfigType.INT),
    entry('default.replication.factor', config.defaultReplicationFactor, DEFAULTS.defaultReplicationFactor, ConfigType.INT),
    entry('auto.create.topics.enable', config.autoCreateTopics, DEFAULTS.autoCreateTopics, ConfigType.BOOLEAN),
    entry('log.retention.ms', config.log.retentionMs, DEFAULTS.retentionMs, ConfigType.LONG),
    entry('log.retention.bytes', config.log.retentionBytes, DEFAULTS.retentionBytes, ConfigType.LONG),
    entry('log.segment.bytes', config.log.segmentBytesMax, DEFAULTS.segmentBytesMax, ConfigType.INT),
    entry('log.roll.ms', config.log.segmentMsMax, DEFAULTS.segmentMsMax, ConfigType.LONG),
    entry('log.index.interval.bytes', config.log.indexIntervalBytes, DEFAULTS.indexIntervalBytes, ConfigType.INT),
    entry('message.max.bytes', config.log.messageMaxBytes, DEFAULTS.messageMaxBytes, ConfigType.INT),
    entry('socket.request.max.bytes', config.socketRequestMaxBytes, DEFAULTS.socketRequestMaxBytes, ConfigType.INT),
    entry('log.retention.check.interval.ms', config.retentionCheckIntervalMs, DEFAULTS.retentionCheckIntervalMs, ConfigType.LONG),
  ];
}

export function handleDescribeConfigs(state: BrokerState, request: DescribeConfigsRequest): DescribeConfigsResponse {
  const results: DescribeConfigsResponse['results'] = request.resources.map((resource) => {
    const resourceName = resource.resourceName ?? '';
    const wanted = resource.configurationKeys === null ? null : new Set(resource.configurationKeys);
    const base = { resourceType: resource.resourceType, resourceName, errorCode: KafkaError.NONE, errorMessage: null as string | null };
    const make = (name: string, value: string, source: number, type: number, synonyms: DescribeConfigsResourceResult['synonyms']): DescribeConfigsResourceResult => ({
      name,
      value,
      readOnly: resource.resourceType === ResourceType.BROKER,
      isDefault: source === Source.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: false,
      synonyms: request.includeSynonyms ? synonyms : [],
      configType: type,
      documentation: null,
    });
    if (resource.resourceType === ResourceType.TOPIC) {
      const topic = state.catalogue.getTopic(resourceName);
      if (!topic) return { ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic "${resourceName}" does not exist`, configs: [] };
      const defaults = topicConfigDefaults(state.config);
      const configs: DescribeConfigsResourceResult[] = [];
      for (const key of TOPIC_CONFIG_KEYS) {
        if (wanted && !wanted.has(key)) continue;
        const def = defaults.get(key)!;
        const set = topic.configs.get(key);
        const synonyms = [
          ...(set !== undefined ? [{ name: key, value: set, source: Source.TOPIC_CONFIG }] : []),
          { name: key, value: def, source: Source.DEFAULT_CONFIG },
        ];
        configs.push(make(key, set ?? def, set !== undefined ? Source.TOPIC_CONFIG : Source.DEFAULT_CONFIG, TOPIC_CONFIG_TYPES[key]!, synonyms));
      }
      return { ...base, configs };
    }
    if (resource.resourceType === ResourceType.BROKER) {
      if (resourceName !== '' && resourceName !== String(state.config.nodeId)) {
        return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `this node is broker ${state.config.nodeId}, not "${resourceName}"`, configs: [] };
      }
      const configs = brokerConfigs(state.config)
        .filter((c) => !wanted || wanted.has(c.name))
        .map((c) => {
          const source = c.isDefault ? Source.DEFAULT_CONFIG : Source.STATIC_BROKER_CONFIG;
          return make(c.name, c.value, source, c.type, [{ name: c.name, value: c.value, source }]);
        });
      return { ...base, configs };
    }
    return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `resource type ${resource.resourceType} is not supported`, configs: [] };
  });
  return { throttleTimeMs: 0, results };
}

type Edit = { ok: true; configs: Map<string, string> } | { ok: false; error: TopicErrorName; message: string };

async function alterTopic(
  state: BrokerState,
  resourceType: number,
  resourceName: string,
  validateOnly: boolean,
  edit: (current: ReadonlyMap<string, string>) => Edit,
): Promise<AlterConfigsResponse['responses'][number]> {
  const base = { resourceType, resourceName };
  if (resourceType === ResourceType.BROKER) {
    return { ...base, errorCode: KafkaError.INVALID_CONFIG, errorMessage: 'broker configs are set by TRIBUTARY_* environment variables and cannot be altered at run time' };
  }
  if (resourceType !== ResourceType.TOPIC) {
    return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `resource type ${resourceType} is not supported` };
  }
  const r = await state.topics.alterConfigs(resourceName, edit, validateOnly);
  return r.ok ? { ...base, errorCode: KafkaError.NONE, errorMessage: null } : { ...base, errorCode: KafkaError[r.error], errorMessage: r.message };
}

/** AlterConfigs replaces the whole set of a topic's explicit configs. */
export async function handleAlterConfigs(state: BrokerState, request: AlterConfigsRequest): Promise<AlterConfigsResponse> {
  const responses = [];
  for (const res of request.resources) {
    responses.push(
      await alterTopic(state, res.resourceType, res.resourceName ?? '', request.validateOnly, () => {
        const configs = new Map<string, string>();
        for (const c of res.configs) {
          const name = c.name ?? '';
          const problem = validateTopicConfig(name, c.value);
          if (problem) return { ok: false, error: 'INVALID_CONFIG', message: problem };
          if (c.value !== null) configs.set(name, c.value.trim());
        }
        return { ok: true, configs };
      }),
    );
  }
  return { throttleTimeMs: 0, responses };
}

/**
 * Kafka's topic-level replication throttles. Tributary has no replication throttling, so they can never be set;
 * deleting them is a no-op that succeeds (kafka-reassign-partitions --verify clears them after every move).
 */
const REPLICATION_THROTTLE_TOPIC_CONFIGS: ReadonlySet<string> = new Set(['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas']);

/**
 * No broker config is dynamic here (they come from TRIBUTARY_* variables), so deleting a broker's dynamic config
 * deletes nothing and succeeds, as Kafka answers for a dynamic config that is not set (kafka-reassign-partitions
 * --verify clears the broker-level throttle rates); any other operation on a broker is refused.
 */
function onlyDeletesOfBrokerConfigs(res: IncrementalAlterConfigsRequest['resources'][number]): boolean {
  return res.resourceType === ResourceType.BROKER && res.configs.every((c) => c.configOperation === OP_DELETE);
}

/** IncrementalAlterConfigs sets or deletes single keys (APPEND/SUBTRACT have no list-typed key to act on but cleanup.policy, which only allows "delete"). */
export async function handleIncrementalAlterConfigs(state: BrokerState, request: IncrementalAlterConfigsRequest): Promise<IncrementalAlterConfigsResponse> {
  const responses = [];
  for (const res of request.resources) {
    if (onlyDeletesOfBrokerConfigs(res)) {
      responses.push({ resourceType: res.resourceType, resourceName: res.resourceName ?? '', errorCode: KafkaError.NONE, errorMessage: null });
      continue;
    }
    responses.push(
      await alterTopic(state, res.resourceType, res.resourceName ?? '', request.validateOnly, (current) => {
        const configs = new Map(current);
        for (const c of res.configs) {
          const name = c.name ?? '';
          if (c.configOperation === OP_SET) {
            const problem = validateTopicConfig(name, c.value ?? '');
            if (problem) return { ok: false, error: 'INVALID_CONFIG', message: problem };
            configs.set(name, (c.value ?? '').trim());
          } else if (c.configOperation === OP_DELETE) {
            if (REPLICATION_THROTTLE_TOPIC_CONFIGS.has(name)) continue;
            const problem = validateTopicConfig(name, null);
            if (problem) return { ok: false, error: 'INVALID_CONFIG', message: problem };
            configs.delete(name);
          } else {
            return { ok: false, error: 'INVALID_CONFIG', message: `operation ${c.configOperation} (APPEND/SUBTRACT) is not supported for "${name}"` };
          }
        }
        return { ok: true, configs };
      }),
    );
  }
  return { throttleTimeMs: 0, responses };
}
