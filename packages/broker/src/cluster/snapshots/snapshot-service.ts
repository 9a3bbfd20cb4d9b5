// The broker's snapshot service (cluster mode, TRIBUTARY_SNAPSHOT_ENABLED): one object store (a local directory
// shared by the nodes of one machine, or S3), this node's SnapshotRepository under its own writer prefix
// (`<clusterId>.node-<nodeId>`: one writer per prefix), and the SnapshotManager loop over the Raft groups hosted
// here (the metadata group, and partitions registered by the partition registry). It also restores groups from
// any node's prefix, reports readiness (no hosted group is restoring) and serves the admin list/trigger calls.
import type { Logger } from 'pino';
import {
  SnapshotError,
  SnapshotManager,
  SnapshotRepository,
  clusterId as toClusterId,
  createObjectStore,
  nodeWriterCluster,
  parseNodeWriterCluster,
  raftGroupId as toSnapshotGroupId,
  type ClusterId,
  type GroupSnapshotStats,
  type ObjectStore,
  type RaftGroupId as SnapshotGroupId,
  type SnapshotListing,
  type SnapshotMetricsHook,
  type SnapshotSink,
  type SnapshotSource,
} from '@tributary/snapshot';
import type { Registry } from 'prom-client';
import type { BrokerConfig } from '../../config.js';
import { ObservedObjectStore } from './observed-object-store.js';
import { SnapshotMetrics, type SnapshotKind } from './snapshot-metrics.js';

/** The metadata group's Raft group id (same value as cluster-node's METADATA_RAFT_GROUP; kept here to avoid a cycle). */
const METADATA_GROUP_NUMBER = 1;
/** How long shutdown waits for snapshots in flight before closing the Raft host anyway. */
const STOP_WAIT_MS = 10_000;

/** The snapshot package's id of broker Raft group `n` (the metadata group is "1", partition groups "<n>"). */
export function snapshotGroupOf(raftGroup: number): SnapshotGroupId {
  return toSnapshotGroupId(String(raftGroup));
}

export function snapshotKindOf(group: SnapshotGroupId): SnapshotKind {
  return group === String(METADATA_GROUP_NUMBER) ? 'metadata' : 'partition';
}

/** A group hosted here, as the service sees it: a SnapshotSource that also says whether it is restoring. */
export interface HostedSnapshotSource extends SnapshotSource {
  /** False while the replica restores from the object store (it then serves no reads and is not ready). */
  isCaughtUp(): boolean;
  /** Where the group's Raft log starts and ends in memory (for the admin view: compaction shrinks it). */
  raftLogSpan?(): { firstIndex: number; lastIndex: number } | undefined;
}

export interface GroupReport {
  readonly raftGroup: number;
  readonly kind: SnapshotKind;
  readonly caughtUp: boolean;
  readonly appliedIndex: number;
  readonly lastSnapshotIndex: number;
  readonly lastSnapshotAgeMs: number;
  readonly entriesSinceSnapshot: number;
  readonly consecutiveFailures: number;
  readonly inFlight: boolean;
  readonly compactionPendingIndex: number | null;
  readonly raftLog: { firstIndex: number; lastIndex: number } | null;
  /** Committed snapshots of this group under this node's prefix, oldest first; null if the store cannot list now. */
  readonly snapshots: readonly { index: number; term: number; key: string }[] | null;
  /** Why the listing failed (an object-store outage): the rest of the report still comes from memory. */
  readonly listError?: string;
}

export type TriggerOutcome =
  | { readonly raftGroup: number; readonly status: 'created'; readonly index: number; readonly term: number; readonly bytesUploaded: number }
  | { readonly raftGroup: number; readonly status: 'nothing-new'; readonly lastSnapshotIndex: number }
  | { readonly raftGroup: number; readonly status: 'failed'; readonly error: string };

export interface RestoreAtLeastResult {
  /** null: no usable snapshot with index >= the minimum in any of the prefixes tried. */
  readonly index: number | null;
  readonly term: number | null;
  readonly writer: ClusterId | null;
  readonly durationMs: number;
  readonly skipped: readonly { key: string; reason: string }[];
}

