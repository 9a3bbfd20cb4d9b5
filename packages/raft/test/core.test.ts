import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Inflights } from '../src/core/progress.js';
import { RaftNode } from '../src/core/raft.js';
import { bootstrapState } from '../src/storage/storage.js';
import { applyConfChange, decodeConf, encodeConf, quorumValue, ConfDecodeError } from '../src/core/conf.js';
import { MessageType, Role, type NodeId } from '../src/core/types.js';

test('inflights: behaves like a bounded FIFO of increasing indexes, growing on demand', () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 5 })), { maxLength: 200 }), (ops) => {
    const inf = new Inflights(8);
    const model: number[] = [];
    let next = 1;
    for (const op of ops) {
      if (op === -1) {
        if (!inf.full()) { inf.add(next); model.push(next); next++; }
        assert.equal(inf.full(), model.length >= 8);
      } else {
        const upTo = next - 1 - op;
        inf.freeLE(upTo);
        while (model.length > 0 && model[0]! <= upTo) model.shift();
      }
      assert.equal(inf.count, model.length);
    }
  }));
});

test('core: a single voter elects itself and commits its own proposals after persisting them', () => {
  const node = new RaftNode({ id: 1 as NodeId }, bootstrapState([1 as NodeId]));
  node.campaignNow();
  assert.equal(node.role, Role.Leader);
  const r = node.propose(Buffer.from('x'));
  assert.ok(r.ok);
  let rd = node.ready();
  assert.equal(rd.committedEntries.length, 0, 'nothing is committed before the leader persisted it');
  assert.equal(rd.entries.length, 2);
  node.advance(rd);
  rd = node.ready();
  assert.deepEqual(rd.committedEntries.map((e) => Buffer.from(e.data).toString()), ['', 'x']);
  node.advance(rd);
  assert.equal(node.appliedIndex, 2);
});

test('core: misuse is reported clearly', () => {
  assert.throws(() => new RaftNode({ id: 0 as NodeId }, bootstrapState([1 as NodeId])), RangeError);
  assert.throws(() => new RaftNode({ id: 1 as NodeId, electionTicks: 2, heartbeatTicks: 2 }, bootstrapState([1 as NodeId])), RangeError);
  const node = new RaftNode({ id: 1 as NodeId }, bootstrapState([1 as NodeId]));
  node.campaignNow();
  const rd = node.ready();
  assert.throws(() => node.ready(), /twice/);
  node.advance(rd);
  assert.throws(() => node.advance(rd), /not the outstanding/);
  assert.throws(() => node.compact(99), RangeError);
  const follower = new RaftNode({ id: 2 as NodeId }, bootstrapState([1 as NodeId, 2 as NodeId, 3 as NodeId]));
  assert.deepEqual(follower.propose(Buffer.from('x')), { ok: false, reason: 'not-leader', leaderId: 0 });
});

test('conf: changes validate, and configurations round-trip through their entry encoding', () => {
  const c = { voters: [1, 2, 3] as NodeId[], learners: [] as NodeId[] };
  assert.equal(applyConfChange(c, { type: 'addVoter', nodeId: 2 as NodeId }).ok, false);
  assert.equal(applyConfChange({ voters: [1 as NodeId], learners: [] }, { type: 'removeNode', nodeId: 1 as NodeId }).ok, false);
  const r = applyConfChange(c, { type: 'addLearner', nodeId: 4 as NodeId });
  assert.ok(r.ok);
  assert.deepEqual(decodeConf(encodeConf(r.conf)), { voters: [1, 2, 3], learners: [4] });
  assert.throws(() => decodeConf(Buffer.from([0, 9, 0, 0])), ConfDecodeError);
});

test('quorumValue: the largest value a majority holds, for any list of match indexes', () => {
  fc.assert(fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 9 }), (matches) => {
    const got = quorumValue([...matches]);
    const majority = Math.floor(matches.length / 2) + 1;
    assert.ok(matches.filter((m) => m >= got).length >= majority, `a majority holds ${got}`);
    assert.ok(matches.filter((m) => m >= got + 1).length < majority, `no majority holds ${got + 1}`);
  }));
  assert.equal(quorumValue([]), 0);
  assert.equal(quorumValue([7, 3, 9]), 7);
  assert.equal(quorumValue([1, 5, 2, 8]), 2);
});

test('core: skipRedundantHeartbeats skips only followers that are being sent Appends and answer them', () => {
  const voters = [1, 2, 3] as NodeId[];
  const nodes = new Map(voters.map((id) => [id, new RaftNode({ id, electionTicks: 10, heartbeatTicks: 1, skipRedundantHeartbeats: true, random: () => 0.5 }, bootstrapState(voters))]));
  let deaf: NodeId | null = null; // a follower whose messages are lost (e.g. its node does not host the group yet)
  const heartbeatsTo = new Map<number, number>();
  const pump = (): void => {
    for (let moved = true; moved;) {
      moved = false;
      for (const n of nodes.values()) {
        if (!n.hasReady()) continue;
        moved = true;
        const rd = n.ready();
        for (const m of rd.messages) {
          if (m.type === MessageType.Heartbeat) heartbeatsTo.set(m.to, (heartbeatsTo.get(m.to) ?? 0) + 1);
          if (m.to !== deaf && m.from !== deaf) nodes.get(m.to)!.step(m);
        }
        n.advance(rd);
      }
    }
  };
  const leader = nodes.get(1 as NodeId)!;
  leader.campaignNow();
  pump();
  assert.equal(leader.role, Role.Leader);
  for (let i = 0; i < 3; i++) { leader.propose(Buffer.from(`warm ${i}`)); pump(); leader.tick(); pump(); }
  deaf = 3 as NodeId; // it was caught up (replicating), and now hears nothing
  heartbeatsTo.clear();
  for (let i = 0; i < 10; i++) { leader.propose(Buffer.from(`busy ${i}`)); pump(); leader.tick(); pump(); }
  assert.equal(heartbeatsTo.get(2) ?? 0, 0, 'a follower answering Appends needs no heartbeat');
  assert.ok((heartbeatsTo.get(3) ?? 0) >= 9, `a silent follower keeps getting heartbeats (got ${heartbeatsTo.get(3) ?? 0})`);
});
