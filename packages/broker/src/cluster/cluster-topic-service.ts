// Topic administration in cluster mode: every change is a command of the metadata Raft group (forwarded to its
// leader from any broker), with replicas assigned across the registered brokers. Each broker starts its partition
// replicas when it applies the assignment (ClusterPartitionRegistry), so this service never opens logs itself.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config.js';
import type { TopicRecord } from '../catalogue/catalogue.js';
import type { PartitionRegistry } from '../partitions/partition-registry.js';
import { TopicService, replicationFactorOf, type ConfigEdit, type CreateTopicSpec, type TopicErrorName, type TopicResult } from '../topic-service.js';
import type { KafkaErrorName } from '../handlers/error-codes.js';
import { assignReplicas, type MetadataCommand } from './metadata-commands.js';
import type { ReplicatedCatalogue } from './replicated-catalogue.js';
import { isReassigning } from './reassignment-plan.js';

const METADATA_WRITE_TIMEOUT_MS = 10_000;
/**
 * Retriable answer when the metadata group has no reachable leader within the timeout. TopicErrorName (owned by
 * the broker's topic service) does not list it yet; the handlers map any Kafka error name, so this is safe.
 */
const METADATA_UNAVAILABLE = 'REQUEST_TIMED_OUT' satisfies KafkaErrorName as TopicErrorName;

export class ClusterTopicService extends TopicService {
  constructor(
    private readonly clusterConfig: BrokerConfig,
    private readonly replicated: ReplicatedCatalogue,
    partitions: PartitionRegistry,
    private readonly clusterLogger: Logger,
  ) {
    super(clusterConfig, replicated, partitions, clusterLogger);
  }

  protected override registeredBrokerIds(): number[] {
    return this.replicated.brokers().map((b) => b.nodeId);
  }

  /** Where new replicas go: registered brokers not fenced in the metadata group (Kafka's rule). */
  private unfencedBrokerIds(): number[] {
    const store = this.replicated.node.store;
    return this.registeredBrokerIds().filter((id) => !store.isFenced(id));
  }

  private async run(command: MetadataCommand, name: string): Promise<TopicResult> {
    const outcome = await this.replicated.node.propose(command, METADATA_WRITE_TIMEOUT_MS);
    if (outcome.kind === 'unavailable') {
      return { ok: false, error: METADATA_UNAVAILABLE, message: `metadata group unavailable: ${outcome.reason}` };
    }
    const r = outcome.result;
    if (!r.ok) {
      const error: TopicErrorName = r.error === 'exists' ? 'TOPIC_ALREADY_EXISTS' : r.error === 'unknownTopic' ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'UNKNOWN_SERVER_ERROR';
      return { ok: false, error, message: r.message };
    }
    // Applied on the leader; this node's copy may still be behind it. Wait (bounded) until it has the change.
    const topic = await this.waitForLocal(name, command.kind === 'deleteTopic');
    if (command.kind === 'deleteTopic') return { ok: true, topic: topic ?? this.deletedPlaceholder(name) };
    if (topic === undefined) return { ok: false, error: METADATA_UNAVAILABLE, message: `topic "${name}" not yet visible on this broker` };
    return { ok: true, topic };
  }

  private deletedPlaceholder(name: string): TopicRecord {
    return { name, topicId: Buffer.alloc(16) as TopicRecord['topicId'], partitionCount: 0, configs: new Map(), createdMs: 0 };
  }

