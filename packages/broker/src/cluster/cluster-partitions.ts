// The partition registry of a cluster-mode broker: hosts a RaftPartition for every partition the metadata group
// assigns to this node (reconciled after each metadata apply and at start), reports partition leaders to the
// metadata group, and serves them to the handlers through the PartitionRegistry surface.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { nodeId as nodeIdOf, raftGroupId, Role, type RaftGroupId } from '@tributary/raft';
import type { BrokerConfig } from '../config.js';
import { PartitionRegistry } from '../partitions/partition-registry.js';
import type { LocalPartition } from '../partitions/local-partition.js';
import type { OpenStorageLog } from '../partitions/storage-log.js';
import { METADATA_RAFT_GROUP, type ClusterNode } from './cluster-node.js';
import type { ClusterTopic } from './metadata-store.js';
import { RaftPartition } from './raft-partition.js';
import { LeadershipService } from './leadership-service.js';

/**
 * Handlers read partitions through PartitionRegistry.get, typed as the concrete LocalPartition. RaftPartition has
 * every public member of LocalPartition (checked below at compile time), so handing it out under that type is
 * structurally sound until the registry is typed by an interface (see README).
 */
type PublicSurface<T> = { [K in keyof T]: T[K] };
const asHandlerPartition = (p: RaftPartition): LocalPartition => {
  const surface: PublicSurface<LocalPartition> = p;
  return surface as LocalPartition;
};

export class ClusterPartitionRegistry extends PartitionRegistry {
  private readonly hosted = new Map<string, RaftPartition[]>();
  private readonly byGroup = new Map<number, RaftPartition>();
  private node: ClusterNode | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private stopped = false;
  /** ISR, preferred-leader election and balancing (set once attached to the cluster node). */
  leadership: LeadershipService | undefined;

  constructor(
    private readonly clusterConfig: BrokerConfig,
    private readonly openStorage: OpenStorageLog,
    private readonly clusterLogger: Logger,
    private readonly onFatal: (err: Error) => void,
  ) {
    super(clusterConfig, openStorage, clusterLogger);
  }

