/**
 * SnapshotManager: decides when each registered Raft group is snapshotted, runs at most maxConcurrent
 * snapshots at once, uploads and verifies them, then lets the group compact its log up to the snapshot
 * (never further than what the object store durably holds), and applies retention.
 *
 * Failures (an S3 outage, a source error) never lose data: the log is only compacted after a verified
 * upload, so a failure just delays snapshotting; the group is retried with exponential backoff, and each
 * failure is logged and reported to the metrics hook.
 */
import type { RaftGroupId, RaftIndex, RaftTerm } from './ids.js';
import { raftIndex } from './ids.js';
import type { SnapshotLogger, SnapshotMetricsHook } from './observability.js';
import { silentLogger } from './observability.js';
import type { SnapshotContent, SnapshotListing, SnapshotRepository, WriteResult } from './repository.js';
import { Semaphore } from './semaphore.js';

export interface SnapshotSourceStatus {
  readonly appliedIndex: RaftIndex;
  readonly appliedTerm: RaftTerm;
  /** Wall-clock ms of the last applied write, or null if none since the process started. */
  readonly lastWriteAtMs: number | null;
}

/** A Raft group whose state can be snapshotted (the metadata group, or one partition). */
export interface SnapshotSource {
  readonly raftGroupId: RaftGroupId;
  /** Cheap and synchronous: called for every group on every loop tick. */
  status(): SnapshotSourceStatus;
  /** Produces the state at some applied (index, term) >= the last snapshot's. */
  createSnapshot(): Promise<SnapshotContent>;
  /** Drops Raft log entries up to and including upToIndex; called only after a verified upload. */
  compactLog(upToIndex: RaftIndex): Promise<void>;
  /** Index of the newest snapshot the group already has (e.g. restored at boot); default 0. */
  lastSnapshotIndex?(): RaftIndex;
}

export interface SnapshotManagerConfig {
  readonly repository: SnapshotRepository;
  /** How often the loop looks at the groups (TRIBUTARY_SNAPSHOT_INTERVAL_SECS). */
  readonly intervalSecs: number;
  /** Entries since the last snapshot that trigger one (TRIBUTARY_SNAPSHOT_LOG_THRESHOLD). */
  readonly logThreshold: number;
  /** Age of the last snapshot that triggers one, if there were writes since (TRIBUTARY_SNAPSHOT_TIME_THRESHOLD_SECS). */
  readonly timeThresholdSecs: number;
  readonly maxConcurrent: number;
  readonly retentionCount: number;
  /** First retry delay after a failure (default 1 s), doubled per consecutive failure up to retryMaxMs (default 5 min). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly logger?: SnapshotLogger;
  readonly metrics?: SnapshotMetricsHook;
  readonly nowMs?: () => number;
}

export interface GroupSnapshotStats {
  readonly raftGroupId: RaftGroupId;
  readonly lastSnapshotIndex: RaftIndex;
  /** ms since the last snapshot (or since registration if none yet). */
  readonly lastSnapshotAgeMs: number;
  readonly entriesSinceSnapshot: number;
  readonly consecutiveFailures: number;
  readonly nextAttemptAtMs: number;
  readonly inFlight: boolean;
  /** A verified snapshot whose log compaction has not succeeded yet. */
  readonly compactionPendingIndex: RaftIndex | null;
}

interface GroupState {
  readonly source: SnapshotSource;
  lastSnapshotIndex: RaftIndex;
  lastSnapshotAtMs: number;
  consecutiveFailures: number;
  nextAttemptAtMs: number;
  inFlight: Promise<WriteResult | null> | null;
  compactionPendingIndex: RaftIndex | null;
}

export type TriggerReason = 'log-threshold' | 'time-threshold' | 'manual';

export class SnapshotManager {
  private readonly groups = new Map<RaftGroupId, GroupState>();
  private readonly slots: Semaphore;
  private readonly running = new Set<Promise<unknown>>();
  private readonly logger: SnapshotLogger;
  private readonly metrics: SnapshotMetricsHook;
  private readonly nowMs: () => number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private timer: NodeJS.Timeout | null = null;
  private rotation = 0;

