import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Inflights } from '../src/core/progress.js';
import { RaftNode } from '../src/core/raft.js';
import { bootstrapState } from '../src/storage/storage.js';
import { applyConfChange, decodeConf, encodeConf, ConfDecodeError } from '../src/core/conf.js';
import { Role, type NodeId } from '../src/core/types.js';

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