  /** Starts hosting this node's partitions and follows later assignments. */
  async attach(node: ClusterNode): Promise<void> {
    this.node = node;
    this.leadership = new LeadershipService(node, this, this.clusterConfig, this.clusterLogger.child({ component: 'leadership' }));
    this.leadership.start();
    node.store.onApplied(() => this.scheduleReconcile());
    this.scheduleReconcile();
    await this.reconciling;
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.stopped) return;
    this.reconcileQueued = true;
    this.reconciling = this.reconciling.then(async () => {
      this.reconcileQueued = false;
      try {
        await this.reconcile();
      } catch (err) {
        this.clusterLogger.error({ err }, 'partition reconcile failed');
      }
    });
  }

  private raftPartitionDir(topic: string, partition: number, raftGroup: number): string {
    // Named by Raft group id too: a topic re-created under the same name never meets the old data.
    return join(this.clusterConfig.dataDir, 'partitions', `g${raftGroup}-${topic}-${partition}`);
  }

  private async reconcile(): Promise<void> {
    const node = this.node!;
    const self = node.selfId as number;
    const topics = node.store.listTopics();
    const live = new Set<number>();
    for (const topic of topics) {
      for (const a of topic.assignments) {
        live.add(a.raftGroup);
        if (!a.replicas.includes(self) || this.byGroup.has(a.raftGroup) || this.stopped) continue;
        await this.hostPartition(topic, a.partition, a.raftGroup, a.replicas);
      }
    }
    // Deleted topics: close their logs and drop the data (the Raft group stays registered in the host until restart:
    // RaftHost has no removeGroup yet; its entries are then ignored).
    for (const [group, p] of [...this.byGroup]) {
      if (live.has(group)) continue;
      this.byGroup.delete(group);
      const list = this.hosted.get(p.topic);
      if (list) {
        const rest = list.filter((x) => x !== p);
        if (rest.length === 0) this.hosted.delete(p.topic);
        else this.hosted.set(p.topic, rest);
      }
      await p.delete().catch((err: unknown) => this.clusterLogger.warn({ err, topic: p.topic }, 'deleting partition data failed'));
    }
  }

  private async hostPartition(topic: ClusterTopic, partition: number, group: number, replicas: readonly number[]): Promise<void> {
    const node = this.node!;
    const dir = this.raftPartitionDir(topic.name, partition, group);
    const log = await this.openStorage(dir, this.logConfigFor(topic));
    let recovered;
    try {
      recovered = await RaftPartition.recover(log);
    } catch (err) {
      await log.close();
      throw err;
    }
    const p = new RaftPartition(topic.name, partition, raftGroupId(group), log, node.host, recovered, this.clusterLogger.child({ topic: topic.name, partition }), this.onFatal);
    node.hostGroup(raftGroupId(group), replicas, {
      apply: (entries) => p.apply(entries),
      restore: (snap) => p.restore(snap),
      snapshotData: () => p.snapshotData(),
      onLeaderChange: (leaderId, term, role) => {
        if (role === Role.Leader) void this.reportLeader(p, leaderId, term);
      },
    });
    this.byGroup.set(group, p);
    const list = this.hosted.get(topic.name) ?? [];
    list[partition] = p;
    this.hosted.set(topic.name, list);
    this.clusterLogger.info({ topic: topic.name, partition, raftGroup: group, replicas, batchesInLog: recovered.batches.length }, 'hosting partition replica');
  }

  /** Records a new partition leader in the metadata group (for brokers that do not host the partition). */
  private async reportLeader(p: RaftPartition, leaderId: number, term: number): Promise<void> {
    const node = this.node;
    if (!node || this.stopped) return;
    const r = await node.propose({ kind: 'partitionLeader', topic: p.topic, partition: p.partition, raftGroup: p.raftGroup, leaderId, term }, 10_000);
    if (r.kind === 'unavailable') this.clusterLogger.warn({ topic: p.topic, partition: p.partition, reason: r.reason }, 'could not record the partition leader');
  }

  /**
   * Graceful shutdown, first step: hands every Raft group this node leads (partitions and the metadata group) to
   * the most caught-up other voter, and waits (bounded) until it leads none, so clients see a new leader instead
   * of an election timeout. Returns how many groups it led and how many it still leads.
   */
  async transferLeadershipAway(timeoutMs: number): Promise<{ led: number; stillLeading: number }> {
    const node = this.node;
    if (!node) return { led: 0, stillLeading: 0 };
    await this.leadership?.announceShutdown();
    const groups = [...this.byGroup.values()].map((p) => p.raftGroup as RaftGroupId);
    groups.push(METADATA_RAFT_GROUP);
    const leading = (): RaftGroupId[] => groups.filter((g) => node.host.group(g)?.role === Role.Leader);
    const led = leading();
    for (const g of led) {
      const raft = node.host.group(g)!;
      let best = 0;
      let bestMatch = -1;
      for (const [peer, pr] of raft.progress()) {
        if (peer !== node.selfId && raft.conf.voters.includes(peer) && pr.match > bestMatch) {
          best = peer;
          bestMatch = pr.match;
        }
      }
      if (best !== 0) node.host.transferLeadership(g, nodeIdOf(best));
    }
    const deadline = Date.now() + timeoutMs;
    while (leading().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const stillLeading = leading().length;
    this.clusterLogger.info({ led: led.length, stillLeading }, 'leadership transferred away for shutdown');
    return { led: led.length, stillLeading };
  }

  /** Every partition replica this node hosts (any role). */
  hostedReplicas(): Iterable<RaftPartition> {
    return this.byGroup.values();
  }

  /** This node's replica of a partition (any role), for Metadata. */
  replica(topic: string, partition: number): RaftPartition | undefined {
    return this.hosted.get(topic)?.[partition];
  }

  override get(topic: string, partition: number): LocalPartition | undefined {
    const p = this.hosted.get(topic)?.[partition];
    return p === undefined ? undefined : asHandlerPartition(p);
  }

  override partitionsOf(topic: string): readonly LocalPartition[] {
    return (this.hosted.get(topic) ?? []).filter((p) => p !== undefined).map(asHandlerPartition);
  }

  override *partitionSizes(): Iterable<{ topic: string; partition: number; sizeBytes: number }> {
    for (const p of this.byGroup.values()) yield { topic: p.topic, partition: p.partition, sizeBytes: p.sizeBytes };
  }

  /** Stops the Raft host first (no apply may touch a closed log), then closes every partition log. */
  override async closeAll(): Promise<void> {
    this.stopped = true;
    this.leadership?.stop();
    await this.node?.closeHost();
    await this.reconciling;
    const all = [...this.byGroup.values()];
    this.byGroup.clear();
    this.hosted.clear();
    await Promise.all(all.map((p) => p.close().catch((err: unknown) => this.clusterLogger.error({ err, topic: p.topic }, 'close failed'))));
    await super.closeAll();
  }
}
