// Log-start and producer-expiry commands of a Raft partition (retention, DeleteRecords, producer.id.expiration.ms in
// cluster mode): the entry codec, Kafka's retention rule on the leader, and apply over a real PartitionLog — the
// checkpoint written before anything is deleted, replay after a restart applying nothing twice, a deletion a crash
// interrupted finished at open, expiry deciding the same on a restarted replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, PartitionLog, kafkaOffset, type LogConfig } from '@tributary/log';
import { EntryType, raftGroupId, type Entry, type RaftHost, type RaftIndex, type Term } from '@tributary/raft';
import {
  decodePartitionEntry, encodeAdvanceLogStart, encodeExpireProducers, encodePartitionEntry,
} from '../../src/cluster/partition-entry.js';
import { LeaderEpochCache } from '../../src/cluster/leadership-epochs.js';
import { RaftPartition } from '../../src/cluster/raft-partition.js';
import { retentionLogStart } from '../../src/cluster/retention-plan.js';
import { PartitionCheckpointWriter, readCheckpoint } from '../../src/cluster/snapshots/partition-checkpoint.js';
import { batchOf, recordsIn } from '../support/batches.js';

const silent = pino({ level: 'silent' });
const host = { nodeId: 1, group: () => undefined } as unknown as RaftHost;
const fail = (err: Error): void => assert.fail(err);
/** ~100-byte batches: a few per 256-byte segment. */
const SMALL: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytesMax: 256 };

test('partition entry codec: batch entries (old and new) and commands; unknown kinds refused', () => {
  const records = Buffer.from('batch bytes');
  for (const logAppendTime of [false, true]) {
    const e = decodePartitionEntry(encodePartitionEntry(records, logAppendTime, 1234));
    assert.deepEqual(e.kind === 'batch' && { t: e.logAppendTime, ms: e.appendTimeMs, r: e.records.toString() }, { t: logAppendTime, ms: 1234, r: 'batch bytes' });
  }
  assert.deepEqual(decodePartitionEntry(encodeAdvanceLogStart(kafkaOffset(42), 'deleteRecords')), { kind: 'advanceLogStart', offset: 42, reason: 'deleteRecords' });
  assert.deepEqual(decodePartitionEntry(encodeAdvanceLogStart(kafkaOffset(7), 'retention')), { kind: 'advanceLogStart', offset: 7, reason: 'retention' });
  assert.deepEqual(decodePartitionEntry(encodeExpireProducers(1_700_000_000_000, 86_400_000)), { kind: 'expireProducers', nowMs: 1_700_000_000_000, expirationMs: 86_400_000 });
  // the bytes are stored in Raft logs: the layout the file header documents, to the byte
  assert.equal(encodeAdvanceLogStart(kafkaOffset(0x0102), 'deleteRecords').toString('hex'), '8001' + '0000000000000102' + '02');
  assert.equal(encodeExpireProducers(3, 0x0405).toString('hex'), '8002' + '0000000000000003' + '0000000000000405');
  // a batch entry's first byte was only ever 0 or 1: nothing else is taken for a batch
  for (const flags of [0x02, 0x81, 0x40]) {
    const bad = encodePartitionEntry(records, false, 1);
    bad.writeUInt8(flags, 0);
    assert.throws(() => decodePartitionEntry(bad), /assertion/);
  }
  const unknownCommand = encodeExpireProducers(1, 1);
  unknownCommand.writeUInt8(9, 1);
  assert.throws(() => decodePartitionEntry(unknownCommand), /unknown partition command/);
  assert.throws(() => decodePartitionEntry(encodeAdvanceLogStart(kafkaOffset(1), 'retention').subarray(0, 10)), /unknown partition command/);
});

test('retention rule: whole segments by time and by size, the active one only when non-empty (then the log end)', () => {
  const seg = (base: number, next: number, sizeBytes: number, maxTimestampMs: number) =>
    ({ baseOffset: kafkaOffset(base), nextOffset: kafkaOffset(next), sizeBytes, maxTimestampMs });
  const segments = [seg(0, 10, 100, 1000), seg(10, 20, 100, 2000), seg(20, 25, 50, 3000)];
  const none = { retentionMs: -1, retentionBytes: -1 };
  assert.equal(retentionLogStart(segments, 10_000, none), null);
  assert.equal(retentionLogStart(segments, 2500, { ...none, retentionMs: 1000 }), 10, 'only the first is more than 1 s old');
  assert.equal(retentionLogStart(segments, 3000, { ...none, retentionMs: 999 }), 20);
  assert.equal(retentionLogStart(segments, 5000, { ...none, retentionMs: 1000 }), 25, 'all expired: the active one too (rolled)');
  assert.equal(retentionLogStart(segments, 0, { ...none, retentionBytes: 150 }), 10, '250 bytes, keep at least 150: 150 left');
  assert.equal(retentionLogStart(segments, 0, { ...none, retentionBytes: 151 }), null);
  assert.equal(retentionLogStart(segments, 0, { ...none, retentionBytes: 50 }), 20);
  assert.equal(retentionLogStart(segments, 0, { ...none, retentionBytes: 0 }), 25);
  assert.equal(retentionLogStart(segments, 2500, { retentionMs: 1000, retentionBytes: 50 }), 20, 'the larger of both');
  assert.equal(retentionLogStart(segments, 3500, { retentionMs: 1000, retentionBytes: 150 }), 20, 'the larger of both');
  const emptyActive = [seg(0, 10, 100, 1000), seg(10, 10, 0, -1)];
  assert.equal(retentionLogStart(emptyActive, 10_000, { ...none, retentionMs: 1 }), 10, 'an empty active segment stays');
  assert.equal(retentionLogStart([seg(0, 0, 0, -1)], 10_000, { ...none, retentionMs: 1 }), null);
});

