// In-process tests of partition leadership pieces: the leader-epoch cache (Kafka's endOffsetFor rule, the epoch of
// an offset, divergence), a RaftPartition's cache built at apply and rebuilt identically at open, and the ISR rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, PartitionLog, kafkaOffset } from '@tributary/log';
import { EntryType, raftGroupId, type Entry, type RaftHost, type RaftIndex, type Term } from '@tributary/raft';
import { LeaderEpochCache, divergingEpoch } from '../../src/cluster/leadership-epochs.js';
import { IsrTracker, type LeaderProgress } from '../../src/cluster/leadership-isr.js';
import { RaftPartition, encodePartitionEntry } from '../../src/cluster/raft-partition.js';
import { batchOf } from '../support/batches.js';

const silent = pino({ level: 'silent' });
const o = kafkaOffset;

function cacheOf(pairs: [number, number][]): LeaderEpochCache {
  const c = new LeaderEpochCache();
  for (const [epoch, offset] of pairs) c.assign(epoch, o(offset));
  return c;
}

test('LeaderEpochCache: end offset of an epoch = start of the next larger one, log end for the newest', () => {
  // epochs 2 (offsets 0..9), 3 (10..14), 7 (15..19); log end 20
  const c = cacheOf([[2, 0], [2, 4], [3, 10], [3, 12], [7, 15]]);
  assert.deepEqual(c.all.map((e) => [e.epoch, e.startOffset]), [[2, 0], [3, 10], [7, 15]]);
  const end = (epoch: number, current = 7) => c.endOffsetFor(epoch, o(20), current);
  assert.deepEqual(end(2), { epoch: 2, endOffset: 10 });
  assert.deepEqual(end(3), { epoch: 3, endOffset: 15 });
  assert.deepEqual(end(5), { epoch: 3, endOffset: 15 }, 'an epoch that appended nothing: the largest smaller one');
  assert.deepEqual(end(7), { epoch: 7, endOffset: 20 });
  assert.deepEqual(end(1), { epoch: 1, endOffset: 0 }, 'older than every epoch: ends where the first starts');
  assert.deepEqual(end(8), { epoch: -1, endOffset: -1 }, 'newer than anything known');
  assert.deepEqual(end(-1), { epoch: -1, endOffset: -1 });
  // A leader of term 9 that has appended nothing yet: 9 is the newest epoch, starting at the log end.
  assert.deepEqual(end(9, 9), { epoch: 9, endOffset: 20 });
  assert.deepEqual(end(7, 9), { epoch: 7, endOffset: 20 });
  assert.deepEqual(end(8, 9), { epoch: 7, endOffset: 20 });
  assert.deepEqual(c.epochAt(0), 2);
  assert.deepEqual(c.epochAt(14), 3);
  assert.deepEqual(c.epochAt(19), 7);
  assert.equal(new LeaderEpochCache().epochAt(0), -1);
  assert.deepEqual(new LeaderEpochCache().endOffsetFor(3, o(0), 3), { epoch: 3, endOffset: 0 });
  assert.throws(() => c.assign(5, o(21)), /after epoch 7/, 'epochs never go back');
});

test('divergingEpoch: a fetcher whose last fetched epoch ends before its fetch offset diverged', () => {
  const c = cacheOf([[2, 0], [3, 10], [7, 15]]);
  assert.equal(divergingEpoch(c, -1, 12, o(20), 7), null, 'no lastFetchedEpoch: no check');
  assert.equal(divergingEpoch(c, 3, 15, o(20), 7), null, 'epoch 3 ends at 15: consistent');
  assert.deepEqual(divergingEpoch(c, 3, 17, o(20), 7), { epoch: 3, endOffset: 15 }, 'fetched past the end of epoch 3');
  assert.deepEqual(divergingEpoch(c, 5, 12, o(20), 7), { epoch: 3, endOffset: 15 }, 'epoch 5 unknown here: ends with 3');
  assert.equal(divergingEpoch(c, 7, 20, o(20), 7), null);
});

