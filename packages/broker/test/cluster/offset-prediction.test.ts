// acks=1 on a Raft partition leader: answered once the entry is durable in the leader's own log, before it commits,
// with the outcome apply later computes (offset-prediction.ts). A RaftPartition over a real PartitionLog and a
// scripted host: the test decides when each proposal is durable, when it commits and what is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '@tributary/log';
import { EntryType, Role, raftGroupId, type CommitResult, type Entry, type NodeId, type RaftHost, type RaftIndex, type Term, type TrackedProposal } from '@tributary/raft';
import type { ProduceOutcome } from '../../src/partitions/partition-replica.js';
import { RaftPartition, encodePartitionEntry } from '../../src/cluster/raft-partition.js';
import { batchOf, recordsIn } from '../support/batches.js';

const silent = pino({ level: 'silent' });

interface Deferred<T> { promise: Promise<T>; resolve: (v: T) => void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  return { promise: new Promise<T>((r) => (resolve = r)), resolve };
}

interface Proposal { index: number; term: number; data: Uint8Array; durable: Deferred<boolean>; committed: Deferred<CommitResult> }

/** A RaftHost as the partition sees it: this node leads in `term`; the test settles durability and commits. */
class ScriptedHost {
  readonly nodeId = 1;
  role: Role = Role.Leader;
  term = 1;
  lastIndex = 0;
  readonly proposals: Proposal[] = [];
  group(): unknown {
    return { role: this.role, term: this.term, leaderId: this.role === Role.Leader ? 1 : 2 };
  }
  proposeTracked(_group: unknown, data: Uint8Array): TrackedProposal {
    const p: Proposal = { index: ++this.lastIndex, term: this.term, data, durable: deferred(), committed: deferred() };
    this.proposals.push(p);
    return { index: p.index as RaftIndex, durable: p.durable.promise, committed: p.committed.promise };
  }
  entryOf(p: Proposal): Entry {
    return { index: p.index as RaftIndex, term: p.term as Term, type: EntryType.Normal, data: p.data };
  }
  /** An entry this leader did not propose through the partition (a no-op, another term's entry): takes an index. */
  foreignEntry(term: number, data: Uint8Array = new Uint8Array(0)): Entry {
    return { index: ++this.lastIndex as RaftIndex, term: term as Term, type: EntryType.Normal, data };
  }
}

const plain = (...values: string[]): Buffer => batchOf(values.map((v) => ({ key: null, value: Buffer.from(v) })));
const idem = (producerId: number, producerEpoch: number, baseSequence: number, ...values: string[]): Buffer =>
  batchOf(values.map((v) => ({ key: null, value: Buffer.from(v) })), { producerId, producerEpoch, baseSequence });

/** Resolves with the promise's value, or 'pending' if it has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms = 50): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

async function withPartition(fn: (p: RaftPartition, host: ScriptedHost, failures: Error[], log: PartitionLog) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-predict-'));
  const host = new ScriptedHost();
  const failures: Error[] = [];
  const log = await PartitionLog.open(join(dir, 'p0'), DEFAULT_LOG_CONFIG);
  const p = new RaftPartition('t', 0, raftGroupId(2), log, host as unknown as RaftHost, await RaftPartition.recover(log), silent, (err) => failures.push(err));
  try {
    await fn(p, host, failures, log);
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Values and offsets the partition serves from 0 to its high watermark. */
async function served(p: RaftPartition): Promise<string[]> {
  const r = await p.read(0 as never, 1 << 20, true);
  assert.equal(r.kind, 'ok');
  return recordsIn(r.kind === 'ok' ? r.result.records : null).map((x) => `${x.offset}:${x.value!.toString()}`);
}

const appendedAt = (o: ProduceOutcome | 'pending'): number | string =>
  o === 'pending' ? 'pending' : o.kind === 'appended' ? o.baseOffset : o.kind === 'duplicate' ? `duplicate@${o.baseOffset}` : o.kind;