export interface SnapshotServiceOptions {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Tests inject a store (e.g. with fault injection); default: built from the config. */
  readonly store?: ObjectStore;
  /** Overrides of the manager's retry backoff (tests). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

export class SnapshotService {
  readonly store: ObjectStore;
  readonly metrics: SnapshotMetrics;
  readonly nodeId: number;
  /** Every node of the cluster (self and peers): the prefixes a restore may fall back to. */
  readonly nodeIds: readonly number[];
  private readonly sources = new Map<number, HostedSnapshotSource>();
  private readonly pendingRestores = new Map<number, number>();
  private manager: SnapshotManager | undefined;
  private cluster: ClusterId | undefined;
  private stopped = false;

  constructor(private readonly options: SnapshotServiceOptions) {
    const { config, logger } = options;
    this.nodeId = config.nodeId;
    // A joining node names only a few seeds in TRIBUTARY_PEERS: the formation voters' prefixes are worth trying too.
    this.nodeIds = [...new Set([config.nodeId, ...config.peers.map((p) => p.nodeId), ...config.metadataVoters])].sort((a, b) => a - b);
    this.metrics = new SnapshotMetrics(options.registry, snapshotKindOf);
    const inner =
      options.store ??
      (config.objectStore === 's3'
        ? createObjectStore({ kind: 's3', ...config.s3! })
        : createObjectStore({ kind: 'local', dir: config.objectStoreDir }));
    this.store = new ObservedObjectStore(inner, (operation, error) => {
      this.metrics.objectStoreError(operation);
      logger.debug({ operation, err: error }, 'object store call failed');
    });
  }

  /** Only cluster mode with TRIBUTARY_SNAPSHOT_ENABLED has a snapshot service. */
  static fromConfig(config: BrokerConfig, logger: Logger, registry: Registry): SnapshotService | undefined {
    if (!config.clusterMode || !config.snapshot.enabled) return undefined;
    return new SnapshotService({ config, logger, registry });
  }

  get metricsHook(): SnapshotMetricsHook {
    return this.metrics.hook;
  }

  /** How many groups may restore at once (bootstrap of many partitions). */
  get bootstrapConcurrency(): number {
    return this.options.config.snapshot.maxConcurrent;
  }

  get started(): boolean {
    return this.manager !== undefined;
  }

  /** This node's writer prefix (the snapshot package's "cluster" key component); known after start(). */
  get writer(): ClusterId {
    if (this.cluster === undefined) throw new Error('assertion: snapshot writer prefix read before the service started (cluster id unknown)');
    return nodeWriterCluster(this.cluster, this.nodeId);
  }

  private repositoryOf(writer: ClusterId): SnapshotRepository {
    return new SnapshotRepository({ store: this.store, cluster: writer, compression: this.options.config.snapshot.compression });
  }

  /** Snapshots written by `nodeId` (read them only: each prefix has one writer). */
  repositoryOfNode(nodeId: number): SnapshotRepository {
    if (this.cluster === undefined) throw new Error('assertion: snapshot repositories need the cluster id (start the service after join)');
    return this.repositoryOf(nodeWriterCluster(this.cluster, nodeId));
  }

  /** The repository of a writer prefix named in a snapshot reference (works before start: the prefix is explicit). */
  repositoryOfWriter(writer: ClusterId): SnapshotRepository {
    return this.repositoryOf(writer);
  }

  ownRepository(): SnapshotRepository {
    return this.repositoryOf(this.writer);
  }

  /** Starts the loop after this node joined (the cluster id names its prefix). Registrations made earlier join it now. */
  start(clusterIdValue: string): void {
    if (this.manager !== undefined || this.stopped) return;
    const snapshot = this.options.config.snapshot;
    this.cluster = toClusterId(clusterIdValue);
    const logger = this.options.logger;
    this.manager = new SnapshotManager({
      repository: this.ownRepository(),
      intervalSecs: snapshot.intervalSecs,
      logThreshold: snapshot.logThreshold,
      timeThresholdSecs: snapshot.timeThresholdSecs,
      maxConcurrent: snapshot.maxConcurrent,
      retentionCount: snapshot.retentionCount,
      ...(this.options.retryBaseMs === undefined ? {} : { retryBaseMs: this.options.retryBaseMs }),
      ...(this.options.retryMaxMs === undefined ? {} : { retryMaxMs: this.options.retryMaxMs }),
      logger,
      metrics: this.metrics.hook,
    });
    for (const source of this.sources.values()) this.manager.register(source);
    this.metrics.setStatsSource(this.manager);
    this.manager.start();
    logger.info({ writer: this.writer, store: this.store.description, groups: this.sources.size }, 'snapshot service started');
  }

