// The cluster checker must catch each violation it exists to catch. Synthetic replica logs are built with the e2e
// batch encoder (record-batch.mjs), then broken one way at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateRecords, recordLine } from '../lib/records.mjs';
import { encodeBatch, parseBatches, crc32c } from '../lib/record-batch.mjs';
import { checkCluster } from '../lib/replica-check.mjs';

const records = generateRecords(40, { seed: 11 });
const produced = records.map(recordLine);
const PARTITIONS = 2;
const NODES = [1, 2, 3];
const segName = (base) => `${String(base).padStart(20, '0')}.log`;

/**
 * A healthy cluster: record i goes to partition i % 2; batches of 3 records; a second segment starts at offset 12 in
 * every partition. Returns { acks, replicaLogs, layout } where layout is partition -> [producer indexes in offset order].
 */
function healthy({ order = (p) => [...Array(records.length).keys()].filter((i) => i % PARTITIONS === p) } = {}) {
  const layout = new Map();
  const acks = [];
  const replicaLogs = new Map();
  for (let p = 0; p < PARTITIONS; p++) {
    const indexes = order(p);
    layout.set(p, indexes);
    const segments = [];
    let current = null;
    for (let at = 0; at < indexes.length; at += 3) {
      const chunk = indexes.slice(at, at + 3);
      if (current === null || (at >= 12 && current.base < 12)) {
        current = { base: at, parts: [] };
        segments.push(current);
      }
      current.parts.push(encodeBatch(chunk.map((i) => records[i]), { baseOffset: at, partitionLeaderEpoch: 1, timestampMs: 1_700_000_000_000 }));
      chunk.forEach((i, k) => acks.push({ index: i, partition: p, offset: at + k }));
    }
    const files = segments.map((s) => ({ name: segName(s.base), bytes: Buffer.concat(s.parts) }));
    replicaLogs.set(p, new Map(NODES.map((id) => [id, files.map((f) => ({ name: f.name, bytes: Buffer.from(f.bytes) }))])));
  }
  return { acks, replicaLogs, layout };
}

const check = (o) => checkCluster({ produced, ...o });

test('the batch codec round-trips records, including null keys and header values, and checks the CRC', () => {
  const rs = [{ key: null, value: Buffer.from('a'), headers: [{ name: Buffer.from('h'), value: null }] }, records[1]];
  const b = encodeBatch(rs, { baseOffset: 7, producerId: 42, producerEpoch: 3, baseSequence: 9 });
  const { batches, error } = parseBatches(b);
  assert.equal(error, null);
  assert.equal(batches[0].producerId, 42);
  assert.equal(batches[0].baseSequence, 9);
  assert.deepEqual(batches[0].records.map((r) => r.offset), [7, 8]);
  assert.deepEqual(batches[0].records.map(recordLine), rs.map(recordLine));
  // Known CRC-32C check value ("123456789" -> e3069283).
  assert.equal(crc32c(Buffer.from('123456789')).toString(16), 'e3069283');
  const torn = parseBatches(b.subarray(0, b.length - 1));
  assert.match(torn.error, /runs past the end/);
  const flipped = Buffer.from(b);
  flipped[b.length - 1] ^= 1;
  assert.match(parseBatches(flipped).error, /CRC-32C mismatch/);
});

test('a healthy cluster passes, with consumers that re-read records', () => {
  const { acks, replicaLogs, layout } = healthy();
  const consumed = [];
  for (const [p, idx] of layout) idx.forEach((i, o) => consumed.push({ partition: p, offset: o, line: produced[i] }));
  consumed.push(consumed[3]); // a re-delivery after a rebalance is fine
  const r = check({ acks, replicaLogs, consumed });
  assert.equal(r.ok, true, r.errors.join('\n'));
  assert.equal(r.stats.storedRecords, 40);
  assert.equal(r.stats.replicaCopies, 6);
  assert.equal(r.stats.consumedAcked, 40);
});

test('a replica that differs by one byte fails (byte-for-byte comparison)', () => {
  const { acks, replicaLogs } = healthy();
  const seg = replicaLogs.get(1).get(3)[1];
  seg.bytes[20] ^= 0xff; // inside the CRC field: records still parse on the other replicas
  const r = check({ acks, replicaLogs });
  assert.equal(r.ok, false);
  assert.match(r.errors.join('\n'), /partition 1: segment 0+12\.log differs between node 1 .* and node 3 .* from byte 20/);
});

test('a replica that is behind (shorter log) fails', () => {
  const { acks, replicaLogs } = healthy();
  const segs = replicaLogs.get(0).get(2);
  const { batches } = parseBatches(segs[1].bytes);
  segs[1] = { name: segs[1].name, bytes: segs[1].bytes.subarray(0, batches[1].position) };
  const r = check({ acks, replicaLogs });
  assert.equal(r.ok, false);
  assert.match(r.errors.join('\n'), /differs between node 1 .* and node 2/);
});

test('a replica without the partition fails', () => {
  const { acks, replicaLogs } = healthy();
  replicaLogs.get(0).set(2, null);
  assert.match(check({ acks, replicaLogs }).errors.join('\n'), /replica on node 2 has no partition directory/);
});