test('acks=1: idempotent duplicates, sequence gaps, fenced and new epochs are predicted before commit, exactly as apply decides', async () => {
  await withPartition(async (p, host, failures: Error[]) => {
    p.apply([host.foreignEntry(1)]); // the term's no-op
    // applied first (acks=all): producer 8 has sequences 0..1 at offsets 0..1 in the applied state
    const first = p.produce(idem(8, 0, 0, 'p8-0', 'p8-1'), [], -1, false);
    host.proposals[0]!.durable.resolve(true);
    p.apply([host.entryOf(host.proposals[0]!)]);
    host.proposals[0]!.committed.resolve({ ok: true, index: 2 as RaftIndex });
    assert.equal(appendedAt(await first), 0);

    const batches = [
      plain('a0', 'a1', 'a2'),           // offsets 2..4
      idem(7, 0, 0, 'b0', 'b1'),         // 5..6
      idem(7, 0, 0, 'b0', 'b1'),         // a retry while the original is pending: duplicate of 5
      idem(7, 0, 5, 'gap'),              // sequence gap
      idem(7, 0, 2, 'c0'),               // 7
      idem(8, 0, 0, 'p8-0', 'p8-1'),     // a retry of an applied batch: duplicate of 0 (from the applied state)
      idem(8, 0, 2, 'p8-2'),             // 8: continues the applied producer
      idem(7, 1, 0, 'd0'),               // 9: a new epoch starts at sequence 0
      idem(7, 0, 3, 'stale'),            // the old epoch is fenced now
      idem(9, 0, 40, 'e0'),              // 10: an unknown producer may start anywhere
      plain('f0'),                       // 11
    ];
    const answers = batches.map((b) => p.produce(b, [], 1, false));
    const mine = host.proposals.slice(1);
    assert.deepEqual(await Promise.all(answers.map((a) => within(a))), batches.map(() => 'pending'), 'nothing answered before the leader\'s own log holds the entry');
    for (const m of mine) m.durable.resolve(true);
    const outcomes = (await Promise.all(answers.map((a) => within(a, 2_000)))).map(appendedAt);
    assert.deepEqual(outcomes, [2, 5, 'duplicate@5', 'outOfOrderSequence', 7, 'duplicate@0', 8, 9, 'invalidProducerEpoch', 10, 11]);
    assert.equal(p.highWatermark, 2, 'answered before any of them was applied');

    // apply checks each prediction (a difference would stop the replica)
    p.apply(mine.map((m) => host.entryOf(m)));
    for (const m of mine) m.committed.resolve({ ok: true, index: m.index as RaftIndex });
    assert.deepEqual(failures, []);
    assert.deepEqual(await served(p), ['0:p8-0', '1:p8-1', '2:a0', '3:a1', '4:a2', '5:b0', '6:b1', '7:c0', '8:p8-2', '9:d0', '10:e0', '11:f0']);

    // after a drained pipeline the view continues from the applied state; LogAppendTime is predicted too
    const stamped = p.produce(plain('g0'), [], 1, true);
    const g = host.proposals[host.proposals.length - 1]!;
    g.durable.resolve(true);
    const gOutcome = await within(stamped, 2_000);
    assert.ok(gOutcome !== 'pending' && gOutcome.kind === 'appended' && gOutcome.baseOffset === 12 && gOutcome.logAppendTimeMs > 0, JSON.stringify(gOutcome));
    p.apply([host.entryOf(g)]);
    assert.deepEqual(failures, [], 'LogAppendTime: the applied stamp is the predicted one');
  });
});

test('acks=1 waits while entries of an earlier term are not applied, then answers before its own entry commits', async () => {
  await withPartition(async (p, host, failures: Error[]) => {
    // a previous leader's entry (term 1, two records) is in this node's log, not applied; this node leads term 2
    const earlier = host.foreignEntry(1, encodePartitionEntry(plain('old0', 'old1'), false, 1));
    host.term = 2;
    const noop = host.foreignEntry(2);
    const answer = p.produce(plain('new'), [], 1, false);
    const mine = host.proposals[0]!;
    mine.durable.resolve(true);
    assert.equal(await within(answer), 'pending', 'cannot be predicted before the earlier term\'s entry is applied');
    p.apply([earlier, noop]);
    assert.equal(appendedAt(await within(answer, 2_000)), 2, 'offset after the earlier term\'s batch, before its own commit');
    p.apply([host.entryOf(mine)]);
    assert.deepEqual(failures, []);

    // an entry applied before it could be predicted answers with the applied outcome (after commit)
    const gap = host.foreignEntry(2); // e.g. a configuration change proposed by other code
    const late = p.produce(plain('late'), [], 1, false);
    const lateProposal = host.proposals[1]!;
    lateProposal.durable.resolve(true);
    assert.equal(await within(late), 'pending');
    p.apply([gap, host.entryOf(lateProposal)]);
    assert.equal(await within(late), 'pending', 'no prediction: waits for the commit');
    lateProposal.committed.resolve({ ok: true, index: lateProposal.index as RaftIndex });
    assert.equal(appendedAt(await within(late, 2_000)), 3);
    assert.deepEqual(failures, []);
  });
});