  constructor(private readonly config: SnapshotManagerConfig) {
    for (const [name, value, min] of [
      ['intervalSecs', config.intervalSecs, 0.001],
      ['logThreshold', config.logThreshold, 1],
      ['timeThresholdSecs', config.timeThresholdSecs, 0.001],
      ['maxConcurrent', config.maxConcurrent, 1],
      ['retentionCount', config.retentionCount, 1],
    ] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new RangeError(`${name} must be >= ${min}, got ${value}`);
    }
    this.slots = new Semaphore(config.maxConcurrent);
    this.logger = config.logger ?? silentLogger;
    this.metrics = config.metrics ?? {};
    this.nowMs = config.nowMs ?? Date.now;
    this.retryBaseMs = config.retryBaseMs ?? 1000;
    this.retryMaxMs = config.retryMaxMs ?? 5 * 60 * 1000;
  }

  get repository(): SnapshotRepository {
    return this.config.repository;
  }

  /** Slots in use right now (for tests and the "loop" metrics). */
  get snapshotsInFlight(): number {
    return this.slots.inUse;
  }

  get loopRunning(): boolean {
    return this.timer !== null;
  }

  register(source: SnapshotSource): void {
    if (this.groups.has(source.raftGroupId)) throw new Error(`Raft group ${source.raftGroupId} is already registered`);
    this.groups.set(source.raftGroupId, {
      source,
      lastSnapshotIndex: source.lastSnapshotIndex?.() ?? raftIndex(0),
      lastSnapshotAtMs: this.nowMs(),
      consecutiveFailures: 0,
      nextAttemptAtMs: 0,
      inFlight: null,
      compactionPendingIndex: null,
    });
  }