  /** Stops the loop and waits (bounded) for snapshots in flight; call before the Raft host closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    const manager = this.manager;
    if (manager === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), STOP_WAIT_MS)));
    const outcome = await Promise.race([manager.stop().then(() => 'stopped' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.options.logger.warn({ waitedMs: STOP_WAIT_MS }, 'snapshots still in flight at shutdown; closing anyway (the log is compacted only after a verified upload)');
  }

  register(source: HostedSnapshotSource): void {
    const raftGroup = Number(source.raftGroupId);
    if (this.sources.has(raftGroup)) throw new Error(`assertion: Raft group ${raftGroup} registered twice with the snapshot service`);
    this.sources.set(raftGroup, source);
    this.manager?.register(source);
  }

  unregister(raftGroup: number): void {
    this.sources.delete(raftGroup);
    this.manager?.unregister(snapshotGroupOf(raftGroup));
  }

  /** Marks a group as restoring until `restore` settles (e.g. a bootstrap before the group is hosted). */
  trackRestore<T>(raftGroup: number, restore: Promise<T>): Promise<T> {
    this.pendingRestores.set(raftGroup, (this.pendingRestores.get(raftGroup) ?? 0) + 1);
    const done = (): void => {
      const left = (this.pendingRestores.get(raftGroup) ?? 1) - 1;
      if (left <= 0) this.pendingRestores.delete(raftGroup);
      else this.pendingRestores.set(raftGroup, left);
    };
    restore.then(done, done);
    return restore;
  }

  /** True when no hosted group is restoring (feeds /ready). */
  isCaughtUp(): boolean {
    if (this.pendingRestores.size > 0) return false;
    for (const source of this.sources.values()) if (!source.isCaughtUp()) return false;
    return true;
  }

  /** The groups restoring right now (for logs and the admin view). */
  restoringGroups(): number[] {
    const out = new Set(this.pendingRestores.keys());
    for (const [group, source] of this.sources) if (!source.isCaughtUp()) out.add(group);
    return [...out].sort((a, b) => a - b);
  }

  groupStats(): readonly GroupSnapshotStats[] {
    return this.manager?.groupStats() ?? [];
  }

  get loopRunning(): boolean {
    return this.manager?.loopRunning ?? false;
  }

  /** Per hosted group: positions, gauges and the snapshots in this node's prefix (GET /admin/snapshots). */
  async report(): Promise<GroupReport[]> {
    const stats = new Map(this.groupStats().map((s) => [Number(s.raftGroupId), s]));
    const repository = this.manager?.repository;
    const out: GroupReport[] = [];
    for (const [raftGroup, source] of [...this.sources].sort((a, b) => a[0] - b[0])) {
      const s = stats.get(raftGroup);
      let listings: SnapshotListing[] | null = [];
      let listError: string | undefined;
      try {
        if (repository !== undefined) listings = await repository.list(source.raftGroupId);
      } catch (error) {
        listings = null;
        listError = error instanceof Error ? error.message : String(error);
      }
      out.push({
        raftGroup,
        kind: snapshotKindOf(source.raftGroupId),
        caughtUp: source.isCaughtUp(),
        appliedIndex: source.status().appliedIndex,
        lastSnapshotIndex: s?.lastSnapshotIndex ?? 0,
        lastSnapshotAgeMs: s?.lastSnapshotAgeMs ?? 0,
        entriesSinceSnapshot: s?.entriesSinceSnapshot ?? 0,
        consecutiveFailures: s?.consecutiveFailures ?? 0,
        inFlight: s?.inFlight ?? false,
        compactionPendingIndex: s?.compactionPendingIndex ?? null,
        raftLog: source.raftLogSpan?.() ?? null,
        snapshots: listings === null ? null : listings.map((l) => ({ index: l.index, term: l.term, key: l.manifestKey })),
        ...(listError === undefined ? {} : { listError }),
      });
    }
    return out;
  }

