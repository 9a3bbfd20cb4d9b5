import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogConfig } from '../../src/index.js';

export function testConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return {
    segmentBytesMax: 1024 * 1024,
    segmentMsMax: 7 * 24 * 3600 * 1000,
    indexIntervalBytes: 4096,
    retentionMs: -1,
    retentionBytes: -1,
    fsyncPolicy: 'always',
    flushIntervalMs: 1000,
    ...overrides,
  };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `tributary-log-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Temporary directories for one describe block: call inside `describe`; every directory handed out by the
 * returned function is removed after the block.
 */
export function tempDirsForSuite(): (label: string) => Promise<string> {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  return async (label) => {
    const { dir, cleanup } = await tempDir(label);
    cleanups.push(cleanup);
    return dir;
  };
}

/** Records log events so tests can assert that recovery reported what it did. */
export class RecordingLogger {
  readonly events: { level: 'info' | 'warn' | 'error'; fields: object; message: string | undefined }[] = [];
  info(fields: object, message?: string): void {
    this.events.push({ level: 'info', fields, message });
  }
  warn(fields: object, message?: string): void {
    this.events.push({ level: 'warn', fields, message });
  }
  error(fields: object, message?: string): void {
    this.events.push({ level: 'error', fields, message });
  }
  warnings(): string[] {
    return this.events.filter((event) => event.level === 'warn').map((event) => event.message ?? '');
  }
}
