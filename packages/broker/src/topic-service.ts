// Topic administration shared by CreateTopics, DeleteTopics, CreatePartitions, the config APIs and
// auto-creation: updates the catalogue and the partition registry together, and serialises changes so two
// concurrent creations of one topic cannot both succeed.
import type { Logger } from 'pino';
import type { BrokerConfig } from './config.js';
import type { Catalogue, TopicRecord } from './catalogue/catalogue.js';
import type { PartitionRegistry } from './partitions/partition-registry.js';
import { validateTopicConfig, validateTopicName } from './topic-configs.js';
import { checkReplicaAssignments, type RequestedAssignment } from './replica-assignments.js';

/** Kafka error names (keys of @tributary/protocol's ErrorCode) that topic administration can return. */
export type TopicErrorName =
  | 'TOPIC_ALREADY_EXISTS'
  | 'INVALID_TOPIC_EXCEPTION'
  | 'INVALID_PARTITIONS'
  | 'INVALID_REPLICATION_FACTOR'
  | 'INVALID_REPLICA_ASSIGNMENT'
  | 'INVALID_CONFIG'
  | 'INVALID_REQUEST'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'KAFKA_STORAGE_ERROR'
  | 'UNKNOWN_SERVER_ERROR';

/** Turns a topic's current explicit configs into the new set, or refuses. */
export type ConfigEdit = (
  current: ReadonlyMap<string, string>,
) => { ok: true; configs: Map<string, string> } | { ok: false; error: TopicErrorName; message: string };

export type TopicResult = { ok: true; topic: TopicRecord } | { ok: false; error: TopicErrorName; message: string };

export interface CreateTopicSpec {
  readonly name: string | null;
  /** -1 = broker default */
  readonly numPartitions: number;
  /** -1 = broker default */
  readonly replicationFactor: number;
  /** Manual replica assignments (numPartitions and replicationFactor then -1); null or empty = none. */
  readonly assignments: readonly RequestedAssignment[] | null;
  readonly configs: readonly { name: string; value: string | null }[];
}

/** The replication factor a valid creation gets: its assignment's replica count, else the requested one or the default. */
export function replicationFactorOf(spec: CreateTopicSpec, defaultReplicationFactor: number): number {
  if ((spec.assignments?.length ?? 0) > 0) return spec.assignments![0]!.brokerIds.length;
  return spec.replicationFactor === -1 ? defaultReplicationFactor : spec.replicationFactor;
}

export type TopicChangeListener = (event: { kind: 'deleted'; topic: string }) => void | Promise<void>;

const MAX_PARTITIONS_PER_TOPIC = 10000;

export class TopicService {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly deleteListeners: ((topic: string) => void | Promise<void>)[] = [];

  constructor(
    private readonly config: BrokerConfig,
    readonly catalogue: Catalogue,
    private readonly partitions: PartitionRegistry,
    private readonly logger: Logger,
  ) {}

  onTopicDeleted(listener: (topic: string) => void | Promise<void>): void {
    this.deleteListeners.push(listener);
  }

