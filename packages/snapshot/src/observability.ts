/**
 * Logging and metrics seams. The logger is the subset of pino's API used here (pass a pino logger or a
 * child); the metrics hook is plain callbacks the broker maps onto prom-client counters/histograms, while
 * gauges (last index, age, entries since snapshot) are pulled from SnapshotManager.groupStats().
 */
import type { RaftGroupId, RaftIndex, RaftTerm } from './ids.js';

export interface SnapshotLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: SnapshotLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

export interface SnapshotCreatedEvent {
  readonly raftGroupId: RaftGroupId;
  readonly index: RaftIndex;
  readonly term: RaftTerm;
  readonly durationMs: number;
  readonly bytesUploaded: number;
  readonly piecesUploaded: number;
  readonly piecesReused: number;
}

export interface SnapshotFailedEvent {
  readonly raftGroupId: RaftGroupId;
  readonly error: unknown;
  readonly consecutiveFailures: number;
  readonly retryInMs: number;
}

export interface BootstrapEvent {
  readonly raftGroupId: RaftGroupId;
  /** null when no usable snapshot existed (the group replays the whole log from the leader). */
  readonly index: RaftIndex | null;
  readonly term: RaftTerm | null;
  readonly durationMs: number;
  readonly snapshotsSkipped: number;
}

export interface SnapshotMetricsHook {
  snapshotCreated?(event: SnapshotCreatedEvent): void;
  snapshotFailed?(event: SnapshotFailedEvent): void;
  /** A triggered snapshot had to wait for a free slot (maxConcurrent reached). */
  snapshotDeferred?(raftGroupId: RaftGroupId): void;
  compactionFailed?(raftGroupId: RaftGroupId, error: unknown): void;
  retentionFailed?(raftGroupId: RaftGroupId, error: unknown): void;
  objectsDeleted?(raftGroupId: RaftGroupId, count: number): void;
  loopRunning?(running: boolean): void;
  bootstrapCompleted?(event: BootstrapEvent): void;
  bootstrapFailed?(raftGroupId: RaftGroupId, error: unknown): void;
}
