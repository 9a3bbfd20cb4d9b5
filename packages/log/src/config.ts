import { LogConfigError } from './errors.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface LogConfig {
  /** Roll the active segment when appending would make it larger than this (bytes, at most 2^31-1). */
  readonly segmentBytesMax: number;
  /** Roll the active segment when its first batch is older than this (ms). */
  readonly segmentMsMax: number;
  /** Add a sparse offset-index entry every this many bytes of batches. */
  readonly indexIntervalBytes: number;
  /** Delete sealed segments whose newest timestamp is older than this (ms); -1 = keep forever. */
  readonly retentionMs: number;
  /** Delete the oldest sealed segments while the log is larger than this (bytes); -1 = no limit. */
  readonly retentionBytes: number;
  /**
   * 'always': callers await flush() before acknowledging (group commit).
   * 'interval': a shared background scheduler flushes every flushIntervalMs.
   * 'never': the OS decides; durableEndOffset is reported equal to logEndOffset.
   */
  readonly fsyncPolicy: FsyncPolicy;
  /** Background flush period for 'interval' (ms). */
  readonly flushIntervalMs: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytesMax: 1024 * 1024 * 1024,
  segmentMsMax: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  fsyncPolicy: 'always',
  flushIntervalMs: 1000,
});

const INT32_MAX = 0x7fffffff;

function requireInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new LogConfigError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

function requireLimit(name: string, value: unknown): void {
  if (value === -1) return;
  requireInteger(name, value, 0, Number.MAX_SAFE_INTEGER);
}

/** Checks every field; throws LogConfigError naming the first bad one. */
export function validateLogConfig(config: LogConfig): LogConfig {
  if (config === null || typeof config !== 'object') throw new LogConfigError('config must be an object');
  // 61 bytes is the smallest possible batch; a segment must hold at least one.
  requireInteger('segmentBytesMax', config.segmentBytesMax, 61, INT32_MAX);
  requireInteger('segmentMsMax', config.segmentMsMax, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('indexIntervalBytes', config.indexIntervalBytes, 1, INT32_MAX);
  requireLimit('retentionMs', config.retentionMs);
  requireLimit('retentionBytes', config.retentionBytes);
  if (config.fsyncPolicy !== 'always' && config.fsyncPolicy !== 'interval' && config.fsyncPolicy !== 'never') {
    throw new LogConfigError(`fsyncPolicy must be 'always', 'interval' or 'never', got ${String(config.fsyncPolicy)}`);
  }
  requireInteger('flushIntervalMs', config.flushIntervalMs, 1, INT32_MAX);
  return config;
}