test('a lost acknowledged record fails', () => {
  const { acks, replicaLogs } = healthy();
  acks.push({ index: 40, partition: 0, offset: 20 });
  const lines = [...produced, recordLine(generateRecords(41, { seed: 11 })[40])];
  const r = checkCluster({ produced: lines, acks, replicaLogs });
  assert.equal(r.ok, false);
  assert.equal(r.stats.lost, 1);
  assert.match(r.errors.join('\n'), /acknowledged record 40 .* on no replica/);
});

test('an acknowledged record stored twice fails, and so does one at another offset than its ack', () => {
  // Partition 0 holds record 2 twice (offsets 1 and 2 both record 2) instead of records 2 and 4.
  const twice = healthy({ order: (p) => (p === 0 ? [0, 2, 2, ...[...Array(40).keys()].filter((i) => i % 2 === 0 && i > 4)] : [...Array(40).keys()].filter((i) => i % 2 === 1)) });
  const acks = twice.acks.filter((a) => !(a.partition === 0 && a.offset === 2));
  const r = check({ acks, replicaLogs: twice.replicaLogs });
  assert.equal(r.ok, false);
  assert.match(r.errors.join('\n'), /acknowledged record 2 is stored 2 times: 0\/1 0\/2/);

  const { acks: acks2, replicaLogs } = healthy();
  const moved = acks2.map((a) => (a.index === 6 ? { ...a, offset: a.offset + 1 } : a));
  assert.match(check({ acks: moved, replicaLogs }).errors.join('\n'), /acknowledged record 6 is at 0\/3, its ack said 0\/4/);
});

test('an unacknowledged record may be stored once but not twice', () => {
  const { acks, replicaLogs } = healthy();
  const withoutAck = acks.filter((a) => a.index !== 8);
  const once = check({ acks: [...withoutAck, { index: 8, error: 'timeout' }], replicaLogs });
  assert.equal(once.ok, true, once.errors.join('\n'));
  assert.equal(once.stats.unackedStored, 1);

  const twice = healthy({ order: (p) => (p === 0 ? [...[...Array(40).keys()].filter((i) => i % 2 === 0), 8] : [...Array(40).keys()].filter((i) => i % 2 === 1)) });
  const r = check({ acks: twice.acks.filter((a) => a.index !== 8), replicaLogs: twice.replicaLogs, ordered: false });
  assert.equal(r.ok, false);
  assert.match(r.errors.join('\n'), /unacknowledged record 8 is stored 2 times/);
});

test('offsets that are not dense fail, on every replica', () => {
  const { acks, replicaLogs } = healthy();
  // Rebuild partition 1's second segment with its batches starting at 13 instead of 12 (a hole at 12).
  const p1 = [...Array(40).keys()].filter((i) => i % 2 === 1);
  const parts = [];
  for (let at = 12; at < p1.length; at += 3) parts.push(encodeBatch(p1.slice(at, at + 3).map((i) => records[i]), { baseOffset: at + 1, partitionLeaderEpoch: 1, timestampMs: 1 }));
  for (const id of NODES) replicaLogs.get(1).get(id)[1] = { name: segName(12), bytes: Buffer.concat(parts) };
  const r = check({ acks, replicaLogs });
  assert.equal(r.ok, false);
  const text = r.errors.join('\n');
  assert.match(text, /partition 1 node 1 .*first batch at offset 13, not the segment's base 12/);
  assert.match(text, /partition 1 node 1 .*batch at offset 13 follows offset 11 \(offsets not dense\)/);
});

test('a corrupted batch (bad CRC on every replica) fails even though the replicas agree', () => {
  const { acks, replicaLogs } = healthy();
  for (const id of NODES) replicaLogs.get(0).get(id)[0].bytes[70] ^= 1;
  assert.match(check({ acks, replicaLogs }).errors.join('\n'), /partition 0 node 1 0+\.log: at byte 0: CRC-32C mismatch/);
});

test('a stored record nobody produced fails, and so does one out of produce order', () => {
  const { acks, replicaLogs } = healthy();
  const r = checkCluster({ produced: produced.map((l, i) => (i === 5 ? `${l}00` : l)), acks, replicaLogs });
  assert.match(r.errors.join('\n'), /a record nobody produced/);

  const swapped = healthy({ order: (p) => { const idx = [...Array(40).keys()].filter((i) => i % 2 === p); if (p === 1) [idx[4], idx[5]] = [idx[5], idx[4]]; return idx; } });
  const r2 = check(swapped);
  assert.match(r2.errors.join('\n'), /record 9 stored after record 11 \(produce order broken\)/);
  assert.equal(check({ ...swapped, ordered: false }).ok, true);
});

test('a consumer that saw a record which later vanished or changed fails', () => {
  const { acks, replicaLogs, layout } = healthy();
  const seenBeyond = [{ partition: 0, offset: 20, line: produced[0] }];
  assert.match(check({ acks, replicaLogs, consumed: seenBeyond }).errors.join('\n'), /read 0\/20 but no replica holds that offset now \(the record vanished\)/);
  const seenOther = [{ partition: 1, offset: 3, line: produced[layout.get(1)[4]] }];
  assert.match(check({ acks, replicaLogs, consumed: seenOther }).errors.join('\n'), /read 1\/3 as .* but it now holds .* \(the record changed\)/);
});