  /** Runs catalogue changes one at a time, in call order. */
  protected serialised<T>(step: () => Promise<T>): Promise<T> {
    const next = this.chain.then(step, step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The brokers replicas may be placed on: a single node has only itself. */
  protected registeredBrokerIds(): number[] {
    return [this.config.nodeId];
  }

  /**
   * Checks a creation without doing it (also the first step of doing it). `replicasByPartition` is the manual
   * assignment when the request gave one, else null (the service chooses).
   */
  validateCreate(
    spec: CreateTopicSpec,
  ): { ok: true; partitions: number; configs: Map<string, string>; replicasByPartition: number[][] | null } | { ok: false; error: TopicErrorName; message: string } {
    const nameProblem = validateTopicName(spec.name);
    if (nameProblem) return { ok: false, error: 'INVALID_TOPIC_EXCEPTION', message: nameProblem };
    if (this.catalogue.getTopic(spec.name!)) {
      return { ok: false, error: 'TOPIC_ALREADY_EXISTS', message: `topic "${spec.name}" already exists` };
    }
    const brokerIds = this.registeredBrokerIds();
    let partitions: number;
    let replicasByPartition: number[][] | null = null;
    if ((spec.assignments?.length ?? 0) > 0) {
      const assigned = checkReplicaAssignments(spec.assignments!, spec.numPartitions, spec.replicationFactor, brokerIds);
      if (!assigned.ok) return assigned;
      replicasByPartition = assigned.replicasByPartition;
      partitions = replicasByPartition.length;
    } else {
      partitions = spec.numPartitions === -1 ? this.config.defaultPartitions : spec.numPartitions;
      const rf = replicationFactorOf(spec, this.config.defaultReplicationFactor);
      if (!Number.isInteger(rf) || rf < 1 || rf > brokerIds.length) {
        return { ok: false, error: 'INVALID_REPLICATION_FACTOR', message: `replication factor ${rf} is not possible with ${brokerIds.length} registered broker(s)` };
      }
    }
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS_PER_TOPIC) {
      return { ok: false, error: 'INVALID_PARTITIONS', message: `numPartitions must be in 1..${MAX_PARTITIONS_PER_TOPIC} (or -1 for the default), got ${partitions}` };
    }
    const configs = new Map<string, string>();
    for (const c of spec.configs) {
      const problem = validateTopicConfig(c.name, c.value);
      if (problem) return { ok: false, error: 'INVALID_CONFIG', message: problem };
      if (c.value !== null) configs.set(c.name, c.value.trim());
    }
    return { ok: true, partitions, configs, replicasByPartition };
  }

  createTopic(spec: CreateTopicSpec): Promise<TopicResult> {
    return this.serialised(async () => {
      const checked = this.validateCreate(spec);
      if (!checked.ok) return checked;
      const created = this.catalogue.createTopic(spec.name!, checked.partitions, checked.configs, Date.now());
      if (!created.ok) return { ok: false, error: 'TOPIC_ALREADY_EXISTS', message: `topic "${spec.name}" already exists` };
      try {
        await this.partitions.addPartitions(created.topic);
      } catch (err) {
        this.logger.error({ err, topic: spec.name }, 'could not create partition logs; rolling back the topic');
        this.catalogue.deleteTopic(spec.name!);
        await this.partitions.deleteTopic(spec.name!).catch(() => undefined);
        return { ok: false, error: 'UNKNOWN_SERVER_ERROR', message: `could not create partition storage: ${(err as Error).message}` };
      }
      this.logger.info({ topic: spec.name, partitions: checked.partitions }, 'topic created');
      return { ok: true, topic: created.topic };
    });
  }

  /** Auto-creation on Metadata/Produce: uses the broker defaults. Returns the topic if it exists afterwards. */
  async ensureTopic(name: string): Promise<TopicRecord | undefined> {
    const existing = this.catalogue.getTopic(name);
    if (existing) return existing;
    const r = await this.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: null, configs: [] });
    return r.ok ? r.topic : this.catalogue.getTopic(name);
  }

  deleteTopic(name: string): Promise<TopicResult> {
    return this.serialised(async () => {
      const topic = this.catalogue.getTopic(name);
      if (!topic) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic "${name}" does not exist` };
      this.catalogue.deleteTopic(name);
      await this.partitions.deleteTopic(name);
      for (const listener of this.deleteListeners) {
        try {
          await listener(name);
        } catch (err) {
          this.logger.error({ err, topic: name }, 'topic deletion listener failed');
        }
      }
      this.logger.info({ topic: name }, 'topic deleted');
      return { ok: true, topic };
    });
  }

  /** Checks that a topic may grow to `count` partitions (nothing is changed yet). */
  protected checkPartitionIncrease(name: string, count: number, hasAssignments: boolean): TopicResult {
    const topic = this.catalogue.getTopic(name);
    if (!topic) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic "${name}" does not exist` };
    if (hasAssignments) return { ok: false, error: 'INVALID_REPLICA_ASSIGNMENT', message: 'manual replica assignment is not supported' };
    if (count <= topic.partitionCount) {
      return { ok: false, error: 'INVALID_PARTITIONS', message: `topic "${name}" has ${topic.partitionCount} partitions; the new count ${count} must be larger` };
    }
    if (count > MAX_PARTITIONS_PER_TOPIC) return { ok: false, error: 'INVALID_PARTITIONS', message: `at most ${MAX_PARTITIONS_PER_TOPIC} partitions per topic` };
    return { ok: true, topic };
  }

  createPartitions(name: string, count: number, hasAssignments: boolean, validateOnly: boolean): Promise<TopicResult> {
    return this.serialised(async () => {
      const checked = this.checkPartitionIncrease(name, count, hasAssignments);
      if (!checked.ok || validateOnly) return checked;
      const updated = this.catalogue.setPartitionCount(name, count);
      try {
        await this.partitions.addPartitions(updated);
      } catch (err) {
        this.logger.error({ err, topic: name }, 'could not create partition logs; keeping the old partition count');
        this.catalogue.setPartitionCount(name, checked.topic.partitionCount);
        return { ok: false, error: 'UNKNOWN_SERVER_ERROR', message: `could not create partition storage: ${(err as Error).message}` };
      }
      return { ok: true, topic: updated };
    });
  }

  /** The topic's explicit configs after `edit`, validated; nothing is changed yet. */
  protected editConfigs(
    name: string,
    edit: ConfigEdit,
  ): { ok: true; topic: TopicRecord; configs: Map<string, string> } | { ok: false; error: TopicErrorName; message: string } {
    const topic = this.catalogue.getTopic(name);
    if (!topic) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic "${name}" does not exist` };
    const edited = edit(topic.configs);
    if (!edited.ok) return edited;
    for (const [k, v] of edited.configs) {
      const problem = validateTopicConfig(k, v);
      if (problem) return { ok: false, error: 'INVALID_CONFIG', message: problem };
    }
    return { ok: true, topic, configs: edited.configs };
  }

  /** Replaces or edits a topic's configs. `edit` receives the current explicit configs and returns the new set or an error. */
  alterConfigs(name: string, edit: ConfigEdit, validateOnly: boolean): Promise<TopicResult> {
    return this.serialised(async () => {
      const edited = this.editConfigs(name, edit);
      if (!edited.ok) return edited;
      const topic = edited.topic;
      if (validateOnly) return { ok: true, topic };
      const updated = this.catalogue.replaceTopicConfigs(name, edited.configs);
      try {
        await this.partitions.reconfigure(updated);
      } catch (err) {
        this.logger.error({ err, topic: name }, 'could not reopen partition logs with the new configs');
        return { ok: false, error: 'KAFKA_STORAGE_ERROR', message: `configs saved, but reopening the logs failed: ${(err as Error).message}` };
      }
      return { ok: true, topic: updated };
    });
  }
}