  private async waitForLocal(name: string, gone: boolean): Promise<TopicRecord | undefined> {
    const deadline = Date.now() + METADATA_WRITE_TIMEOUT_MS;
    const before = this.replicated.node.store.appliedIndex;
    for (;;) {
      const t = this.replicated.getTopic(name);
      if (gone ? t === undefined : t !== undefined && this.replicated.node.store.appliedIndex >= before) return t;
      if (Date.now() > deadline) return t;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  override createTopic(spec: CreateTopicSpec): Promise<TopicResult> {
    return this.serialised(async () => {
      const checked = this.validateCreate(spec);
      if (!checked.ok) return checked;
      const rf = replicationFactorOf(spec, this.clusterConfig.defaultReplicationFactor);
      const ids = this.unfencedBrokerIds();
      if (checked.replicasByPartition === null && rf > ids.length) {
        return { ok: false, error: 'INVALID_REPLICATION_FACTOR', message: `replication factor ${rf} is not possible with ${ids.length} unfenced broker(s) (${this.registeredBrokerIds().length} registered)` };
      }
      const start = Math.floor(Math.random() * ids.length);
      const replicas = checked.replicasByPartition ?? assignReplicas(ids, 0, checked.partitions, rf, start);
      const command: MetadataCommand = {
        kind: 'createTopic',
        name: spec.name!,
        topicIdHex: randomUUID().replace(/-/g, ''),
        createdMs: Date.now(),
        configs: [...checked.configs],
        replicas,
      };
      const r = await this.run(command, spec.name!);
      if (r.ok) this.clusterLogger.info({ topic: spec.name, partitions: checked.partitions, replicas, manualAssignment: checked.replicasByPartition !== null }, 'topic created in the metadata group');
      return r;
    });
  }

  override deleteTopic(name: string): Promise<TopicResult> {
    return this.serialised(async () => {
      const topic = this.replicated.getTopic(name);
      if (!topic) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic "${name}" does not exist` };
      const r = await this.run({ kind: 'deleteTopic', name }, name);
      return r.ok ? { ok: true, topic } : r;
    });
  }

  override createPartitions(name: string, count: number, hasAssignments: boolean, validateOnly: boolean): Promise<TopicResult> {
    return this.serialised(async () => {
      const checked = this.checkPartitionIncrease(name, count, hasAssignments);
      if (!checked.ok || validateOnly) return checked;
      const topic = this.replicated.getTopic(name);
      if (!topic) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic "${name}" does not exist` };
      const rf = topic.assignments[0]?.replicas.length ?? 1;
      const ids = this.unfencedBrokerIds();
      if (rf > ids.length) return { ok: false, error: 'INVALID_REPLICATION_FACTOR', message: `replication factor ${rf} with ${ids.length} unfenced broker(s)` };
      const replicas = assignReplicas(ids, topic.partitionCount, count - topic.partitionCount, rf, Math.floor(Math.random() * ids.length));
      const outcome = await this.replicated.node.propose({ kind: 'addPartitions', name, replicas }, METADATA_WRITE_TIMEOUT_MS);
      if (outcome.kind === 'unavailable') return { ok: false, error: METADATA_UNAVAILABLE, message: `metadata group unavailable: ${outcome.reason}` };
      if (!outcome.result.ok) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: outcome.result.message };
      const deadline = Date.now() + METADATA_WRITE_TIMEOUT_MS;
      while ((this.replicated.getTopic(name)?.partitionCount ?? 0) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return { ok: true, topic: this.replicated.getTopic(name) ?? topic };
    });
  }

  /**
   * AlterPartitionReassignments for one partition: a new target, or `null` to cancel (validated when the metadata
   * group applies it). Returns once this broker's copy of the catalogue shows the change (bounded), so a
   * ListPartitionReassignments sent here next sees it.
   */
  async alterReassignment(topic: string, partition: number, target: readonly number[] | null): Promise<{ ok: true } | { ok: false; error: KafkaErrorName; message: string }> {
    const outcome = await this.replicated.node.propose({ kind: 'alterReassignment', topic, partition, target }, METADATA_WRITE_TIMEOUT_MS);
    if (outcome.kind === 'unavailable') return { ok: false, error: 'REQUEST_TIMED_OUT', message: `metadata group unavailable: ${outcome.reason}` };
    const r = outcome.result;
    if (!r.ok) {
      const error: KafkaErrorName =
        r.error === 'unknownTopic' ? 'UNKNOWN_TOPIC_OR_PARTITION'
        : r.error === 'invalidReplicaAssignment' ? 'INVALID_REPLICA_ASSIGNMENT'
        : r.error === 'noReassignmentInProgress' ? 'NO_REASSIGNMENT_IN_PROGRESS'
        : 'UNKNOWN_SERVER_ERROR';
      return { ok: false, error, message: r.message };
    }
    const deadline = Date.now() + METADATA_WRITE_TIMEOUT_MS;
    const visible = (): boolean => {
      const a = this.replicated.getTopic(topic)?.assignments[partition];
      if (a === undefined) return true; // deleted meanwhile: nothing to wait for
      return target === null ? a.addingReplicas.length === 0 : isReassigning(a) || JSON.stringify(a.replicas) === JSON.stringify(target);
    };
    while (!visible() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    return { ok: true };
  }

  override alterConfigs(name: string, edit: ConfigEdit, validateOnly: boolean): Promise<TopicResult> {
    return this.serialised(async () => {
      const edited = this.editConfigs(name, edit);
      if (!edited.ok) return edited;
      const topic = edited.topic;
      if (validateOnly) return { ok: true, topic };
      const outcome = await this.replicated.node.propose({ kind: 'replaceTopicConfigs', name, configs: [...edited.configs] }, METADATA_WRITE_TIMEOUT_MS);
      if (outcome.kind === 'unavailable') return { ok: false, error: METADATA_UNAVAILABLE, message: `metadata group unavailable: ${outcome.reason}` };
      if (!outcome.result.ok) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: outcome.result.message };
      return { ok: true, topic: this.replicated.getTopic(name) ?? topic };
    });
  }
}