  /** Stops considering the group (e.g. the partition moved away); an in-flight snapshot still completes. */
  unregister(raftGroupId: RaftGroupId): void {
    this.groups.delete(raftGroupId);
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.round(this.config.intervalSecs * 1000)));
    this.timer.unref();
    this.metrics.loopRunning?.(true);
    this.logger.info({ intervalSecs: this.config.intervalSecs, store: this.config.repository.store.description }, 'snapshot loop started');
  }

  /** Stops the loop and waits for snapshots in flight to finish. */
  async stop(): Promise<void> {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.metrics.loopRunning?.(false);
      this.logger.info({}, 'snapshot loop stopped');
    }
    await this.idle();
  }

  /** Resolves when no snapshot task is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Why a group would be snapshotted now, or null. Never for an idle group. */
  triggerReason(raftGroupId: RaftGroupId, nowMs = this.nowMs()): TriggerReason | null {
    const state = this.groups.get(raftGroupId);
    if (state === undefined) return null;
    const status = state.source.status();
    const entries = status.appliedIndex - state.lastSnapshotIndex;
    if (entries <= 0) return null;
    if (entries >= this.config.logThreshold) return 'log-threshold';
    const wroteSince = status.lastWriteAtMs !== null && status.lastWriteAtMs >= state.lastSnapshotAtMs;
    if (wroteSince && nowMs - state.lastSnapshotAtMs >= this.config.timeThresholdSecs * 1000) return 'time-threshold';
    return null;
  }

  /**
   * One pass of the loop: retries pending compactions, then starts a snapshot for each triggered group
   * while slots are free (groups are visited round-robin so no group starves). Returns the groups started.
   */
  tick(): RaftGroupId[] {
    const nowMs = this.nowMs();
    const started: RaftGroupId[] = [];
    const states = [...this.groups.values()];
    if (states.length === 0) return started;
    this.rotation = (this.rotation + 1) % states.length;
    for (let i = 0; i < states.length; i++) {
      const state = states[(this.rotation + i) % states.length] as GroupState;
      if (state.inFlight !== null || nowMs < state.nextAttemptAtMs) continue;
      try {
        if (this.considerGroup(state, nowMs)) started.push(state.source.raftGroupId);
      } catch (error) {
        // A source whose status() throws must not take the loop (or the process, from a timer) down.
        this.logger.error({ raftGroupId: state.source.raftGroupId, err: error }, 'snapshot source status failed');
        this.recordFailure(state, error);
      }
    }
    return started;
  }

  /** Starts a compaction retry or a snapshot for one group; true if a snapshot was started. */
  private considerGroup(state: GroupState, nowMs: number): boolean {
    if (state.compactionPendingIndex !== null) {
      const compaction = this.compact(state, state.compactionPendingIndex)
        .then(() => null)
        .finally(() => {
          state.inFlight = null;
        });
      state.inFlight = compaction;
      this.track(compaction);
      return false;
    }
    const reason = this.triggerReason(state.source.raftGroupId, nowMs);
    if (reason === null) return false;
    if (!this.slots.tryAcquire()) {
      this.metrics.snapshotDeferred?.(state.source.raftGroupId);
      return false;
    }
    this.runHoldingSlot(state, reason);
    return true;
  }

  /**
   * Snapshots a group now (admin "trigger now"), waiting for a free slot and for a snapshot of the group
   * already in flight. Resolves with the result, or null if there was nothing new to snapshot; rejects
   * with the failure (which is also handled like a loop failure: logged, counted, backoff).
   */
  async triggerNow(raftGroupId: RaftGroupId): Promise<WriteResult | null> {
    const state = this.groups.get(raftGroupId);
    if (state === undefined) throw new Error(`Raft group ${raftGroupId} is not registered`);
    while (state.inFlight !== null) await state.inFlight.catch(() => null);
    await this.slots.acquire();
    if (state.inFlight !== null) {
      // Another trigger won the race while we waited for the slot.
      this.slots.release();
      return this.triggerNow(raftGroupId);
    }
    return this.runHoldingSlot(state, 'manual', true);
  }

  async listSnapshots(raftGroupId: RaftGroupId): Promise<SnapshotListing[]> {
    return this.config.repository.list(raftGroupId);
  }

  groupStats(): GroupSnapshotStats[] {
    const nowMs = this.nowMs();
    return [...this.groups.values()].map((state) => ({
      raftGroupId: state.source.raftGroupId,
      lastSnapshotIndex: state.lastSnapshotIndex,
      lastSnapshotAgeMs: Math.max(0, nowMs - state.lastSnapshotAtMs),
      entriesSinceSnapshot: entriesSince(state),
      consecutiveFailures: state.consecutiveFailures,
      nextAttemptAtMs: state.nextAttemptAtMs,
      inFlight: state.inFlight !== null,
      compactionPendingIndex: state.compactionPendingIndex,
    }));
  }

  // ------------------------------------------------------------------ internals

  private track<T>(promise: Promise<T>): Promise<T> {
    const tracked = promise.finally(() => this.running.delete(tracked));
    tracked.catch(() => {});
    this.running.add(tracked);
    return promise;
  }

  /** The caller has acquired a slot; this releases it exactly once, whatever happens. */
  private runHoldingSlot(state: GroupState, reason: TriggerReason, rethrow = false): Promise<WriteResult | null> {
    const task = (async () => {
      try {
        return await this.snapshotGroup(state, reason);
      } finally {
        this.slots.release();
      }
    })();
    const settled = task.finally(() => {
      state.inFlight = null;
    });
    state.inFlight = settled;
    this.track(settled);
    if (rethrow) return settled;
    settled.catch(() => {});
    return settled.catch(() => null);
  }

  private async snapshotGroup(state: GroupState, reason: TriggerReason): Promise<WriteResult | null> {
    const raftGroupId = state.source.raftGroupId;
    const startedAtMs = this.nowMs();
    let content: SnapshotContent | undefined;
    let result: WriteResult;
    try {
      content = await state.source.createSnapshot();
      if (content.index <= state.lastSnapshotIndex) {
        this.logger.debug({ raftGroupId, index: content.index }, 'snapshot skipped: nothing new since the last one');
        return null;
      }
      const applied = state.source.status().appliedIndex;
      if (content.index > applied) {
        throw new Error(`snapshot of ${raftGroupId} claims index ${content.index} beyond the applied index ${applied}`);
      }
      this.logger.info({ raftGroupId, index: content.index, term: content.term, reason }, 'snapshot started');
      result = await this.config.repository.write(raftGroupId, content);
    } catch (error) {
      this.recordFailure(state, error);
      throw error;
    } finally {
      if (content?.release !== undefined) {
        await content.release().catch((error: unknown) => this.logger.warn({ raftGroupId, err: error }, 'snapshot release failed'));
      }
    }
    const nowMs = this.nowMs();
    state.lastSnapshotIndex = result.manifest.index;
    state.lastSnapshotAtMs = nowMs;
    state.consecutiveFailures = 0;
    state.nextAttemptAtMs = 0;
    const durationMs = nowMs - startedAtMs;
    this.logger.info(
      {
        raftGroupId,
        index: result.manifest.index,
        term: result.manifest.term,
        durationMs,
        bytesUploaded: result.bytesUploaded,
        piecesUploaded: result.piecesUploaded,
        piecesReused: result.piecesReused,
        key: result.manifestKey,
      },
      'snapshot uploaded and verified',
    );
    this.metrics.snapshotCreated?.({
      raftGroupId,
      index: result.manifest.index,
      term: result.manifest.term,
      durationMs,
      bytesUploaded: result.bytesUploaded,
      piecesUploaded: result.piecesUploaded,
      piecesReused: result.piecesReused,
    });
    // Only now, with the snapshot durable and verified in the store, may the log shrink behind it.
    await this.compact(state, result.manifest.index);
    try {
      const retention = await this.config.repository.applyRetention(raftGroupId, this.config.retentionCount);
      const deleted = retention.deletedSnapshots.length + retention.deletedPieceKeys.length + retention.deletedOrphanKeys.length;
      if (deleted > 0) {
        this.metrics.objectsDeleted?.(raftGroupId, deleted);
        this.logger.debug({ raftGroupId, deletedSnapshots: retention.deletedSnapshots.length, deletedPieces: retention.deletedPieceKeys.length }, 'snapshot retention applied');
      }
    } catch (error) {
      // Retention runs again after the next snapshot; old objects only cost space meanwhile.
      this.logger.warn({ raftGroupId, err: error }, 'snapshot retention failed');
      this.metrics.retentionFailed?.(raftGroupId, error);
    }
    return result;
  }

  private async compact(state: GroupState, upToIndex: RaftIndex): Promise<void> {
    const raftGroupId = state.source.raftGroupId;
    try {
      await state.source.compactLog(upToIndex);
      state.compactionPendingIndex = null;
      this.logger.debug({ raftGroupId, upToIndex }, 'Raft log compacted behind snapshot');
    } catch (error) {
      state.compactionPendingIndex = upToIndex;
      this.logger.warn({ raftGroupId, upToIndex, err: error }, 'log compaction failed; retried on the next tick');
      this.metrics.compactionFailed?.(raftGroupId, error);
    }
  }

  private recordFailure(state: GroupState, error: unknown): void {
    state.consecutiveFailures += 1;
    const retryInMs = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(30, state.consecutiveFailures - 1));
    state.nextAttemptAtMs = this.nowMs() + retryInMs;
    this.logger.warn(
      { raftGroupId: state.source.raftGroupId, err: error, consecutiveFailures: state.consecutiveFailures, retryInMs },
      'snapshot failed; the log is kept and the snapshot retried after backoff',
    );
    this.metrics.snapshotFailed?.({ raftGroupId: state.source.raftGroupId, error, consecutiveFailures: state.consecutiveFailures, retryInMs });
  }
}

function entriesSince(state: GroupState): number {
  try {
    return Math.max(0, state.source.status().appliedIndex - state.lastSnapshotIndex);
  } catch {
    return 0; // a failing source is reported through the failure path, not through stats
  }
}