test('leader epoch cache after the log start moves: Kafka truncateFromStart', () => {
  const cache = (): LeaderEpochCache => {
    const c = new LeaderEpochCache();
    for (const [epoch, start] of [[1, 0], [2, 5], [3, 7]] as const) c.assign(epoch, kafkaOffset(start));
    return c;
  };
  const truncated = (at: number): unknown => {
    const c = cache();
    c.truncateFromStart(kafkaOffset(at));
    return c.all.map((e) => [e.epoch, e.startOffset]);
  };
  assert.deepEqual(truncated(0), [[1, 0], [2, 5], [3, 7]]);
  assert.deepEqual(truncated(6), [[2, 6], [3, 7]], 'epoch 2 holds the first offset left');
  assert.deepEqual(truncated(7), [[3, 7]]);
  assert.deepEqual(truncated(9), [[3, 9]]);
});

/** Entries 1.. in order: a leader no-op first, then the given data. */
function entriesOf(datas: readonly Buffer[], term = 1): Entry[] {
  const out: Entry[] = [{ index: 1 as RaftIndex, term: term as Term, type: EntryType.Normal, data: new Uint8Array(0) }];
  datas.forEach((d, i) => out.push({ index: (i + 2) as RaftIndex, term: term as Term, type: EntryType.Normal, data: d }));
  return out;
}

async function openReplica(dir: string, config: LogConfig = SMALL): Promise<RaftPartition> {
  const log = await PartitionLog.open(dir, config);
  const p = new RaftPartition('t', 0, raftGroupId(2), log, host, await RaftPartition.recover(log, await readCheckpoint(dir)), silent, fail);
  p.setCheckpointWriter(new PartitionCheckpointWriter(dir));
  return p;
}

