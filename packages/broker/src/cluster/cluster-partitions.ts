// The partition registry of a cluster-mode broker: hosts a RaftPartition for every partition the metadata group
// assigns to this node (reconciled after each metadata apply and at start), reports partition leaders to the
// metadata group, and serves them to the handlers through the PartitionRegistry surface. With snapshots on, each
// replica registers a PartitionSnapshotSource, can restore its state from the object store (InstallSnapshot), and a
// replica hosted with an empty directory and no Raft state (a wiped node) is bootstrapped from the newest snapshot
// before it is hosted, its Raft group starting at the snapshot's index (the leader then sends only the tail).
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { nodeId as nodeIdOf, raftGroupId, Role, type RaftGroupId } from '@tributary/raft';
import { Semaphore } from '@tributary/snapshot';
import type { BrokerConfig } from '../config.js';
import { PartitionRegistry } from '../partitions/partition-registry.js';
import type { LocalPartition } from '../partitions/local-partition.js';
import type { OpenStorageLog } from '../partitions/storage-log.js';
import { METADATA_RAFT_GROUP, type ClusterNode } from './cluster-node.js';
import type { ClusterTopic } from './metadata-store.js';
import { RaftPartition } from './raft-partition.js';
import { LeadershipService } from './leadership-service.js';
import { ReassignmentDriver } from './reassignment-driver.js';
import { isReassigning } from './reassignment-plan.js';
import { PartitionCheckpointWriter, readCheckpoint } from './snapshots/partition-checkpoint.js';
import { removeStaleStaging, stageNewest, StoreRestorer, swapIn, type PartitionSnapshotServices } from './snapshots/partition-restore.js';
import { PartitionSnapshotSource } from './snapshots/partition-snapshot-source.js';
import { encodeSnapshotReference } from './snapshots/snapshot-reference.js';
import { snapshotGroupOf } from './snapshots/snapshot-service.js';

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

/** How long a retention pass waits for one partition's commands to commit and apply before moving on. */
const RETENTION_WAIT_PER_PARTITION_MS = 10_000;