test('RaftPartition: the epoch cache follows the entry terms at apply and is rebuilt identically at open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-epochs-'));
  const host = { nodeId: 1, group: () => undefined } as unknown as RaftHost;
  const fail = (err: Error): void => assert.fail(err);
  try {
    const logDir = join(dir, 'p0');
    const terms = [1, 1, 3, 3, 4];
    const entries: Entry[] = terms.map((term, i) => ({
      index: (i + 1) as RaftIndex,
      term: term as Term,
      type: EntryType.Normal,
      data: encodePartitionEntry(Buffer.from(batchOf([{ key: null, value: Buffer.from(`v${i}`) }, { key: null, value: Buffer.from(`w${i}`) }])), false, 1000 + i),
    }));
    let log = await PartitionLog.open(logDir, DEFAULT_LOG_CONFIG);
    let p = new RaftPartition('t', 0, raftGroupId(2), log, host, await RaftPartition.recover(log), silent, fail);
    p.apply(entries);
    const expected = [[1, 0], [3, 4], [4, 8]];
    assert.deepEqual(p.epochs.all.map((e) => [e.epoch, e.startOffset]), expected);
    await p.close();

    log = await PartitionLog.open(logDir, DEFAULT_LOG_CONFIG);
    const recovered = await RaftPartition.recover(log);
    assert.deepEqual(recovered.epochs.all.map((e) => [e.epoch, e.startOffset]), expected, 'rebuilt from the batches at open');
    p = new RaftPartition('t', 0, raftGroupId(2), log, host, recovered, silent, fail);
    p.apply(entries); // the restart replay appends nothing and leaves the cache as it is
    p.apply([{ index: 6 as RaftIndex, term: 6 as Term, type: EntryType.Normal, data: encodePartitionEntry(Buffer.from(batchOf([{ key: null, value: Buffer.from('x') }])), false, 2000) }]);
    assert.deepEqual(p.epochs.all.map((e) => [e.epoch, e.startOffset]), [...expected, [6, 10]]);
    assert.deepEqual(p.epochs.endOffsetFor(4, p.logEndOffset, 6), { epoch: 4, endOffset: 10 });
    await p.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IsrTracker: in sync = heard within the lag time and caught up to the leader log end of lagTimeMs ago', () => {
  const lag = 1000;
  const t = new IsrTracker();
  const progress = (lastIndex: number, match: Record<number, number>): LeaderProgress => ({
    selfId: 1,
    term: 5,
    lastIndex,
    match: new Map([[1, lastIndex], ...Object.entries(match).map(([k, v]) => [Number(k), v] as [number, number])]),
  });
  const heard = new Map<number, number>([[2, 0], [3, 0]]);
  const heardAt = (peer: number) => heard.get(peer);
  // Just elected (no history older than the lag time): every follower heard from recently is in sync.
  assert.deepEqual(t.inSync(progress(10, { 2: 0, 3: 4 }), 0, lag, heardAt), [1, 2, 3]);
  // Load: the leader's log grows; 2 keeps up (a little behind), 3 is stuck at 4.
  for (let now = 100; now <= 1500; now += 100) {
    heard.set(2, now);
    heard.set(3, now);
    t.observe(5, 10 + now / 10, now, lag);
  }
  // at 1500 the leader's last index of 1000 ms ago (500) was 60: 2 at 150 is in sync, 3 at 4 is not
  assert.deepEqual(t.inSync(progress(160, { 2: 150, 3: 4 }), 1500, lag, heardAt), [1, 2]);
  // A follower that matches the log end right now is in sync whatever the history says.
  assert.deepEqual(t.inSync(progress(160, { 2: 150, 3: 160 }), 1500, lag, heardAt), [1, 2, 3]);
  // Silence: a node not heard from within the lag time is out, caught up or not.
  heard.set(2, 400);
  assert.deepEqual(t.inSync(progress(160, { 2: 160, 3: 160 }), 1500, lag, heardAt), [1, 3]);
  heard.delete(3);
  assert.deepEqual(t.inSync(progress(160, { 2: 160, 3: 160 }), 1500, lag, heardAt), [1]);
  // A new term starts a new history (the grace of a fresh election again).
  heard.set(2, 1500);
  heard.set(3, 1500);
  assert.deepEqual(t.inSync({ ...progress(200, { 2: 0, 3: 0 }), term: 6 }, 1600, lag, heardAt), [1, 2, 3]);
});
