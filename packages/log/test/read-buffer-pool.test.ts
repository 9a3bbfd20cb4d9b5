import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PartitionLog, ReadBufferPool, releaseReadBuffer, sharedReadBufferPool } from '../src/index.js';
import { makeSizedBatch } from './support/batches.js';
import { tempDir, testConfig } from './support/fixtures.js';

describe('read buffer pool', () => {
  it('lends views of pooled memory, takes each back once, and ignores buffers it did not lend', () => {
    const pool = new ReadBufferPool(256 * 1024, 1);
    const small = pool.take(1000);
    assert.equal(small.length, 1000);
    assert.equal(pool.release(small), false, 'small reads are not pooled');
    const a = pool.take(100_000);
    assert.equal(a.length, 100_000);
    assert.equal(a.buffer.byteLength, 256 * 1024);
    assert.equal(pool.release(a.subarray(10, 20)), true, 'any view of the lent memory releases it');
    assert.equal(pool.release(a), false, 'a second release is ignored');
    const b = pool.take(200_000);
    assert.equal(b.buffer, a.buffer, 'the released memory is reused');
    const c = pool.take(200_000);
    assert.notEqual(c.buffer, b.buffer, 'memory still lent is never handed out twice');
    
    assert.equal(pool.release(b), true);
    assert.equal(pool.release(c), true);
    assert.equal(pool.stats.free, 1, 'at most freeBuffersMax kept');
    assert.equal(pool.release(Buffer.alloc(300_000)), false);
    assert.equal(pool.take(300_000).buffer.byteLength >= 300_000, true, 'larger than a pooled buffer: its own memory');
  });
});

describe('log reads with recycled windows', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('returns the right bytes when windows are released and reused between reads, and distinct memory for reads in flight', async () => {
    const { dir, cleanup } = await tempDir('pool');
    cleanups.push(cleanup);
    const log = await PartitionLog.open(dir, testConfig({ segmentBytesMax: 64 * 1024 * 1024 }));
    const batches: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const batch = makeSizedBatch(16, 1024, 0x41 + (i % 26));
      batches.push(Buffer.from(batch));
      log.append(batch);
    }
    const batchBytes = batches[0]!.length;
    const expected = (from: number, count: number): Buffer => {
      const parts = batches.slice(from, from + count).map((b, i) => {
        const copy = Buffer.from(b);
        copy.writeBigInt64BE(BigInt((from + i) * 16), 0); // the log assigned these base offsets
        return copy;
      });
      return Buffer.concat(parts);
    };
    const createdBefore = sharedReadBufferPool.stats.created;
    for (let round = 0; round < 5; round++) {
      for (let from = 0; from < 40; from += 7) {
        const read = await log.read(from * 16, 8 * batchBytes);
        assert.ok(read.kind === 'records');
        assert.deepEqual(read.records, expected(from, Math.min(8, 40 - from)), `round ${round}, batch ${from}`);
        releaseReadBuffer(read.records);
      }
    }
    assert.ok(sharedReadBufferPool.stats.created - createdBefore <= 2, 'released windows were reused');

    // Reads in flight together never share memory; each stays intact until released.
    const together = await Promise.all([0, 10, 20, 30].map((from) => log.read(from * 16, 8 * batchBytes)));
    const memories = new Set(together.map((r) => (r.kind === 'records' ? r.records.buffer : null)));
    assert.equal(memories.size, 4);
    together.forEach((r, i) => {
      assert.ok(r.kind === 'records');
      assert.deepEqual(r.records, expected(i * 10, 8));
    });
    for (const r of together) if (r.kind === 'records') releaseReadBuffer(r.records);
    await log.close();
  });
});