  hosts(raftGroup: number): boolean {
    return this.sources.has(raftGroup);
  }

  /** Snapshots now (POST /admin/snapshots/trigger): every hosted group, or one. Resolves when each is done. */
  async trigger(raftGroup?: number): Promise<TriggerOutcome[]> {
    const manager = this.manager;
    if (manager === undefined) throw new Error('snapshot service not started yet');
    const groups = raftGroup === undefined ? [...this.sources.keys()].sort((a, b) => a - b) : [raftGroup];
    return Promise.all(
      groups.map(async (group): Promise<TriggerOutcome> => {
        try {
          const result = await manager.triggerNow(snapshotGroupOf(group));
          if (result === null) {
            const last = manager.groupStats().find((s) => s.raftGroupId === String(group))?.lastSnapshotIndex ?? 0;
            return { raftGroup: group, status: 'nothing-new', lastSnapshotIndex: last };
          }
          return { raftGroup: group, status: 'created', index: result.manifest.index, term: result.manifest.term, bytesUploaded: result.bytesUploaded };
        } catch (error) {
          return { raftGroup: group, status: 'failed', error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
  }

  /**
   * Restores `raftGroup` from the newest verified snapshot with index >= `minIndex`, trying the writer prefixes in
   * order (e.g. the one a Raft reference names, then the other replicas'). A corrupt or incomplete snapshot
   * (SnapshotError) falls back to the next candidate; a store error (outage) is rethrown for the caller to retry.
   * The sink stages and makes live as in the package's restoreLatest. Reports bootstrap metrics.
   */
  async restoreAtLeast(raftGroup: number, minIndex: number, writers: readonly ClusterId[], sink: SnapshotSink): Promise<RestoreAtLeastResult> {
    const group = snapshotGroupOf(raftGroup);
    const startedMs = Date.now();
    const skipped: { key: string; reason: string }[] = [];
    const logger = this.options.logger;
    try {
      for (const writer of new Set(writers)) {
        const repository = this.repositoryOf(writer);
        const candidates = (await repository.list(group)).filter((l) => l.index >= minIndex).reverse();
        for (const listing of candidates) {
          try {
            const opened = await repository.open(listing);
            await sink.restore(opened);
            const durationMs = Date.now() - startedMs;
            const result = { index: opened.manifest.index, term: opened.manifest.term, writer, durationMs, skipped };
            this.metrics.hook.bootstrapCompleted?.({ raftGroupId: group, index: opened.manifest.index, term: opened.manifest.term, durationMs, snapshotsSkipped: skipped.length });
            return result;
          } catch (error) {
            await sink.discard?.(error);
            if (!(error instanceof SnapshotError)) throw error;
            skipped.push({ key: listing.manifestKey, reason: error.message });
            logger.warn({ raftGroup, key: listing.manifestKey, err: error }, 'snapshot unusable; trying the next one');
          }
        }
      }
    } catch (error) {
      this.metrics.hook.bootstrapFailed?.(group, error);
      throw error;
    }
    const durationMs = Date.now() - startedMs;
    this.metrics.hook.bootstrapCompleted?.({ raftGroupId: group, index: null, term: null, durationMs, snapshotsSkipped: skipped.length });
    return { index: null, term: null, writer: null, durationMs, skipped };
  }

  /** Writer prefixes to try for a group: `first` (if any), then every node's, own last (it is the one that lags). */
  writersFor(first: ClusterId | null, nodeIds: readonly number[] = this.nodeIds): ClusterId[] {
    const cluster = this.cluster ?? (first === null ? undefined : parseNodeWriterCluster(first)?.cluster);
    const out: ClusterId[] = first === null ? [] : [first];
    if (cluster === undefined) return out;
    const others = nodeIds.filter((n) => n !== this.nodeId);
    for (const n of [...others, this.nodeId]) {
      const w = nodeWriterCluster(cluster, n);
      if (!out.includes(w)) out.push(w);
    }
    return out;
  }
}

