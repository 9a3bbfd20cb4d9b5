/**
 * Bootstrap: restore a Raft group from the newest valid snapshot in the object store. A snapshot that
 * turns out corrupt, incompatible or incomplete (any SnapshotError) is skipped and the previous one is
 * tried; store errors (outage) are not corruption and are rethrown so the caller can retry later.
 */
import type { Readable } from 'node:stream';
import { SnapshotError } from './errors.js';
import type { RaftGroupId, RaftIndex, RaftTerm } from './ids.js';
import type { SnapshotManifest, SnapshotPieceRef } from './manifest.js';
import type { SnapshotLogger, SnapshotMetricsHook } from './observability.js';
import { silentLogger } from './observability.js';
import type { SnapshotRepository } from './repository.js';
import { Semaphore } from './semaphore.js';

export interface RestoreReader {
  readonly manifest: SnapshotManifest;
  /** The verified rest payload; it errors (typed) if a byte is wrong, possibly only at its end. */
  openRest(): Promise<Readable>;
  /** A verified piece; errors at its end if its length or CRC32 is wrong. */
  openPiece(piece: SnapshotPieceRef): Promise<Readable>;
}

/**
 * Receives a snapshot's state. restore() must consume the streams fully and stage what it writes (temp
 * files, a new directory): a stream may fail at its very end (trailer checks). Only when restore()
 * resolves is the state valid, and the sink then makes it live (rename into place) and sets its applied
 * index to manifest.index. If restore() rejects, discard() is called and an older snapshot may follow.
 */
export interface SnapshotSink {
  restore(reader: RestoreReader): Promise<void>;
  discard?(error: unknown): Promise<void>;
}

export interface RestoreResult {
  readonly raftGroupId: RaftGroupId;
  /** null: the store held no usable snapshot (the group must replay the whole log from the leader). */
  readonly index: RaftIndex | null;
  readonly term: RaftTerm | null;
  readonly manifestKey: string | null;
  readonly durationMs: number;
  /** Newer snapshots skipped because they were unusable, with the reason. */
  readonly skipped: ReadonlyArray<{ manifestKey: string; error: SnapshotError }>;
}

export interface RestoreOptions {
  readonly logger?: SnapshotLogger;
  readonly metrics?: SnapshotMetricsHook;
  readonly nowMs?: () => number;
  /**
   * Never restore a snapshot below this index: a caller that must reach at least index I (a Raft
   * InstallSnapshot reference at I) cannot use an older state, so the fallback stops there and the result
   * is `index: null` (try another source). Default 0.
   */
  readonly minIndex?: number;
}

export async function restoreLatest(
  repository: SnapshotRepository,
  raftGroupId: RaftGroupId,
  sink: SnapshotSink,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const logger = options.logger ?? silentLogger;
  const nowMs = options.nowMs ?? Date.now;
  const startedAtMs = nowMs();
  const skipped: Array<{ manifestKey: string; error: SnapshotError }> = [];
  try {
    const listings = await repository.list(raftGroupId);
    const minIndex = options.minIndex ?? 0;
    for (let i = listings.length - 1; i >= 0; i--) {
      const listing = listings[i]!;
      if (listing.index < minIndex) break;
      try {
        const opened = await repository.open(listing);
        await sink.restore(opened);
        const result: RestoreResult = {
          raftGroupId,
          index: opened.manifest.index,
          term: opened.manifest.term,
          manifestKey: listing.manifestKey,
          durationMs: nowMs() - startedAtMs,
          skipped,
        };
        logger.info(
          { raftGroupId, index: result.index, term: result.term, durationMs: result.durationMs, skipped: skipped.length, key: listing.manifestKey },
          'restored Raft group from snapshot',
        );
        options.metrics?.bootstrapCompleted?.({ raftGroupId, index: result.index, term: result.term, durationMs: result.durationMs, snapshotsSkipped: skipped.length });
        return result;
      } catch (error) {
        await sink.discard?.(error);
        if (!(error instanceof SnapshotError)) throw error;
        skipped.push({ manifestKey: listing.manifestKey, error });
        logger.warn({ raftGroupId, key: listing.manifestKey, err: error }, 'snapshot unusable; falling back to the previous one');
      }
    }
  } catch (error) {
    options.metrics?.bootstrapFailed?.(raftGroupId, error);
    logger.error({ raftGroupId, err: error }, 'restore from snapshot failed');
    throw error;
  }
  const durationMs = nowMs() - startedAtMs;
  logger.info({ raftGroupId, skipped: skipped.length }, 'no usable snapshot; the group replays its log from the leader');
  options.metrics?.bootstrapCompleted?.({ raftGroupId, index: null, term: null, durationMs, snapshotsSkipped: skipped.length });
  return { raftGroupId, index: null, term: null, manifestKey: null, durationMs, skipped };
}

export interface GroupRestoreRequest {
  readonly raftGroupId: RaftGroupId;
  readonly sink: SnapshotSink;
}

export type GroupRestoreOutcome =
  | { readonly ok: true; readonly result: RestoreResult }
  | { readonly ok: false; readonly raftGroupId: RaftGroupId; readonly error: unknown };

/**
 * Restores many groups with at most `concurrency` at once (bootstrap of a node with many partitions).
 * One group's failure does not stop the others; outcomes come back in request order.
 */
export async function restoreGroups(
  repository: SnapshotRepository,
  requests: readonly GroupRestoreRequest[],
  concurrency: number,
  options: RestoreOptions = {},
): Promise<GroupRestoreOutcome[]> {
  const slots = new Semaphore(concurrency);
  return Promise.all(
    requests.map((request) =>
      slots.run(async (): Promise<GroupRestoreOutcome> => {
        try {
          return { ok: true, result: await restoreLatest(repository, request.raftGroupId, request.sink, options) };
        } catch (error) {
          return { ok: false, raftGroupId: request.raftGroupId, error };
        }
      }),
    ),
  );
}
