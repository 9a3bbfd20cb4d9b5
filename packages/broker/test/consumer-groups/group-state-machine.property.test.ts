// Random interleavings of joins, syncs, heartbeats, leaves and time against the pure state machine, checking
// invariants after every step and that, once clients go quiet, every parked request is answered and the
// group empties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RequestToken } from '../../src/consumer-groups/group-state-machine.js';
import { GroupErrorCode as E } from '../../src/consumer-groups/error-codes.js';
import { GroupHarness } from './group-harness.js';

type Op =
  | { kind: 'join'; client: number }
  | { kind: 'sync'; client: number }
  | { kind: 'heartbeat'; client: number }
  | { kind: 'leave'; client: number }
  | { kind: 'advance'; ms: number };

interface Client {
  memberId: string;
  generationId: number;
  isStatic: boolean;
  lastJoinMembers: string[];
  joinTokens: RequestToken[];
}

const CLIENTS = 4;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), client: fc.integer({ min: 0, max: CLIENTS - 1 }) }),
  fc.record({ kind: fc.constant('sync' as const), client: fc.integer({ min: 0, max: CLIENTS - 1 }) }),
  fc.record({ kind: fc.constant('heartbeat' as const), client: fc.integer({ min: 0, max: CLIENTS - 1 }) }),
  fc.record({ kind: fc.constant('leave' as const), client: fc.integer({ min: 0, max: CLIENTS - 1 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 12_000 }) }),
);

test('state machine invariants hold under random interleavings, and a quiet group drains', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 0, max: 3000 }), (ops, initialDelayMs) => {
      const h = new GroupHarness(initialDelayMs);
      const clients: Client[] = Array.from({ length: CLIENTS }, (_, i) => ({
        memberId: '',
        generationId: -1,
        isStatic: i === CLIENTS - 1,
        lastJoinMembers: [],
        joinTokens: [],
      }));
      const issued: { kind: 'join' | 'sync'; token: RequestToken }[] = [];
      let lastGeneration = 0;
      const absorbAnswers = () => {
        for (const c of clients) {
          for (const token of c.joinTokens) {
            const r = h.joins.get(token);
            if (r === undefined) continue;
            if (r.errorCode === E.NONE || r.errorCode === E.MEMBER_ID_REQUIRED) c.memberId = r.memberId;
            if (r.errorCode === E.NONE) {
              c.generationId = r.generationId;
              c.lastJoinMembers = r.members.map((m) => m.memberId);
            }
            if (r.errorCode === E.UNKNOWN_MEMBER_ID || r.errorCode === E.FENCED_INSTANCE_ID) c.memberId = '';
          }
          c.joinTokens = c.joinTokens.filter((t) => !h.joins.has(t));
        }
      };
      const checkInvariants = () => {
        const g = h.group;
        assert.ok(g.generationId >= lastGeneration, 'generation never decreases');
        lastGeneration = g.generationId;
        if (g.memberCount === 0) assert.equal(g.leaderId, null, 'no leader without members');
        else assert.ok(g.leaderId !== null && g.members.has(g.leaderId), 'the leader is a member');
        if (g.state === 'Empty') assert.equal(g.memberCount, 0, 'Empty has no members');
        if (g.state === 'Stable' || g.state === 'CompletingRebalance') assert.ok(g.memberCount > 0 && g.protocolName !== null);
      };
      for (const op of ops) {
        if (op.kind === 'advance') h.advance(op.ms);
        else {
          const c = clients[op.client]!;
          switch (op.kind) {
            case 'join': {
              const token = h.join({ memberId: c.memberId, instanceId: c.isStatic ? 'static' : null, clientId: `c${op.client}`, requireKnownMemberId: true });
              c.joinTokens.push(token);
              issued.push({ kind: 'join', token });
              break;
            }
            case 'sync': {
              if (c.memberId === '') break;
              const assignments = Object.fromEntries(c.lastJoinMembers.map((m) => [m, `to-${m}`]));
              const token = h.sync(c.memberId, c.generationId, assignments, { instanceId: c.isStatic ? 'static' : null });
              issued.push({ kind: 'sync', token });
              const r = h.syncs.get(token);
              if (r !== undefined && r.errorCode === E.NONE && r.assignment.length > 0) assert.equal(r.assignment.toString(), `to-${c.memberId}`, 'a member gets its own assignment');
              break;
            }
            case 'heartbeat':
              if (c.memberId !== '') h.heartbeat(c.memberId, c.generationId, c.isStatic ? 'static' : null);
              break;
            case 'leave':
              if (c.memberId !== '') h.leave({ memberId: c.memberId, groupInstanceId: c.isStatic ? 'static' : null });
              c.memberId = '';
              break;
          }
        }
        absorbAnswers();
        checkInvariants();
      }
      // Everyone goes quiet: every member is evicted and every parked request answered.
      for (let i = 0; i < 20; i++) h.advance(60_000);
      checkInvariants();
      assert.equal(h.group.memberCount, 0, 'silent members are evicted');
      assert.equal(h.group.state, 'Empty');
      for (const { kind, token } of issued) {
        assert.ok(kind === 'join' ? h.joins.has(token) : h.syncs.has(token), `${kind} ${token} answered`);
      }
    }),
    { numRuns: 150 },
  );
});