test('acks=1: a leadership change answers NOT_LEADER for entries not durable or not predictable; overwritten entries are not an invariant break', async () => {
  await withPartition(async (p, host, failures: Error[]) => {
    p.apply([host.foreignEntry(1)]);
    const a = p.produce(plain('a'), [], 1, false);
    const b = p.produce(plain('b'), [], 1, false);
    const [pa, pb] = host.proposals;
    pa!.durable.resolve(true);
    assert.equal(appendedAt(await within(a, 2_000)), 0, 'durable here: answered (and may be lost, as in Kafka)');
    // leadership moves before b is durable here: b's proposal fails
    host.role = Role.Follower;
    pb!.durable.resolve(false);
    pb!.committed.resolve({ ok: false, reason: 'leadership-lost', leaderId: 2 as NodeId });
    const bOutcome = await within(b, 2_000);
    assert.equal(bOutcome === 'pending' ? 'pending' : bOutcome.kind, 'notLeader');
    // the new leader (term 2) overwrote both indexes with its own entries: applied without complaint
    p.apply([
      { index: pa!.index as RaftIndex, term: 2 as Term, type: EntryType.Normal, data: new Uint8Array(0) },
      { index: pb!.index as RaftIndex, term: 2 as Term, type: EntryType.Normal, data: encodePartitionEntry(plain('other'), false, 5) },
    ]);
    assert.deepEqual(failures, []);
    assert.deepEqual(await served(p), ['0:other']);

    // leading term 3: c is durable but waits for the term's no-op to apply; leadership moves on meanwhile
    host.role = Role.Leader;
    host.term = 3;
    host.lastIndex = pb!.index;
    host.foreignEntry(3); // the no-op, never applied here
    const c = p.produce(plain('c'), [], 1, false);
    const pc = host.proposals[2]!;
    pc.durable.resolve(true);
    assert.equal(await within(c), 'pending');
    host.role = Role.Follower;
    p.leadershipChanged(Role.Follower);
    pc.committed.resolve({ ok: false, reason: 'leadership-lost', leaderId: 2 as NodeId });
    const cOutcome = await within(c, 2_000);
    assert.equal(cOutcome === 'pending' ? 'pending' : cOutcome.kind, 'notLeader', 'answered at once, not when the index is applied some day');

    // leading again (term 4): the view starts over from the applied state
    host.role = Role.Leader;
    host.term = 4;
    host.lastIndex = pb!.index;
    p.apply([host.foreignEntry(4)]);
    const d = p.produce(plain('d'), [], 1, false);
    host.proposals[3]!.durable.resolve(true);
    assert.equal(appendedAt(await within(d, 2_000)), 1);
  });
});

test('apply stops the replica when an applied outcome differs from the leader\'s prediction (invariant break)', async () => {
  await withPartition(async (p, host, failures: Error[]) => {
    p.apply([host.foreignEntry(1)]);
    const first = p.produce(idem(4, 0, 0, 'x'), [], -1, false);
    const p0 = host.proposals[0]!;
    p0.durable.resolve(true);
    p.apply([host.entryOf(p0)]);
    p0.committed.resolve({ ok: true, index: p0.index as RaftIndex });
    assert.equal(appendedAt(await first), 0);
    const a = p.produce(plain('a'), [], 1, false);
    const pa = host.proposals[1]!;
    pa.durable.resolve(true);
    assert.equal(appendedAt(await within(a, 2_000)), 1);
    assert.equal(failures.length, 0);
    // impossible in Raft (the proposed index and term applied with other content), so the prediction cannot hold
    p.apply([{ index: pa.index as RaftIndex, term: pa.term as Term, type: EntryType.Normal, data: encodePartitionEntry(idem(4, 0, 0, 'x'), false, 1) }]);
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.message, /predicted appended at 1 and applied duplicate at 0/);
  });
});
