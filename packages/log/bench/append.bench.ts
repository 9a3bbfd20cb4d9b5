/**
 * Partition log throughput: appends of 16 KiB batches (16 records of 1 KiB) with fsyncPolicy 'always' and
 * concurrent producers (each appends, then awaits flush(): group commit), then sequential read throughput.
 *
 *   npx tsc -b packages/log && node packages/log/dist/bench/append.bench.js [--seconds 2] [--producers 1,4,16,64]
 *     [--batch-records 16] [--preallocate-bytes N]   (N = 0 turns preallocation off; default: the log's default)
 *
 * Each phase is bounded by time; the data directory is a temp dir removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PartitionLog, type FsyncPolicy, type LogConfig } from '../src/index.js';
import { makeSizedBatch } from '../test/support/batches.js';

const RECORD_VALUE_BYTES = 1024;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    producers: { type: 'string', default: '1,4,16,64' },
    'batch-records': { type: 'string', default: '16' },
    'preallocate-bytes': { type: 'string' },
  },
});
const preallocateBytes = values['preallocate-bytes'] === undefined ? undefined : Number(values['preallocate-bytes']);
const RECORDS_PER_BATCH = Math.max(1, Number(values['batch-records']));
const phaseMs = Math.max(0.2, Number(values.seconds)) * 1000;
const producerCounts = values.producers.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);

function config(fsyncPolicy: FsyncPolicy): LogConfig {
  return {
    segmentBytesMax: 128 * 1024 * 1024,
    segmentMsMax: 3_600_000,
    indexIntervalBytes: 4096,
    retentionMs: -1,
    retentionBytes: -1,
    fsyncPolicy,
    flushIntervalMs: 1000,
  };
}

function mbPerSecond(bytes: number, ms: number): string {
  return ((bytes / (1024 * 1024)) / (ms / 1000)).toFixed(1);
}

async function appendPhase(dir: string, fsyncPolicy: FsyncPolicy, producers: number): Promise<void> {
  let fsyncs = 0;
  const log = await PartitionLog.open(join(dir, `${fsyncPolicy}-${producers}`), config(fsyncPolicy), undefined, {
    onSync: (kind) => {
      if (kind === 'data') fsyncs++;
    },
    ...(preallocateBytes === undefined ? {} : { preallocateBytes }),
  });
  fsyncs = 0;
  const batchBytes = makeSizedBatch(RECORDS_PER_BATCH, RECORD_VALUE_BYTES).length;
  const latencies: number[] = [];
  let appends = 0;
  const start = performance.now();
  const deadline = start + phaseMs;
  await Promise.all(
    Array.from({ length: producers }, async (_, producer) => {
      // append() patches baseOffset in place and writes synchronously, so each producer can reuse its buffer.
      const batch = makeSizedBatch(RECORDS_PER_BATCH, RECORD_VALUE_BYTES, 0x61 + (producer % 26));
      while (performance.now() < deadline) {
        const t0 = performance.now();
        log.append(batch);
        await log.flush();
        latencies.push(performance.now() - t0);
        appends++;
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
  console.log(
    `append fsync=${fsyncPolicy.padEnd(6)} producers=${String(producers).padStart(3)}: ${mbPerSecond(appends * batchBytes, elapsedMs).padStart(7)} MB/s, ` +
      `${Math.round(appends / (elapsedMs / 1000)).toString().padStart(6)} appends/s, ${Math.round((appends * RECORDS_PER_BATCH) / (elapsedMs / 1000))} records/s, ` +
      `fdatasyncs=${fsyncs} (${(appends / Math.max(1, fsyncs)).toFixed(1)} appends each), latency p50=${p(0.5)} ms p99=${p(0.99)} ms`,
  );
  await log.close();
}

async function readPhase(dir: string): Promise<void> {
  const log = await PartitionLog.open(join(dir, 'read'), config('never'));
  const batch = makeSizedBatch(RECORDS_PER_BATCH, RECORD_VALUE_BYTES);
  const targetBytes = 128 * 1024 * 1024;
  while (log.sizeBytes < targetBytes) log.append(batch);
  await log.close();
  const reopened = await PartitionLog.open(join(dir, 'read'), config('never'));
  const end = reopened.logEndOffset;
  for (const maxBytes of [64 * 1024, 1024 * 1024]) {
    let bytes = 0;
    let reads = 0;
    const start = performance.now();
    const deadline = start + phaseMs;
    let offset = 0;
    while (performance.now() < deadline) {
      const result = await reopened.read(offset, maxBytes);
      if (result.kind !== 'records') throw new Error('unexpected out of range');
      bytes += result.records.length;
      reads++;
      offset = result.nextOffset >= end ? 0 : result.nextOffset;
    }
    const elapsedMs = performance.now() - start;
    console.log(`read sequential maxBytes=${String(maxBytes / 1024).padStart(5)} KiB: ${mbPerSecond(bytes, elapsedMs).padStart(7)} MB/s, ${Math.round(reads / (elapsedMs / 1000))} reads/s`);
  }
  let reads = 0;
  const start = performance.now();
  const deadline = start + phaseMs;
  while (performance.now() < deadline) {
    const result = await reopened.read(Math.floor(Math.random() * end), 16 * 1024);
    if (result.kind !== 'records') throw new Error('unexpected out of range');
    reads++;
  }
  console.log(`read random single batch: ${Math.round(reads / ((performance.now() - start) / 1000))} reads/s`);
  await reopened.close();
}

const dir = await mkdtemp(join(tmpdir(), 'tributary-log-bench-'));
try {
  console.log(`batches of ${RECORDS_PER_BATCH} x ${RECORD_VALUE_BYTES} B records, ${phaseMs} ms per phase, preallocateBytes ${preallocateBytes ?? 'default'}, data in ${dir}`);
  for (const producers of producerCounts) await appendPhase(dir, 'always', producers);
  await appendPhase(dir, 'never', 1);
  await readPhase(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
