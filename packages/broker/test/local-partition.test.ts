import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { PartitionLog, DEFAULT_LOG_CONFIG, kafkaOffset } from '@tributary/log';
import { validateRecordBatches } from '@tributary/protocol';
import { LocalPartition } from '../src/partitions/local-partition.js';
import type { ProducedBatch } from '../src/partitions/partition-replica.js';
import { batchOf, recordsIn } from './support/batches.js';
import { tempDataDir } from './support/broker-process.js';

const logger = pino({ level: 'silent' });

function produced(records: Buffer): ProducedBatch[] {
  const r = validateRecordBatches(records);
  assert.ok(r.ok);
  return r.batches.map((b) => ({ lastOffsetDelta: b.lastOffsetDelta, maxTimestampMs: b.maxTimestamp, producerId: b.producerId, producerEpoch: b.producerEpoch, baseSequence: b.baseSequence }));
}

async function open(dir: string): Promise<LocalPartition> {
  const log = await PartitionLog.open(join(dir, 'log'), DEFAULT_LOG_CONFIG);
  return LocalPartition.open('t', 0, log, true, join(dir, 'producer-state.json'), logger);
}

async function send(p: LocalPartition, seq: number, value: string, producerId = 42) {
  const b = batchOf([{ key: null, value: Buffer.from(value) }], { producerId, producerEpoch: 0, baseSequence: seq });
  return p.produce(b, produced(b), -1, false);
}

test('acks wait for durability: the high watermark covers every acknowledged append; concurrent produces share fsyncs', async () => {
  const { dir, cleanup } = tempDataDir('trib-lp-');
  try {
    const p = await open(dir);
    let woken = 0;
    p.onHighWatermarkAdvance(() => woken++);
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => send(p, i, `v${i}`)));
    assert.deepEqual(outcomes.map((o) => (o.kind === 'appended' ? o.baseOffset : -1)), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(p.highWatermark, 20);
    assert.ok(woken >= 1 && woken <= 20);
    const read = await p.read(kafkaOffset(0), 1 << 20, true);
    assert.equal(read.kind, 'ok');
    if (read.kind === 'ok') assert.equal(recordsIn(read.result.records).length, 20);
    assert.deepEqual(await p.read(kafkaOffset(21), 100, true), { kind: 'offsetOutOfRange' });
    await p.close();
  } finally {
    cleanup();
  }
});

test('producer state: snapshot at close is used on reopen; a snapshot ahead of the log is ignored and the state rebuilt', async () => {
  const { dir, cleanup } = tempDataDir('trib-lp-');
  try {
    let p = await open(dir);
    for (let i = 0; i < 3; i++) assert.equal((await send(p, i, `v${i}`)).kind, 'appended');
    await p.close();
    const snapshot = JSON.parse(readFileSync(join(dir, 'producer-state.json'), 'utf8'));
    assert.equal(snapshot.endOffset, 3);

    p = await open(dir);
    const dup = await send(p, 2, 'v2');
    assert.deepEqual(dup, { kind: 'duplicate', baseOffset: 2, logAppendTimeMs: -1 });
    await p.close();

    // A snapshot that claims more than the log holds (e.g. written before a torn tail was truncated).
    writeFileSync(join(dir, 'producer-state.json'), JSON.stringify({ ...snapshot, endOffset: 1000, producers: [] }));
    p = await open(dir);
    assert.equal((await send(p, 1, 'v1')).kind, 'duplicate', 'state rebuilt from the batch headers');
    assert.equal((await send(p, 7, 'x')).kind, 'outOfOrderSequence');
    assert.equal((await send(p, 3, 'v3')).kind, 'appended');
    // An unreadable snapshot is ignored the same way.
    await p.close();
    writeFileSync(join(dir, 'producer-state.json'), '{not json');
    p = await open(dir);
    assert.equal((await send(p, 3, 'v3')).kind, 'duplicate');
    await p.close();
  } finally {
    cleanup();
  }
});

test('max timestamp follows appends and retention-free scans stop at the high watermark', async () => {
  const { dir, cleanup } = tempDataDir('trib-lp-');
  try {
    const p = await open(dir);
    assert.equal(await p.maxTimestamp(), null);
    for (const [i, ts] of [100, 300, 200].entries()) {
      const b = batchOf([{ key: null, value: Buffer.from('x'), timestamp: ts }]);
      await p.produce(b, produced(b), 1, false);
      assert.deepEqual(await p.maxTimestamp(), { offset: i === 0 ? 0 : 1, timestampMs: i === 0 ? 100 : 300 });
    }
    await p.close();
  } finally {
    cleanup();
  }
});

test('after a failed fsync the partition answers a storage error, reopens its log (recovery) and serves again', async () => {
  const { dir, cleanup } = tempDataDir('trib-lp-');
  try {
    let failSyncs = false;
    const logDir = join(dir, 'log');
    const first = await PartitionLog.open(logDir, DEFAULT_LOG_CONFIG, undefined, {
      onSync: () => {
        if (failSyncs) throw new Error('injected fsync failure (EIO)');
      },
    });
    let reopened = 0;
    const p = await LocalPartition.open('t', 0, first, true, join(dir, 'producer-state.json'), logger, async () => {
      reopened++;
      return PartitionLog.open(logDir, DEFAULT_LOG_CONFIG);
    });
    for (let i = 0; i < 3; i++) assert.equal((await send(p, i, `v${i}`)).kind, 'appended');
    failSyncs = true;
    assert.equal((await send(p, 3, 'v3')).kind, 'storageError', 'an unsynced append is not acknowledged');
    failSyncs = false;
    // The reopen runs as the partition's next serialised step; wait for it (bounded).
    for (let i = 0; i < 200 && reopened === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(reopened, 1);
    // The retried batch: recovery kept it (it was written, just not synced), so it is a duplicate now, or appended.
    const retry = await send(p, 3, 'v3');
    assert.ok(retry.kind === 'duplicate' || retry.kind === 'appended', retry.kind);
    assert.equal((await send(p, 4, 'v4')).kind, 'appended');
    const read = await p.read(kafkaOffset(0), 1 << 20, true);
    assert.equal(read.kind, 'ok');
    if (read.kind === 'ok') assert.deepEqual(recordsIn(read.result.records).map((r) => r.value!.toString()), ['v0', 'v1', 'v2', 'v3', 'v4']);
    await p.close();
  } finally {
    cleanup();
  }
});
