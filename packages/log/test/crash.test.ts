import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { PartitionLog } from '../src/index.js';
import { decodeBatches } from './support/batches.js';
import { RecordingLogger, tempDir, testConfig } from './support/fixtures.js';

const WRITER = fileURLToPath(new URL('./support/crash-writer.js', import.meta.url));
const REPORTS_BEFORE_KILL = 400;
/** Appending time after the writer said it is ready (start-up on a loaded machine is not counted). */
const MAX_APPEND_MS = 3000;
/** Hard cap on the whole run, start-up included. */
const MAX_RUN_MS = 20_000;

interface Report {
  offset: number;
  value: string;
}

/** Runs the writer until it reported enough durable appends (or time ran out), then SIGKILLs it. */
function runWriterAndKill(dir: string): Promise<Report[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const reports: Report[] = [];
    let pending = '';
    let killed = false;
    const kill = () => {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(kill, MAX_RUN_MS);
    let appendTimer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') appendTimer = setTimeout(kill, MAX_APPEND_MS);
        const [offset, producer, seq] = line.split(' ');
        if (seq !== undefined) reports.push({ offset: Number(offset), value: `${producer}-${seq}-` });
      }
      if (reports.length >= REPORTS_BEFORE_KILL) kill();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(appendTimer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own: code ${code} signal ${signal}`));
      else resolve(reports);
    });
  });
}

describe('crash durability', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('every offset reported durable by a SIGKILLed writer is present after recovery', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tempDir('crash');
    cleanups.push(cleanup);
    const reports = await runWriterAndKill(dir);
    assert.ok(reports.length > 20, `writer reported only ${reports.length} appends`);
    const logger = new RecordingLogger();
    const log = await PartitionLog.open(dir, testConfig({ segmentBytesMax: 16 * 1024, indexIntervalBytes: 1024 }), logger);
    const maxReported = Math.max(...reports.map((report) => report.offset));
    assert.ok(log.logEndOffset > maxReported, `log end ${log.logEndOffset} must be above every reported offset (max ${maxReported})`);
    for (const report of reports) {
      const result = await log.read(report.offset, 1);
      assert.ok(result.kind === 'records');
      const [batch] = decodeBatches(result.records);
      assert.equal(batch!.baseOffset, report.offset);
      assert.ok(batch!.crcValid);
      assert.ok(batch!.records[0]!.value!.startsWith(report.value), `offset ${report.offset}: ${batch!.records[0]!.value?.slice(0, 12)} vs ${report.value}`);
    }
    // The recovered log is contiguous and fully valid.
    let offset = 0;
    while (offset < log.logEndOffset) {
      const result = await log.read(offset, 1 << 20);
      assert.ok(result.kind === 'records');
      for (const batch of decodeBatches(result.records)) {
        assert.equal(batch.baseOffset, offset);
        assert.ok(batch.crcValid);
        offset = batch.lastOffset + 1;
      }
    }
    await log.close();
  });
});
