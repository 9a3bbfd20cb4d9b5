import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { InvalidBatchError, LogClosedError, PartitionLog, type ReadResult } from '../src/index.js';
import { decodeBatches, makeBatch, makeSizedBatch, makeValuesBatch } from './support/batches.js';
import { tempDir, testConfig } from './support/fixtures.js';

function records(result: ReadResult): Buffer {
  assert.equal(result.kind, 'records');
  return result.kind === 'records' ? result.records : Buffer.alloc(0);
}

describe('append and read', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  async function freshLog(overrides = {}): Promise<PartitionLog> {
    const { dir, cleanup } = await tempDir('rw');
    cleanups.push(cleanup);
    return PartitionLog.open(dir, testConfig(overrides));
  }

  it('assigns contiguous offsets by patching baseOffset and reads the batches back byte for byte', async () => {
    const log = await freshLog();
    const first = makeValuesBatch('a', 3);
    const second = makeValuesBatch('b', 2);
    const r1 = log.append(first);
    const r2 = log.append(second);
    assert.deepEqual([r1.baseOffset, r1.lastOffset, r1.batchCount, r1.logAppendTimeMs], [0, 2, 1, -1]);
    assert.deepEqual([r2.baseOffset, r2.lastOffset], [3, 4]);
    assert.equal(log.logEndOffset, 5);
    const read = await log.read(0, 1 << 20);
    assert.ok(read.kind === 'records');
    assert.equal(read.nextOffset, 5);
    assert.deepEqual(read.records, Buffer.concat([first, second]));
    const decoded = decodeBatches(read.records);
    assert.deepEqual(decoded.map((batch) => [batch.baseOffset, batch.lastOffset, batch.crcValid]), [[0, 2, true], [3, 4, true]]);
    assert.deepEqual(decoded[1]!.records.map((record) => [record.offset, record.value]), [[3, 'b-0'], [4, 'b-1']]);
    await log.close();
  });

  it('appends several batches in one call', async () => {
    const log = await freshLog();
    const bytes = Buffer.concat([makeValuesBatch('x', 2), makeValuesBatch('y', 4), makeValuesBatch('z', 1)]);
    const result = log.append(bytes);
    assert.deepEqual([result.baseOffset, result.lastOffset, result.batchCount], [0, 6, 3]);
    const decoded = decodeBatches(records(await log.read(3, 1 << 20)));
    assert.deepEqual(decoded.map((batch) => batch.baseOffset), [2, 6]);
    await log.close();
  });

  it('finds the batch holding every offset across many segments and index entries', async () => {
    const log = await freshLog({ segmentBytesMax: 8 * 1024, indexIntervalBytes: 300 });
    const batchSizes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const count = 1 + (i % 4);
      batchSizes.push(count);
      log.append(makeSizedBatch(count, 20 + (i % 7) * 10, 0x41 + (i % 26)));
    }
    assert.ok(log.segmentCount > 5, `expected several segments, got ${log.segmentCount}`);
    let offset = 0;
    const batchStart: number[] = [];
    for (const count of batchSizes) {
      for (let i = 0; i < count; i++) batchStart.push(offset);
      offset += count;
    }
    assert.equal(log.logEndOffset, offset);
    for (let target = 0; target < offset; target++) {
      const batches = decodeBatches(records(await log.read(target, 1)));
      assert.equal(batches.length, 1, `offset ${target}`);
      assert.equal(batches[0]!.baseOffset, batchStart[target], `offset ${target}`);
      assert.ok(batches[0]!.lastOffset >= target);
    }
    await log.close();
  });

  it('honours maxBytes (whole batches only), minOneBatch and maxOffset', async () => {
    const log = await freshLog();
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const batch = makeSizedBatch(2, 100);
      sizes.push(batch.length);
      log.append(batch);
    }
    const one = sizes[0]!;
    // Room for 3.5 batches -> 3 batches.
    const three = await log.read(0, Math.floor(one * 3.5));
    assert.ok(three.kind === 'records');
    assert.equal(three.records.length, one * 3);
    assert.equal(three.nextOffset, 6);
    // Too small for one: minOneBatch (default) still returns one, without it nothing.
    const forced = await log.read(4, 10);
    assert.ok(forced.kind === 'records');
    assert.equal(decodeBatches(forced.records).length, 1);
    assert.equal(forced.nextOffset, 6);
    const none = await log.read(4, 10, { minOneBatch: false });
    assert.ok(none.kind === 'records');
    assert.equal(none.records.length, 0);
    assert.equal(none.nextOffset, 4);
    // High watermark at 7: the batch 6..7 is not visible.
    const capped = await log.read(0, 1 << 20, { maxOffset: 7 });
    assert.ok(capped.kind === 'records');
    assert.deepEqual(decodeBatches(capped.records).map((batch) => batch.lastOffset), [1, 3, 5]);
    assert.equal(capped.nextOffset, 6);
    const atWatermark = await log.read(6, 1 << 20, { maxOffset: 6 });
    assert.deepEqual(atWatermark, { kind: 'records', records: Buffer.alloc(0), nextOffset: 6 });
    await log.close();
  });

  it('returns answers larger than the speculative read window whole (second, exact read)', async () => {
    const log = await freshLog({ segmentBytesMax: 64 * 1024 * 1024 });
    const batches: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      const batch = makeSizedBatch(1, 1024 * 1024, 0x41 + i);
      batches.push(Buffer.from(batch));
      log.append(batch);
    }
    const result = await log.read(0, 64 * 1024 * 1024);
    assert.ok(result.kind === 'records');
    assert.equal(result.nextOffset, 12);
    assert.equal(result.records.length, batches.reduce((sum, batch) => sum + batch.length, 0));
    assert.deepEqual(decodeBatches(result.records).map((batch) => batch.baseOffset), Array.from({ length: 12 }, (_, i) => i));
    const middle = await log.read(5, 2 * 1024 * 1024 + 1000);
    assert.ok(middle.kind === 'records');
    assert.deepEqual(decodeBatches(middle.records).map((batch) => batch.baseOffset), [5, 6]);
    await log.close();
  });

  it('reports offsets outside [logStartOffset, logEndOffset] as out of range and the end as empty', async () => {
    const log = await freshLog();
    log.append(makeValuesBatch('a', 2));
    assert.deepEqual(await log.read(3, 100), { kind: 'offsetOutOfRange', logStartOffset: 0, logEndOffset: 2 });
    assert.deepEqual(await log.read(2, 100), { kind: 'records', records: Buffer.alloc(0), nextOffset: 2 });
    await log.close();
  });

  it('rejects malformed input with InvalidBatchError and writes nothing', async () => {
    const log = await freshLog();
    log.append(makeValuesBatch('ok', 1));
    const good = makeValuesBatch('g', 1);
    const badMagic = makeValuesBatch('m', 1);
    badMagic.writeInt8(1, 16);
    assert.throws(() => log.append(Buffer.concat([good, badMagic])), InvalidBatchError);
    assert.throws(() => log.append(good.subarray(0, good.length - 1)), InvalidBatchError);
    assert.throws(() => log.append(Buffer.alloc(0)), InvalidBatchError);
    assert.equal(log.logEndOffset, 1);
    assert.equal(log.sizeBytes, makeValuesBatch('ok', 1).length);
    await log.close();
    assert.throws(() => log.append(good), LogClosedError);
  });

  it('stamps LogAppendTime: attribute bit 3, maxTimestamp = now and a CRC that still verifies', async () => {
    const log = await freshLog();
    const result = log.append(makeBatch({ records: [{ value: Buffer.from('v') }], baseTimestampMs: 1000 }), { logAppendTime: true, nowMs: 123_456 });
    assert.equal(result.logAppendTimeMs, 123_456);
    const [batch] = decodeBatches(records(await log.read(0, 1000)));
    assert.equal(batch!.attributes & 0x08, 0x08);
    assert.equal(batch!.maxTimestampMs, 123_456);
    assert.equal(batch!.crcValid, true);
    await log.close();
  });

  it('rolls by size and by age', async () => {
    const log = await freshLog({ segmentBytesMax: 1000, segmentMsMax: 60_000 });
    const batch = () => makeSizedBatch(1, 300);
    log.append(batch(), { nowMs: 0 });
    log.append(batch(), { nowMs: 1 });
    assert.equal(log.segmentCount, 1);
    log.append(batch(), { nowMs: 2 }); // 3 * 370 > 1000
    assert.equal(log.segmentCount, 2);
    assert.deepEqual(log.segmentBaseOffsets, [0, 2]);
    log.append(makeSizedBatch(1, 10), { nowMs: 60_002 }); // segment started at 2 ms, now 60 s old
    assert.deepEqual(log.segmentBaseOffsets, [0, 2, 3]);
    await log.close();
  });

  it('an idle partition holds at most two file descriptors, however many segments were read', { skip: !existsSync('/proc/self/fd') }, async () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    const log = await freshLog({ segmentBytesMax: 500 });
    for (let i = 0; i < 40; i++) log.append(makeSizedBatch(1, 200));
    assert.ok(log.segmentCount >= 20);
    await Promise.all(Array.from({ length: 40 }, (_, offset) => log.read(offset, 1000)));
    await log.offsetForTimestamp(0);
    await log.scanBatchHeaders(0, () => true);
    await log.flush();
    // Released handles close asynchronously: wait (bounded) for the count to settle.
    for (let i = 0; i < 100 && openFds() - before > 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(openFds() - before <= 2, `${openFds() - before} descriptors held`);
    await log.close();
    assert.equal(openFds(), before);
  });

  it('after a reopen, segment age counts from the file creation, not from producer timestamps', async () => {
    const { dir, cleanup } = await tempDir('age');
    cleanups.push(cleanup);
    const config = testConfig({ segmentMsMax: 3_600_000 });
    let log = await PartitionLog.open(dir, config);
    log.append(makeSizedBatch(1, 10, 0x61, 0)); // a producer timestamp of 1970
    await log.close();
    log = await PartitionLog.open(dir, config);
    log.append(makeSizedBatch(1, 10, 0x61, 0), { nowMs: Date.now() });
    assert.equal(log.segmentCount, 1);
    log.append(makeSizedBatch(1, 10), { nowMs: Date.now() + 3_600_000 + 60_000 });
    assert.equal(log.segmentCount, 2);
    await log.close();
  });

  it('scans batch headers from an offset, with producer fields', async () => {
    const log = await freshLog({ segmentBytesMax: 500 });
    for (let i = 0; i < 10; i++) {
      log.append(makeBatch({ records: [{ value: Buffer.alloc(150) }, { value: Buffer.alloc(1) }], producerId: 7, producerEpoch: 1, baseSequence: i * 2 }));
    }
    assert.ok(log.segmentCount > 3);
    const seen: [number, number, number, number][] = [];
    await log.scanBatchHeaders(5, (header) => {
      seen.push([header.baseOffset, header.lastOffset, header.producerId, header.baseSequence]);
    });
    assert.deepEqual(seen, Array.from({ length: 8 }, (_, k) => [(k + 2) * 2, (k + 2) * 2 + 1, 7, (k + 2) * 2]));
    let visits = 0;
    await log.scanBatchHeaders(0, () => ++visits < 3);
    assert.equal(visits, 3);
    await log.close();
  });
});
