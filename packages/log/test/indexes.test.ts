import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OffsetIndex } from '../src/offset-index.js';
import { TimeIndex } from '../src/time-index.js';
import { PartitionLog } from '../src/index.js';
import { makeBatch } from './support/batches.js';
import { tempDir, testConfig } from './support/fixtures.js';

describe('offset index', () => {
  it('looks up the last entry at or below a relative offset', () => {
    const index = OffsetIndex.empty(1);
    for (let i = 1; i <= 100; i++) index.append(i * 10, i * 1000);
    assert.equal(index.lookup(0), 0);
    assert.equal(index.lookup(9), 0);
    assert.equal(index.lookup(10), 1000);
    assert.equal(index.lookup(555), 55_000);
    assert.equal(index.lookup(10_000), 100_000);
    assert.deepEqual(index.lookupEntry(5), { relativeOffset: 0, position: 0 });
    assert.deepEqual(index.lookupEntry(25), { relativeOffset: 20, position: 2000 });
    assert.equal(index.toBuffer().length, 800);
  });

  it('rejects corrupt files: partial entries, entries out of order, positions past the log', () => {
    const index = OffsetIndex.empty();
    index.append(5, 100);
    index.append(9, 300);
    const bytes = Buffer.from(index.toBuffer());
    assert.ok(OffsetIndex.fromFile(Buffer.from(bytes), 1000) !== null);
    assert.equal(OffsetIndex.fromFile(bytes.subarray(0, 12), 1000), null);
    assert.equal(OffsetIndex.fromFile(Buffer.from(bytes), 300), null);
    const swapped = Buffer.concat([bytes.subarray(8), bytes.subarray(0, 8)]);
    assert.equal(OffsetIndex.fromFile(swapped, 1000), null);
    assert.ok(OffsetIndex.fromFile(Buffer.alloc(0), 0) !== null);
  });
});

describe('time index', () => {
  it('only keeps growing timestamps and finds a safe scan start strictly below the target', () => {
    const index = TimeIndex.empty(1);
    assert.equal(index.maybeAppend(100, 0), true);
    assert.equal(index.maybeAppend(100, 3), false);
    assert.equal(index.maybeAppend(50, 4), false);
    assert.equal(index.maybeAppend(200, 5), true);
    assert.equal(index.maybeAppend(300, 9), true);
    assert.equal(index.scanStartFor(100), 0);
    assert.equal(index.scanStartFor(101), 0);
    assert.equal(index.scanStartFor(200), 0);
    assert.equal(index.scanStartFor(201), 5);
    assert.equal(index.scanStartFor(1000), 9);
    assert.equal(index.lastTimestampMs, 300);
    assert.equal(TimeIndex.fromFile(index.toBuffer(), 9), null, 'relative offset 9 is past an end of 9');
    assert.equal(TimeIndex.fromFile(Buffer.from(index.toBuffer()), 10)!.entryCount, 3);
  });
});

describe('offsetForTimestamp with out-of-order timestamps', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('returns the first offset (in offset order) whose timestamp reaches the target', async () => {
    const { dir, cleanup } = await tempDir('ooo');
    cleanups.push(cleanup);
    const log = await PartitionLog.open(dir, testConfig({ indexIntervalBytes: 1, segmentBytesMax: 400 }));
    const timestamps = [5000, 1000, 3000, 7000, 2000, 6500, 100];
    for (const timestampMs of timestamps) log.append(makeBatch({ baseTimestampMs: timestampMs, records: [{ value: Buffer.alloc(80), timestampMs }] }));
    assert.ok(log.segmentCount > 2);
    for (const target of [0, 100, 999, 2500, 5000, 5001, 6000, 6600, 7000, 7001]) {
      const expected = timestamps.findIndex((timestampMs) => timestampMs >= target);
      const found = await log.offsetForTimestamp(target);
      if (expected < 0) assert.equal(found, null, `target ${target}`);
      else assert.deepEqual(found, { offset: expected, timestampMs: timestamps[expected] }, `target ${target}`);
    }
    await log.close();
  });
});
