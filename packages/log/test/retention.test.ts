import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PartitionLog } from '../src/index.js';
import { simulateCrash } from '../src/partition-log.js';
import { decodeBatches, makeBatch, makeSizedBatch } from './support/batches.js';
import { tempDirsForSuite, testConfig } from './support/fixtures.js';

describe('retention, deleteRecordsBefore and timestamps', () => {
  const dirFor = tempDirsForSuite();

  it('deletes whole sealed segments older than retentionMs, never the active one', async () => {
    const dir = await dirFor('ret-time');
    const config = testConfig({ segmentBytesMax: 400, retentionMs: 1000 });
    const log = await PartitionLog.open(dir, config);
    // 10 batches, 2 per segment, timestamps 0, 100, ..., 900
    for (let i = 0; i < 10; i++) log.append(makeSizedBatch(1, 120, 0x61, i * 100));
    assert.equal(log.segmentCount, 5);
    assert.deepEqual(log.segmentBaseOffsets, [0, 2, 4, 6, 8]);
    // At 1250 the segments whose newest record is before 250 expire: [0,1] (max 100), [2,3] (max 300) stays.
    let result = await log.applyRetention(1250);
    assert.deepEqual([result.deletedSegments, result.logStartOffset], [1, 2]);
    assert.deepEqual(log.segmentBaseOffsets, [2, 4, 6, 8]);
    // Far in the future: every sealed segment goes, the active one stays.
    result = await log.applyRetention(1_000_000);
    assert.deepEqual([result.deletedSegments, result.logStartOffset], [3, 8]);
    assert.deepEqual(log.segmentBaseOffsets, [8]);
    assert.deepEqual(await log.read(3, 100), { kind: 'offsetOutOfRange', logStartOffset: 8, logEndOffset: 10 });
    const files = (await readdir(dir)).filter((name) => name.endsWith('.log'));
    assert.deepEqual(files, ['00000000000000000008.log']);
    await log.close();
    const reopened = await PartitionLog.open(dir, config);
    assert.equal(reopened.logStartOffset, 8);
    await reopened.close();
  });

  it('deletes the oldest sealed segments while the log stays at least retentionBytes without them', async () => {
    const dir = await dirFor('ret-size');
    const batch = () => makeSizedBatch(1, 120);
    const batchBytes = batch().length;
    const log = await PartitionLog.open(dir, testConfig({ segmentBytesMax: 2 * batchBytes, retentionBytes: 5 * batchBytes }));
    for (let i = 0; i < 9; i++) log.append(batch());
    assert.equal(log.segmentCount, 5); // 2+2+2+2+1 batches
    const result = await log.applyRetention(0);
    // 9 batches; dropping 2 segments leaves 5 batches (= limit), dropping a third would leave 3.
    assert.deepEqual([result.deletedSegments, result.deletedBytes, result.logStartOffset], [2, 4 * batchBytes, 4]);
    assert.equal(log.sizeBytes, 5 * batchBytes);
    await log.close();
  });

  it('deleteRecordsBefore advances the start offset durably and deletes segments wholly below it', async () => {
    const dir = await dirFor('delete-records');
    const config = testConfig({ segmentBytesMax: 400 });
    let log = await PartitionLog.open(dir, config);
    for (let i = 0; i < 10; i++) log.append(makeSizedBatch(1, 120));
    assert.deepEqual(await log.deleteRecordsBefore(5), { kind: 'ok', logStartOffset: 5 });
    assert.deepEqual(log.segmentBaseOffsets, [4, 6, 8]);
    assert.deepEqual(await log.read(4, 1000), { kind: 'offsetOutOfRange', logStartOffset: 5, logEndOffset: 10 });
    const first = await log.read(5, 1);
    assert.ok(first.kind === 'records');
    assert.equal(decodeBatches(first.records)[0]!.baseOffset, 5);
    assert.deepEqual(await log.deleteRecordsBefore(3), { kind: 'ok', logStartOffset: 5 });
    assert.deepEqual(await log.deleteRecordsBefore(11), { kind: 'offsetOutOfRange', logStartOffset: 5, logEndOffset: 10 });
    // Crash (no close) and reopen: the start offset survived.
    simulateCrash(log);
    log = await PartitionLog.open(dir, config);
    assert.equal(log.logStartOffset, 5);
    // Delete everything: the active segment is rolled so nothing below the start remains.
    assert.deepEqual(await log.deleteRecordsBefore(10), { kind: 'ok', logStartOffset: 10 });
    assert.deepEqual(log.segmentBaseOffsets, [10]);
    assert.equal(log.sizeBytes, 0);
    assert.equal(log.append(makeSizedBatch(1, 1)).baseOffset, 10);
    await log.close();
    log = await PartitionLog.open(dir, config);
    assert.deepEqual([log.logStartOffset, log.logEndOffset], [10, 11]);
    await log.close();
  });

  it('segments left below a persisted log start offset (crash before their deletion) are removed on open', async () => {
    const dir = await dirFor('leftover');
    const config = testConfig({ segmentBytesMax: 400 });
    let log = await PartitionLog.open(dir, config);
    for (let i = 0; i < 10; i++) log.append(makeSizedBatch(1, 120));
    await log.close();
    // As if deleteRecordsBefore(7) had persisted its checkpoint and crashed before deleting anything.
    await writeFile(join(dir, 'log-start-offset'), '7\n');
    log = await PartitionLog.open(dir, config);
    assert.equal(log.logStartOffset, 7);
    assert.deepEqual(log.segmentBaseOffsets, [6, 8]);
    assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.log')), ['00000000000000000006.log', '00000000000000000008.log']);
    await log.close();
  });

  it('offsetForTimestamp finds the first record at or after a timestamp, across segments and inside batches', async () => {
    const dir = await dirFor('timestamps');
    const log = await PartitionLog.open(dir, testConfig({ segmentBytesMax: 600, indexIntervalBytes: 100 }));
    // batch i holds records at 1000*i + 0, +10, +20 (offsets 3i .. 3i+2)
    for (let i = 0; i < 20; i++) {
      log.append(makeBatch({ baseTimestampMs: 1000 * i, records: [0, 10, 20].map((delta) => ({ value: Buffer.alloc(50), timestampMs: 1000 * i + delta })) }));
    }
    assert.ok(log.segmentCount > 3);
    assert.deepEqual(await log.offsetForTimestamp(-5), { offset: 0, timestampMs: 0 });
    assert.deepEqual(await log.offsetForTimestamp(7005), { offset: 22, timestampMs: 7010 });
    assert.deepEqual(await log.offsetForTimestamp(7010), { offset: 22, timestampMs: 7010 });
    assert.deepEqual(await log.offsetForTimestamp(7021), { offset: 24, timestampMs: 8000 });
    assert.deepEqual(await log.offsetForTimestamp(19_020), { offset: 59, timestampMs: 19_020 });
    assert.equal(await log.offsetForTimestamp(19_021), null);
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(await log.offsetForTimestamp(1000 * i + 15), { offset: 3 * i + 2, timestampMs: 1000 * i + 20 });
    }
    // Never below the log start offset.
    await log.deleteRecordsBefore(31);
    assert.deepEqual(await log.offsetForTimestamp(0), { offset: 31, timestampMs: 10_000 });
    await log.close();
  });

  it('offsetForTimestamp answers compressed batches with the batch base offset', async () => {
    const dir = await dirFor('ts-compressed');
    const log = await PartitionLog.open(dir, testConfig());
    log.append(makeBatch({ attributes: 1, baseTimestampMs: 100, records: [{ value: Buffer.from('a'), timestampMs: 100 }, { value: Buffer.from('b'), timestampMs: 200 }] }));
    assert.deepEqual(await log.offsetForTimestamp(150), { offset: 0, timestampMs: 200 });
    await log.close();
  });
});
