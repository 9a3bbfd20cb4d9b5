import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FlushScheduler, LogClosedError, PartitionLog, type SyncKind } from '../src/index.js';
import { makeSizedBatch, makeValuesBatch } from './support/batches.js';
import { tempDir, testConfig } from './support/fixtures.js';

describe('flush and group commit', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  async function openCounting(overrides = {}, scheduler?: FlushScheduler): Promise<{ log: PartitionLog; syncs: SyncKind[] }> {
    const { dir, cleanup } = await tempDir('flush');
    cleanups.push(cleanup);
    const syncs: SyncKind[] = [];
    const log = await PartitionLog.open(dir, testConfig(overrides), undefined, { onSync: (kind) => syncs.push(kind), flushScheduler: scheduler });
    syncs.length = 0;
    return { log, syncs };
  }

  it('many concurrent flush callers share far fewer fdatasyncs, and each sees its append durable', async () => {
    const { log, syncs } = await openCounting();
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const { lastOffset } = log.append(makeValuesBatch(`p${i}`, 1));
      waits.push(log.flush().then((durable) => assert.ok(durable > lastOffset, `durable ${durable} must cover ${lastOffset}`)));
    }
    await Promise.all(waits);
    const dataSyncs = syncs.filter((kind) => kind === 'data').length;
    assert.ok(dataSyncs <= 2, `expected at most 2 fdatasyncs for 200 callers, got ${dataSyncs}`);
    assert.equal(log.durableEndOffset, 200);
    await log.close();
  });

  it('a flush issued while one runs triggers exactly one more, shared by every caller in between', async () => {
    const { log, syncs } = await openCounting();
    log.append(makeValuesBatch('a', 1));
    const first = log.flush();
    log.append(makeValuesBatch('b', 1));
    const followers = [log.flush(), log.flush(), log.flush()];
    assert.equal(followers[0], followers[1]);
    assert.equal(followers[1], followers[2]);
    assert.equal(await first, 1);
    assert.deepEqual(await Promise.all(followers), [2, 2, 2]);
    assert.equal(syncs.filter((kind) => kind === 'data').length, 2);
    // Nothing new: a flush during an in-flight one covering everything just joins it.
    const again = log.flush();
    assert.equal(log.flush(), again);
    assert.equal(await again, 2);
    await log.close();
  });

  it('durableEndOffset only advances after the fsync', async () => {
    const { log } = await openCounting();
    log.append(makeValuesBatch('a', 3));
    assert.equal(log.durableEndOffset, 0);
    const pending = log.flush();
    assert.equal(log.durableEndOffset, 0);
    await pending;
    assert.equal(log.durableEndOffset, 3);
    await log.close();
  });

  it('a flush after segment rolls also fsyncs the sealed segment files and the directory', async () => {
    const { log, syncs } = await openCounting({ segmentBytesMax: 300 });
    for (let i = 0; i < 4; i++) log.append(makeSizedBatch(1, 200));
    assert.equal(log.segmentCount, 4);
    await log.flush();
    // 3 sealed segments x (log + 2 indexes), 1 directory, 1 active data sync, plus the recovery-point checkpoint.
    assert.equal(syncs.filter((kind) => kind === 'data').length, 1);
    assert.ok(syncs.filter((kind) => kind === 'file').length >= 9);
    assert.ok(syncs.includes('directory'));
    await log.close();
  });

  it('a flush issued while close() runs resolves once close has made everything durable', async () => {
    const { log } = await openCounting();
    log.append(makeValuesBatch('a', 2));
    const closing = log.close();
    assert.equal(await log.flush(), 2);
    await closing;
    await assert.rejects(log.flush(), LogClosedError);
  });

  it("'never' reports logEndOffset as durable and flushes without fsync", async () => {
    const { log, syncs } = await openCounting({ fsyncPolicy: 'never' });
    log.append(makeValuesBatch('a', 2));
    assert.equal(log.durableEndOffset, 2);
    assert.equal(await log.flush(), 2);
    assert.equal(syncs.length, 0);
    await log.close();
  });

  it("'interval' logs are flushed by the shared scheduler, not by a timer of their own", async () => {
    let nowMs = 0;
    const scheduler = new FlushScheduler(() => nowMs);
    const { log, syncs } = await openCounting({ fsyncPolicy: 'interval', flushIntervalMs: 50 }, scheduler);
    assert.equal(scheduler.size, 1);
    log.append(makeValuesBatch('a', 2));
    scheduler.tick(); // not due yet
    assert.equal(syncs.length, 0);
    nowMs = 60;
    scheduler.tick();
    assert.equal(syncs.filter((kind) => kind === 'data').length, 1);
    assert.equal(await log.flush(), 2); // joins the background flush that already covers everything
    assert.equal(syncs.filter((kind) => kind === 'data').length, 1);
    nowMs = 200;
    scheduler.tick(); // nothing new: no fsync
    assert.equal(syncs.filter((kind) => kind === 'data').length, 1);
    await log.close();
    assert.equal(scheduler.size, 0);
  });
});