/** Resolves once every command handed over so far has been applied (apply queues entries behind one). */
async function settled(p: RaftPartition): Promise<void> {
  for (let i = 0; i < 200 && p.captureState() === null; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(p.captureState() !== null, 'commands applied');
}

const values = async (p: RaftPartition): Promise<string[]> => {
  const out: string[] = [];
  for (let offset: number = p.logStartOffset; offset < p.highWatermark; ) {
    const r = await p.read(kafkaOffset(offset), 1 << 20, true);
    assert.equal(r.kind, 'ok');
    const recs = recordsIn(r.kind === 'ok' ? r.result.records : null);
    out.push(...recs.map((x) => x.value!.toString()));
    offset = recs.at(-1)!.offset + 1;
  }
  return out;
};
const plain = (v: string): Buffer => encodePartitionEntry(batchOf([{ key: null, value: Buffer.from(v), timestamp: 1000 }]), false, 5000);
const idem = (pid: number, seq: number, v: string, timestampMs: number): Buffer =>
  encodePartitionEntry(batchOf([{ key: null, value: Buffer.from(v), timestamp: timestampMs }], { producerId: pid, producerEpoch: 0, baseSequence: seq }), false, 5000);

test('log start command: checkpoint at its index, whole segments below deleted; replayed after a restart it changes nothing', async () => {
  const base = mkdtempSync(join(tmpdir(), 'trib-trim-'));
  const dir = join(base, 'p');
  try {
    const datas = Array.from({ length: 12 }, (_, i) => plain(`r${i}`));
    datas.push(encodeAdvanceLogStart(kafkaOffset(7), 'deleteRecords'), plain('after'));
    const entries = entriesOf(datas);
    const trimIndex = 14;
    let p = await openReplica(dir);
    const segmentsBefore = readdirSync(dir).filter((n) => n.endsWith('.log')).length;
    assert.equal(segmentsBefore, 1);
    p.apply(entries.slice(0, 13)); // the no-op and the 12 batches
    const segmentsFull = readdirSync(dir).filter((n) => n.endsWith('.log')).sort();
    assert.ok(segmentsFull.length >= 4, `several segments (${segmentsFull.length})`);
    p.apply(entries.slice(13)); // the command and a batch queued behind it
    await settled(p);
    assert.equal(p.logStartOffset, 7);
    assert.deepEqual(await values(p), ['r7', 'r8', 'r9', 'r10', 'r11', 'after']);
    const kept = readdirSync(dir).filter((n) => n.endsWith('.log')).sort();
    assert.ok(kept.length < segmentsFull.length, 'segments wholly below 7 deleted');
    assert.ok(Number(kept[0]!.slice(0, -4)) <= 7, 'the segment holding offset 7 stays');
    const checkpoint = await readCheckpoint(dir);
    assert.deepEqual({ index: checkpoint?.raftIndex, start: checkpoint?.logStartOffset, next: checkpoint?.nextOffset }, { index: trimIndex, start: 7, next: 12 });
    assert.deepEqual(p.epochs.all, [{ epoch: 1, startOffset: 7 }], 'the leader epoch cache starts at the log start (Kafka truncateFromStart)');
    assert.deepEqual(checkpoint?.epochs, [{ epoch: 1, startOffset: 7 }]);
    await p.close();

    // Restart: the host replays the whole committed log (never compacted); entries up to the checkpoint are skipped.
    p = await openReplica(dir);
    assert.equal(p.logStartOffset, 7);
    assert.deepEqual(p.epochs.all, [{ epoch: 1, startOffset: 7 }]);
    p.apply(entries);
    await settled(p);
    assert.equal(p.replayPending, 0);
    assert.deepEqual(await values(p), ['r7', 'r8', 'r9', 'r10', 'r11', 'after'], 'nothing appended twice, nothing lost');
    // A second command at or below the start (a retried DeleteRecords) changes nothing.
    p.apply([{ index: 16 as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: encodeAdvanceLogStart(kafkaOffset(5), 'deleteRecords') }]);
    await settled(p);
    assert.equal(p.logStartOffset, 7);
    // One past the log end (no proposer sends it; every replica would agree to ignore it).
    p.apply([{ index: 17 as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: encodeAdvanceLogStart(kafkaOffset(99), 'deleteRecords') }]);
    await settled(p);
    assert.equal(p.logStartOffset, 7);
    assert.equal(p.appliedPosition().raftIndex, 17);
    await p.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a crash between the checkpoint and the deletion: the deletion is finished at open', async () => {
  const base = mkdtempSync(join(tmpdir(), 'trib-trim-'));
  const dir = join(base, 'p');
  try {
    const entries = entriesOf(Array.from({ length: 10 }, (_, i) => plain(`r${i}`)));
    let p = await openReplica(dir);
    p.apply(entries);
    const state = p.captureState()!;
    await p.close();
    // What applyCommand leaves when the process dies right after its checkpoint: the checkpoint names start 6.
    await new PartitionCheckpointWriter(dir).write({ ...state, logStartOffset: kafkaOffset(6) });
    p = await openReplica(dir);
    assert.equal(p.logStartOffset, 6);
    assert.deepEqual(p.epochs.all, [{ epoch: 1, startOffset: 6 }], 'epochs from the checkpoint, truncated at the finished deletion');
    assert.deepEqual(await values(p), ['r6', 'r7', 'r8', 'r9']);
    p.apply(entries);
    assert.equal(p.appliedPosition().raftIndex, 11);
    await p.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('producer expiry: the time in the entry decides; a new sequence from an expired producer is accepted, also after a restart', async () => {
  const base = mkdtempSync(join(tmpdir(), 'trib-trim-'));
  const dir = join(base, 'p');
  try {
    // producer 7 last wrote at t=1000, producer 8 at t=9000
    const datas = [idem(7, 0, 'a', 1000), idem(7, 1, 'b', 1000), idem(8, 0, 'x', 9000)];
    datas.push(encodeExpireProducers(10_000, 5_000)); // 7 is idle 9 s > 5 s: expired; 8 stays
    datas.push(idem(7, 50, 'c', 11_000)); // unknown producer: any sequence is accepted
    datas.push(idem(8, 50, 'y', 11_000)); // known producer: a gap is refused
    const entries = entriesOf(datas);
    let p = await openReplica(dir);
    p.apply(entries);
    await settled(p);
    assert.deepEqual(await values(p), ['a', 'b', 'x', 'c']);
    await p.close();

    // Restart with the whole committed log replayed: the same decisions (the checkpoint at the expiry holds the
    // producer state without 7), then one more batch of each.
    p = await openReplica(dir);
    p.apply(entries);
    await settled(p);
    p.apply([
      { index: 8 as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: idem(7, 51, 'd', 12_000) },
      { index: 9 as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: idem(8, 1, 'z', 12_000) },
    ]);
    assert.deepEqual(await values(p), ['a', 'b', 'x', 'c', 'd', 'z']);
    await p.close();

    // A replica that never restarted decides the same for a retry of 7's first batch after expiry: appended once more
    // on both (Kafka forgets an expired producer's sequences).
    const other = join(base, 'q');
    const q = await openReplica(other);
    q.apply(entriesOf([...datas, idem(7, 51, 'd', 12_000), idem(8, 1, 'z', 12_000)]));
    await settled(q);
    assert.deepEqual(await values(q), ['a', 'b', 'x', 'c', 'd', 'z']);
    await q.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
