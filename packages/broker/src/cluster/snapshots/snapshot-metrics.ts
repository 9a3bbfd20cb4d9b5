// Prometheus metrics of the snapshot service (names tributary_snapshot_*). Events (created, failed, bootstrap,
// object-store errors) arrive through the snapshot package's SnapshotMetricsHook and the ObservedObjectStore;
// per-group gauges (last index, age, entries since) are read from the SnapshotManager when /metrics is scraped.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GroupSnapshotStats, RaftGroupId, SnapshotMetricsHook } from '@tributary/snapshot';
import type { ObjectStoreOperation } from './observed-object-store.js';

/** What a Raft group holds: the metadata catalogue or one partition (the `kind` label). */
export type SnapshotKind = 'metadata' | 'partition';

export interface SnapshotStatsSource {
  groupStats(): readonly GroupSnapshotStats[];
}

const DURATION_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class SnapshotMetrics {
  private readonly created: Counter<'kind'>;
  private readonly failed: Counter<'kind'>;
  private readonly duration: Histogram<'kind'>;
  private readonly uploadedBytes: Counter<'kind'>;
  private readonly bootstraps: Counter<'kind' | 'outcome'>;
  private readonly bootstrapDuration: Histogram<'kind'>;
  private readonly loopRunning: Gauge;
  private readonly storeErrors: Counter<'operation'>;
  private readonly compactionFailures: Counter<'kind'>;
  private statsSource: SnapshotStatsSource | undefined;

  constructor(
    registry: Registry,
    private readonly kindOf: (raftGroupId: RaftGroupId) => SnapshotKind,
  ) {
    const registers = [registry];
    this.created = new Counter({ name: 'tributary_snapshot_created_total', help: 'Snapshots uploaded and verified, by kind', labelNames: ['kind'], registers });
    this.failed = new Counter({ name: 'tributary_snapshot_failed_total', help: 'Snapshot attempts that failed (retried with backoff), by kind', labelNames: ['kind'], registers });
    this.duration = new Histogram({
      name: 'tributary_snapshot_duration_seconds',
      help: 'Time to create, upload and verify one snapshot, by kind',
      labelNames: ['kind'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.uploadedBytes = new Counter({
      name: 'tributary_snapshot_uploaded_bytes_total',
      help: 'Bytes sent to the object store by snapshots (reused pieces cost nothing), by kind',
      labelNames: ['kind'],
      registers,
    });
    this.bootstraps = new Counter({
      name: 'tributary_snapshot_bootstrap_total',
      help: 'Restores of a Raft group from the object store (bootstrap, lagging follower), by kind and outcome (restored | none | failed)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.bootstrapDuration = new Histogram({
      name: 'tributary_snapshot_bootstrap_duration_seconds',
      help: 'Time to restore a Raft group from the object store, by kind',
      labelNames: ['kind'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.loopRunning = new Gauge({ name: 'tributary_snapshot_loop_running', help: '1 while the snapshot loop runs', registers });
    this.storeErrors = new Counter({
      name: 'tributary_snapshot_object_store_errors_total',
      help: 'Failed object-store calls (outage, refused request), by operation',
      labelNames: ['operation'],
      registers,
    });
    this.compactionFailures = new Counter({
      name: 'tributary_snapshot_compaction_failed_total',
      help: 'Raft log compactions behind a verified snapshot that failed (retried next tick), by kind',
      labelNames: ['kind'],
      registers,
    });
    const statsOf = (): readonly GroupSnapshotStats[] => this.statsSource?.groupStats() ?? [];
    const perGroupGauge = (name: string, help: string, value: (s: GroupSnapshotStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['raft_group', 'kind'],
        registers,
        collect() {
          this.reset();
          for (const s of statsOf()) this.set({ raft_group: s.raftGroupId, kind: kindOf(s.raftGroupId) }, value(s));
        },
      });
    };
    perGroupGauge('tributary_snapshot_last_index', 'Raft index of the newest snapshot of each hosted group (0 = none yet)', (s) => s.lastSnapshotIndex);
    perGroupGauge('tributary_snapshot_age_seconds', 'Seconds since the newest snapshot of each group (since hosting, if none yet)', (s) => s.lastSnapshotAgeMs / 1000);
    perGroupGauge('tributary_snapshot_entries_since', 'Raft log entries applied since the newest snapshot of each group', (s) => s.entriesSinceSnapshot);
    perGroupGauge('tributary_snapshot_consecutive_failures', 'Consecutive failed snapshot attempts of each group (0 after a success)', (s) => s.consecutiveFailures);
    this.loopRunning.set(0);
  }

  setStatsSource(source: SnapshotStatsSource): void {
    this.statsSource = source;
  }

  objectStoreError(operation: ObjectStoreOperation): void {
    this.storeErrors.inc({ operation });
  }

  /** A restore outside the package's restoreLatest (e.g. a runtime InstallSnapshot) reports through this too. */
  readonly hook: SnapshotMetricsHook = {
    snapshotCreated: (e) => {
      const kind = this.kindOf(e.raftGroupId);
      this.created.inc({ kind });
      this.duration.observe({ kind }, e.durationMs / 1000);
      this.uploadedBytes.inc({ kind }, e.bytesUploaded);
    },
    snapshotFailed: (e) => this.failed.inc({ kind: this.kindOf(e.raftGroupId) }),
    compactionFailed: (raftGroupId) => this.compactionFailures.inc({ kind: this.kindOf(raftGroupId) }),
    loopRunning: (running) => this.loopRunning.set(running ? 1 : 0),
    bootstrapCompleted: (e) => {
      const kind = this.kindOf(e.raftGroupId);
      this.bootstraps.inc({ kind, outcome: e.index === null ? 'none' : 'restored' });
      this.bootstrapDuration.observe({ kind }, e.durationMs / 1000);
    },
    bootstrapFailed: (raftGroupId) => this.bootstraps.inc({ kind: this.kindOf(raftGroupId), outcome: 'failed' }),
  };
}
