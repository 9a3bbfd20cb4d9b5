import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProducerStateTable, lastSequenceOf, parseProducerStateSnapshot } from '../src/partitions/producer-state.js';

const b = (firstSeq: number, lastSeq: number, firstOffset: number) => ({
  firstSeq,
  lastSeq,
  firstOffset,
  lastOffset: firstOffset + (lastSeq - firstSeq),
  timestampMs: 0,
});

test('in-order sequences append, repeats are duplicates with original offsets, gaps are out of order', () => {
  const t = new ProducerStateTable();
  assert.equal(t.check(7, 0, 0, 4).kind, 'append');
  t.record(7, 0, b(0, 4, 100));
  assert.equal(t.check(7, 0, 5, 9).kind, 'append');
  t.record(7, 0, b(5, 9, 105));
  const dup = t.check(7, 0, 0, 4);
  assert.equal(dup.kind, 'duplicate');
  if (dup.kind === 'duplicate') assert.equal(dup.batch.firstOffset, 100);
  assert.equal(t.check(7, 0, 11, 12).kind, 'outOfOrder');
  assert.equal(t.check(7, 1, 3, 4).kind, 'outOfOrder', 'new epoch must start at 0');
  assert.equal(t.check(7, 1, 0, 0).kind, 'append');
  t.record(7, 1, b(0, 0, 110));
  assert.equal(t.check(7, 0, 10, 10).kind, 'staleEpoch');
});

test('only the last 5 batches are remembered; sequences wrap at int32 max', () => {
  const t = new ProducerStateTable();
  for (let i = 0; i < 7; i++) t.record(1, 0, b(i, i, i));
  assert.equal(t.check(1, 0, 1, 1).kind, 'outOfOrder');
  assert.equal(t.check(1, 0, 2, 2).kind, 'duplicate');
  assert.equal(lastSequenceOf(2147483646, 3), 1);
});

test('snapshot round trip', () => {
  const t = new ProducerStateTable();
  t.record(3, 2, b(0, 9, 50));
  const snap = parseProducerStateSnapshot(JSON.stringify(t.toSnapshot(60)))!;
  assert.equal(snap.endOffset, 60);
  const u = ProducerStateTable.fromSnapshot(snap);
  assert.equal(u.check(3, 2, 0, 9).kind, 'duplicate');
  assert.equal(parseProducerStateSnapshot('{"version":2}'), null);
  assert.equal(parseProducerStateSnapshot('not json'), null);
});

test('expiry forgets producers idle past the expiration or wholly below the log start offset', () => {
  const t = new ProducerStateTable();
  t.record(1, 0, { firstSeq: 0, lastSeq: 0, firstOffset: 0, lastOffset: 0, timestampMs: 1000 });
  t.record(2, 0, { firstSeq: 0, lastSeq: 0, firstOffset: 10, lastOffset: 10, timestampMs: 90_000 });
  t.record(3, 0, { firstSeq: 0, lastSeq: 0, firstOffset: 20, lastOffset: 20, timestampMs: 99_000 });
  assert.equal(t.expire(100_000, 50_000, 15), 2);
  assert.equal(t.size, 1);
  assert.equal(t.check(3, 0, 0, 0).kind, 'duplicate');
  assert.equal(t.check(2, 0, 7, 7).kind, 'append', 'a forgotten producer may start at any sequence');
});