async function isEmptyDirectory(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

export class ClusterPartitionRegistry extends PartitionRegistry {
  private readonly hosted = new Map<string, RaftPartition[]>();
  private readonly byGroup = new Map<number, RaftPartition>();
  private node: ClusterNode | undefined;
  private snapshots: PartitionSnapshotServices | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private stopped = false;
  /** Per Raft group: the log configs (JSON) its log was last opened with, to notice topic config changes. */
  private readonly openedWith = new Map<number, string>();
  /** The start-time sweep of deleted partitions' leftovers has run (see forgetDeletedGroups). */
  private deletedGroupsForgotten = false;
  /** A retention pass is running (the timer does not start another meanwhile). */
  private clusterRetentionRunning = false;
  /** ISR, preferred-leader election and balancing (set once attached to the cluster node). */
  leadership: LeadershipService | undefined;
  /** Moves replicas of the partitions this node leads (AlterPartitionReassignments; set once attached). */
  private reassignments: ReassignmentDriver | undefined;

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
    this.snapshots = node.snapshots;
    this.leadership = new LeadershipService(node, this, this.clusterConfig, this.clusterLogger.child({ component: 'leadership' }));
    this.leadership.start();
    this.reassignments = new ReassignmentDriver(node, this, this.clusterLogger.child({ component: 'reassignment' }));
    this.reassignments.start();
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
    // Groups assigned to this node. During a reassignment `replicas` is the union (target and leaving replicas), so a
    // leaving replica keeps hosting until the move completes; then it stops below like a deleted topic's replica.
    const live = new Set<number>();
    const toHost: (() => Promise<void>)[] = [];
    for (const topic of topics) {
      for (const a of topic.assignments) {
        if (!a.replicas.includes(self)) continue;
        live.add(a.raftGroup);
        if (this.byGroup.has(a.raftGroup) || this.stopped) continue;
        // The first configuration of a group with no Raft state here. During a move this replica starts outside it
        // (it must not campaign: it may be joining, or leaving after a cancel), the leader adds it as a learner if it
        // belongs, and the configuration entries or snapshot it then receives carry the whole membership.
        const voters = isReassigning(a) ? a.replicas.filter((r) => r !== self && !a.addingReplicas.includes(r)) : a.replicas;
        toHost.push(() => this.hostPartition(topic, a.partition, a.raftGroup, a.replicas, voters));
      }
    }
    // In parallel with a bound: a wiped node bootstraps many partitions from the object store before hosting them.
    const slots = new Semaphore(Math.max(1, this.snapshots?.bootstrapConcurrency ?? 1));
    const hosted = await Promise.allSettled(toHost.map((host) => slots.run(() => (this.stopped ? Promise.resolve() : host()))));
    for (const r of hosted) if (r.status === 'rejected') this.clusterLogger.error({ err: r.reason as unknown }, 'hosting a partition replica failed');
    if (!this.deletedGroupsForgotten && !this.stopped) {
      this.deletedGroupsForgotten = true;
      await this.forgetDeletedGroups(live);
    }
    await this.reconfigureChanged();
    // Deleted topics and replicas moved away: stop their Raft groups first (no apply may touch a log being deleted;
    // the WAL forgets them, so they do not come back at restart), then close their logs and drop the data.
    for (const [group, p] of [...this.byGroup]) {
      if (live.has(group)) continue;
      if (node.store.getTopic(p.topic) !== undefined) this.clusterLogger.info({ topic: p.topic, partition: p.partition, raftGroup: group }, 'partition replica moved away from this broker: no longer hosted, local data deleted');
      this.byGroup.delete(group);
      await node.host.removeGroup(raftGroupId(group));
      this.openedWith.delete(group);
      this.snapshots?.unregister(group);
      // The list is indexed by partition: clear the slot (a replica moved away leaves the topic's other partitions
      // where they are), and forget the topic once no partition of it is hosted here.
      const list = this.hosted.get(p.topic);
      if (list !== undefined && list[p.partition] === p) {
        delete list[p.partition];
        if (!list.some((x) => x !== undefined)) this.hosted.delete(p.topic);
      }
      await p.delete().catch((err: unknown) => this.clusterLogger.warn({ err, topic: p.topic }, 'deleting partition data failed'));
    }
  }

  /**
   * Config changes (AlterConfigs / IncrementalAlterConfigs, applied from the metadata group): every hosted replica
   * whose topic's log configs differ from those its log was opened with reopens it (RaftPartition.replaceLog; the
   * content is unchanged, segment size/age apply from then on). Replicas apply the change at different points of
   * their logs, so segment boundaries may differ between replicas; the records and offsets do not.
   */
  private async reconfigureChanged(): Promise<void> {
    const node = this.node!;
    for (const [group, p] of [...this.byGroup]) {
      const topic = node.store.getTopic(p.topic);
      if (topic === undefined || this.stopped) continue;
      const config = this.logConfigFor(topic);
      if (JSON.stringify(config) === this.openedWith.get(group)) continue;
      const dir = this.raftPartitionDir(p.topic, p.partition, group);
      try {
        await p.replaceLog(async (old) => {
          await old.close();
          this.openedWith.set(group, JSON.stringify(config));
          return this.openStorage(dir, config);
        });
        this.clusterLogger.info({ topic: p.topic, partition: p.partition, segmentBytesMax: config.segmentBytesMax, segmentMsMax: config.segmentMsMax }, 'partition log reopened with new topic configs');
      } catch (err) {
        this.clusterLogger.error({ err, topic: p.topic, partition: p.partition }, 'reopening a partition log with new configs failed');
      }
    }
  }

  /**
   * Once per start: the WAL state and partition directories of groups no topic has any more (topics deleted while
   * this node was down). Safe because joining waited for this node's registration to apply, so the catalogue holds
   * every topic whose group this node ever hosted unless it was deleted.
   */
  private async forgetDeletedGroups(live: ReadonlySet<number>): Promise<void> {
    const node = this.node!;
    for (const id of node.raftGroupsOnDisk()) {
      if (id === METADATA_RAFT_GROUP || live.has(id) || this.byGroup.has(id)) continue;
      node.forgetGroup(id);
      this.clusterLogger.info({ raftGroup: id }, 'forgot the Raft state of a deleted partition');
    }
    const root = join(this.clusterConfig.dataDir, 'partitions');
    const names = await readdir(root).catch(() => [] as string[]);
    for (const name of names) {
      const group = /^g(\d+)-/.exec(name)?.[1];
      if (group === undefined || live.has(Number(group))) continue;
      await rm(join(root, name), { recursive: true, force: true });
      this.clusterLogger.info({ dir: name }, 'deleted the data of a deleted partition');
    }
  }

  private async hostPartition(topic: ClusterTopic, partition: number, group: number, replicas: readonly number[], voters: readonly number[]): Promise<void> {
    const node = this.node!;
    const snapshots = this.snapshots;
    const dir = this.raftPartitionDir(topic.name, partition, group);
    const logger = this.clusterLogger.child({ topic: topic.name, partition });
    let bootstrapped: { index: number; term: number; image: Uint8Array } | null = null;
    if (snapshots !== undefined) {
      await removeStaleStaging(dir);
      if (!node.hasRaftState(raftGroupId(group)) && (await isEmptyDirectory(dir))) {
        bootstrapped = await snapshots.trackRestore(group, this.bootstrapFromStore(dir, group, replicas, logger));
      }
    }
    // The topic's configs as they are when (re)opened: a restore after a config change uses the new ones.
    const openLog = () => {
      const config = this.logConfigFor(node.store.getTopic(topic.name) ?? topic);
      this.openedWith.set(group, JSON.stringify(config));
      return this.openStorage(dir, config);
    };
    const log = await openLog();
    let recovered;
    try {
      // read even with snapshots off: a log compacted by an earlier run with snapshots on starts at its checkpoint
      recovered = await RaftPartition.recover(log, await readCheckpoint(dir));
    } catch (err) {
      await log.close();
      throw err;
    }
    const p = new RaftPartition(topic.name, partition, raftGroupId(group), log, node.host, recovered, logger, this.onFatal);
    p.setCheckpointWriter(new PartitionCheckpointWriter(dir));
    if (snapshots !== undefined) {
      const snapshotGroup = snapshotGroupOf(group);
      const self = node.selfId as number;
      p.setRestorer(new StoreRestorer({
        raftGroup: group, snapshotGroup, dir, services: snapshots, logger,
        // the referenced node's prefix is tried first by the restorer; this node's own prefix last
        replicas: () => [...replicas.filter((r) => r !== self), self],
      }, openLog));
      if (bootstrapped !== null) p.setRaftImage(bootstrapped.index, bootstrapped.image);
    }
    node.hostGroup(raftGroupId(group), voters, {
      apply: (entries) => p.apply(entries),
      restore: (snap) => p.restore(snap),
      snapshotData: (meta) => p.snapshotData(meta),
      onLeaderChange: (leaderId, term, role) => {
        p.leadershipChanged(role);
        if (role === Role.Leader) void this.reportLeader(p, leaderId, term);
      },
    }, bootstrapped === null ? undefined : { index: bootstrapped.index, term: bootstrapped.term });
    if (snapshots !== undefined) {
      snapshots.register(new PartitionSnapshotSource({
        raftGroupId: snapshotGroupOf(group),
        partition: p,
        dir,
        ownWriter: snapshots.writer,
        membership: () => Buffer.from(JSON.stringify(node.host.group(raftGroupId(group))?.conf ?? { voters: replicas, learners: [] })),
        raftLogSpan: () => {
          const raft = node.host.group(raftGroupId(group));
          return raft === undefined ? undefined : { firstIndex: raft.firstIndex, lastIndex: raft.lastIndex };
        },
      }));
    }
    this.byGroup.set(group, p);
    const list = this.hosted.get(topic.name) ?? [];
    list[partition] = p;
    this.hosted.set(topic.name, list);
    logger.info({ raftGroup: group, replicas, batchesInLog: recovered.batches.length, checkpointIndex: recovered.checkpoint?.raftIndex ?? 0 }, 'hosting partition replica');
  }

  /**
   * A replica with no local state at all (a wiped node, or a partition new to this node): restore the newest
   * snapshot from any replica's prefix (own first) before hosting. Null when there is none (a new partition) or the
   * store is unreachable (then the leader brings the replica up: log entries or InstallSnapshot, restored later).
   */
  private async bootstrapFromStore(dir: string, group: number, replicas: readonly number[], logger: Logger): Promise<{ index: number; term: number; image: Uint8Array } | null> {
    const snapshots = this.snapshots!;
    const self = this.node!.selfId as number;
    const startedAtMs = Date.now();
    const snapshotGroup = snapshotGroupOf(group);
    let staged;
    try {
      // Newest first across the replicas' prefixes (own first on a tie): the closer the restored index is to the
      // group's log end, the less the leader sends, and a replica restored at or past the match index the leader
      // still remembers for it is accepted at once (Raft never lowers a follower's match).
      const newest = new Map<number, number>();
      for (const r of replicas) newest.set(r, (await snapshots.repositoryOfNode(r).list(snapshotGroup)).at(-1)?.index ?? -1);
      const order = [self, ...replicas.filter((r) => r !== self)].filter((r) => newest.get(r)! >= 0).sort((a, b) => newest.get(b)! - newest.get(a)!);
      if (order.length === 0) return null;
      staged = await stageNewest({ raftGroup: group, snapshotGroup, dir, services: snapshots, logger, replicas: () => replicas }, order, 0);
    } catch (err) {
      logger.warn({ err, raftGroup: group }, 'bootstrap from the object store failed; the leader will bring the replica up');
      snapshots.metricsHook.bootstrapFailed?.(snapshotGroup, err);
      return null;
    }
    if (staged === null) return null;
    await swapIn({ dir: staged.stagingDir }, dir);
    const durationMs = Date.now() - startedAtMs;
    snapshots.metricsHook.bootstrapCompleted?.({ raftGroupId: snapshotGroup, index: staged.raftIndex as never, term: staged.raftTerm as never, durationMs, snapshotsSkipped: 0 });
    logger.info({ raftGroup: group, raftIndex: staged.raftIndex, raftTerm: staged.raftTerm, fromNode: staged.nodeId, durationMs }, 'bootstrapped partition from snapshot');
    return { index: staged.raftIndex, term: staged.raftTerm, image: encodeSnapshotReference({ writer: staged.writer, index: staged.raftIndex, term: staged.raftTerm }) };
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
    this.reassignments?.stop();
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

  /**
   * The retention pass over the replicas hosted here, one at a time: each leader proposes its log-start and
   * producer-expiry commands (RaftPartition.applyRetention); followers do nothing (they apply the commands).
   */
  override async runRetention(nowMs: number): Promise<void> {
    if (this.clusterRetentionRunning) return;
    this.clusterRetentionRunning = true;
    try {
      for (const p of [...this.byGroup.values()]) {
        if (this.stopped) return;
        // A group that cannot commit now (no quorum) must not hold up the others; its proposal may still commit
        // later, and a repeated one is a no-op at apply.
        let timer: NodeJS.Timeout | undefined;
        const givenUp = new Promise<void>((r) => (timer = setTimeout(r, RETENTION_WAIT_PER_PARTITION_MS)));
        try {
          await Promise.race([p.applyRetention(nowMs, this.clusterConfig.producerIdExpirationMs), givenUp]);
        } catch (err) {
          this.clusterLogger.error({ err, topic: p.topic, partition: p.partition }, 'retention failed');
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      this.clusterRetentionRunning = false;
    }
  }

  override *partitionSizes(): Iterable<{ topic: string; partition: number; sizeBytes: number }> {
    for (const p of this.byGroup.values()) yield { topic: p.topic, partition: p.partition, sizeBytes: p.sizeBytes };
  }

  /** Stops the Raft host first (no apply may touch a closed log), then closes every partition log. */
  override async closeAll(): Promise<void> {
    this.stopped = true;
    this.leadership?.stop();
    this.reassignments?.stop();
    await this.node?.closeHost();
    await this.reconciling;
    const all = [...this.byGroup.values()];
    this.byGroup.clear();
    this.hosted.clear();
    await Promise.all(all.map((p) => p.close().catch((err: unknown) => this.clusterLogger.error({ err, topic: p.topic }, 'close failed'))));
    await super.closeAll();
  }
}
