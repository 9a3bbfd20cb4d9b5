import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerGroupStateMachine } from '../../src/consumer-groups/group-state-machine.js';
import { GroupErrorCode as E } from '../../src/consumer-groups/error-codes.js';
import { encodeSubscription } from '../../src/consumer-groups/consumer-protocol.js';
import { GroupHarness } from './group-harness.js';

/** Three members joined into a Stable generation; returns their ids (the first is the leader). */
function stableGroupOf(h: GroupHarness, count: number): string[] {
  const joins = [];
  for (let i = 0; i < count; i++) joins.push(h.joinNew({ clientId: `c${i}` }));
  h.advance(0);
  h.advance(h.group.state === 'PreparingRebalance' ? 10_000 : 0);
  const results = joins.map((j) => h.joined(j.token));
  const leader = results.find((r) => r.leaderId === r.memberId);
  assert.ok(leader, 'one member is the leader');
  const generationId = leader.generationId;
  const assignments = Object.fromEntries(results.map((r) => [r.memberId, `for-${r.memberId}`]));
  const syncTokens = results.map((r) => h.sync(r.memberId, generationId, r.memberId === leader.memberId ? assignments : {}));
  for (const [i, t] of syncTokens.entries()) assert.equal(h.synced(t).assignment.toString(), `for-${results[i]!.memberId}`);
  assert.equal(h.group.state, 'Stable');
  return [leader.memberId, ...results.filter((r) => r.memberId !== leader.memberId).map((r) => r.memberId)];
}

test('first join v4+ gets MEMBER_ID_REQUIRED with a new id; the rejoin is parked until the initial delay ends', () => {
  const h = new GroupHarness(3000);
  const first = h.joined(h.join({ requireKnownMemberId: true, clientId: 'app' }));
  assert.equal(first.errorCode, E.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^app-/);
  assert.equal(h.group.state, 'Empty');
  const token = h.join({ memberId: first.memberId, requireKnownMemberId: true });
  assert.equal(h.group.state, 'PreparingRebalance');
  h.advance(2999);
  assert.equal(h.joins.has(token), false, 'parked during the initial rebalance delay');
  h.advance(1);
  const joined = h.joined(token);
  assert.equal(joined.errorCode, E.NONE);
  assert.equal(joined.generationId, 1);
  assert.equal(joined.leaderId, first.memberId);
  assert.equal(joined.protocolName, 'range');
  assert.equal(joined.members.length, 1);
  assert.equal(h.group.state, 'CompletingRebalance');
});

test('an unknown member id on a fresh join is UNKNOWN_MEMBER_ID', () => {
  const h = new GroupHarness();
  assert.equal(h.joined(h.join({ memberId: 'ghost' })).errorCode, E.UNKNOWN_MEMBER_ID);
});

test('members arriving during the initial delay extend it and all land in one generation', () => {
  const h = new GroupHarness(1000);
  const a = h.joinNew({ clientId: 'a', rebalanceTimeoutMs: 5000 });
  h.advance(900);
  const b = h.joinNew({ clientId: 'b', rebalanceTimeoutMs: 5000 });
  h.advance(900); // the first delay expired with a new member: wait another delay
  assert.equal(h.group.state, 'PreparingRebalance');
  const c = h.joinNew({ clientId: 'c', rebalanceTimeoutMs: 5000 });
  h.advance(1200);
  assert.equal(h.group.state, 'CompletingRebalance');
  const results = [a, b, c].map((j) => h.joined(j.token));
  assert.deepEqual(new Set(results.map((r) => r.generationId)), new Set([1]));
  const leader = results.filter((r) => r.members.length > 0);
  assert.equal(leader.length, 1, 'only the leader gets the member list');
  assert.equal(leader[0]!.members.length, 3);
  assert.equal(leader[0]!.memberId, a.memberId);
});

test('sync: followers wait for the leader, everyone gets its own assignment, then Stable', () => {
  const h = new GroupHarness();
  const a = h.joinNew({ clientId: 'a' });
  const b = h.joinNew({ clientId: 'b' });
  h.advance(0);
  const gen = h.joined(a.token).generationId;
  const followerSync = h.sync(b.memberId, gen);
  assert.equal(h.syncs.has(followerSync), false, 'parked until the leader assigns');
  const leaderSync = h.sync(a.memberId, gen, { [a.memberId]: 'A', [b.memberId]: 'B' });
  assert.equal(h.synced(leaderSync).assignment.toString(), 'A');
  assert.equal(h.synced(followerSync).assignment.toString(), 'B');
  assert.equal(h.group.state, 'Stable');
  assert.equal(h.persisted.at(-1)?.members.length, 2, 'the generation is persisted with its assignment');
  // A sync in Stable answers the stored assignment.
  assert.equal(h.synced(h.sync(b.memberId, gen)).assignment.toString(), 'B');
});

test('sync errors: unknown member, illegal generation, inconsistent protocol (v5), rebalance in progress', () => {
  const h = new GroupHarness();
  const [leader, follower] = stableGroupOf(h, 2);
  const gen = h.group.generationId;
  assert.equal(h.synced(h.sync('nobody', gen)).errorCode, E.UNKNOWN_MEMBER_ID);
  assert.equal(h.synced(h.sync(follower!, gen + 1)).errorCode, E.ILLEGAL_GENERATION);
  assert.equal(h.synced(h.sync(follower!, gen, {}, { protocolName: 'roundrobin' })).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(h.synced(h.sync(follower!, gen, {}, { protocolType: 'connect' })).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(h.synced(h.sync(follower!, gen, {}, { protocolType: 'consumer', protocolName: 'range' })).errorCode, E.NONE);
  h.join({ memberId: leader }); // the leader rejoining starts a rebalance
  assert.equal(h.group.state, 'PreparingRebalance');
  assert.equal(h.synced(h.sync(follower!, gen)).errorCode, E.REBALANCE_IN_PROGRESS);
});

test('heartbeat answers NONE when stable, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS during a rebalance', () => {
  const h = new GroupHarness();
  const [a, b] = stableGroupOf(h, 2);
  const gen = h.group.generationId;
  assert.equal(h.heartbeat(a!, gen), E.NONE);
  assert.equal(h.heartbeat(a!, gen - 1), E.ILLEGAL_GENERATION);
  assert.equal(h.heartbeat('nobody', gen), E.UNKNOWN_MEMBER_ID);
  const c = h.joinNew({ clientId: 'c' });
  assert.equal(h.group.state, 'PreparingRebalance');
  assert.equal(h.heartbeat(b!, gen), E.REBALANCE_IN_PROGRESS);
  // Everyone rejoins: the join completes at once, without waiting for the rebalance timeout.
  const ta = h.join({ memberId: a! });
  const tb = h.join({ memberId: b! });
  assert.equal(h.group.state, 'CompletingRebalance');
  for (const t of [ta, tb, c.token]) assert.equal(h.joined(t).generationId, gen + 1);
  assert.equal(h.heartbeat(b!, gen + 1), E.NONE, 'heartbeats during CompletingRebalance are accepted');
});

test('a member that stops heartbeating is evicted after its session timeout and the rest rebalance', () => {
  const h = new GroupHarness();
  const [leader, follower] = stableGroupOf(h, 2);
  const gen = h.group.generationId;
  for (let t = 0; t < 3; t++) {
    h.advance(3000);
    assert.equal(h.heartbeat(follower!, gen), E.NONE);
  }
  assert.equal(h.group.state, 'Stable');
  h.advance(1000);
  assert.equal(h.group.state, 'PreparingRebalance', 'the silent leader was evicted');
  assert.equal(h.group.members.has(leader as never), false);
  assert.equal(h.heartbeat(follower!, gen), E.REBALANCE_IN_PROGRESS);
  const t = h.join({ memberId: follower! });
  const joined = h.joined(t);
  assert.equal(joined.generationId, gen + 1);
  assert.equal(joined.leaderId, follower, 'the survivor becomes leader');
  assert.equal(joined.members.length, 1);
});

test('a member that does not rejoin within the rebalance timeout is removed; a leader that rejoins keeps its place', () => {
  const h = new GroupHarness();
  const [leader, follower] = stableGroupOf(h, 2);
  const gen = h.group.generationId;
  const t = h.join({ memberId: leader! });
  assert.equal(h.group.state, 'PreparingRebalance');
  // The follower stays alive (heartbeats answer REBALANCE_IN_PROGRESS) but never rejoins.
  for (let elapsed = 0; elapsed < 27_000; elapsed += 3000) {
    h.advance(3000);
    assert.equal(h.heartbeat(follower!, gen), E.REBALANCE_IN_PROGRESS);
  }
  h.advance(2999);
  assert.equal(h.joins.has(t), false);
  h.advance(1);
  const joined = h.joined(t);
  assert.equal(joined.generationId, gen + 1);
  assert.equal(joined.members.length, 1);
  assert.equal(h.group.members.has(follower as never), false);
  assert.equal(h.heartbeat(follower!, gen), E.UNKNOWN_MEMBER_ID);
});

test('a member that never syncs is removed after the rebalance timeout', () => {
  const h = new GroupHarness();
  const a = h.joinNew({ clientId: 'a' });
  const b = h.joinNew({ clientId: 'b' });
  h.advance(0);
  assert.equal(h.group.state, 'CompletingRebalance');
  h.advance(30_000);
  assert.equal(h.group.state, 'Empty', 'both pending-sync members removed');
  assert.equal(h.group.memberCount, 0);
  assert.equal(h.heartbeat(a.memberId, 1), E.UNKNOWN_MEMBER_ID);
  assert.equal(h.heartbeat(b.memberId, 1), E.UNKNOWN_MEMBER_ID);
});

test('leave during a rebalance completes the join for the members that remain', () => {
  const h = new GroupHarness();
  const [a, b, c] = stableGroupOf(h, 3);
  const gen = h.group.generationId;
  const ta = h.join({ memberId: a! });
  const tb = h.join({ memberId: b! });
  assert.equal(h.group.state, 'PreparingRebalance');
  assert.deepEqual(h.leave({ memberId: c! }), [E.NONE]);
  assert.equal(h.group.state, 'CompletingRebalance');
  assert.equal(h.joined(ta).generationId, gen + 1);
  assert.equal(h.joined(ta).members.length, 2);
  assert.equal(h.joined(tb).generationId, gen + 1);
});

test('a parked member that leaves gets UNKNOWN_MEMBER_ID for its join; batched leave reports per member', () => {
  const h = new GroupHarness(1000);
  const a = h.joinNew({ clientId: 'a' });
  const b = h.joinNew({ clientId: 'b' });
  assert.deepEqual(h.leave({ memberId: a.memberId }, { memberId: 'ghost' }, { memberId: b.memberId }), [E.NONE, E.UNKNOWN_MEMBER_ID, E.NONE]);
  assert.equal(h.joined(a.token).errorCode, E.UNKNOWN_MEMBER_ID);
  assert.equal(h.joined(b.token).errorCode, E.UNKNOWN_MEMBER_ID);
  h.advance(2000); // members were added during the first delay, so it is extended once
  assert.equal(h.group.state, 'Empty');
  assert.equal(h.persisted.at(-1)?.members.length, 0);
});

test('the last member leaving a stable group makes it Empty (persisted)', () => {
  const h = new GroupHarness();
  const [a] = stableGroupOf(h, 1);
  const gen = h.group.generationId;
  assert.deepEqual(h.leave({ memberId: a! }), [E.NONE]);
  assert.equal(h.group.state, 'Empty');
  assert.equal(h.group.generationId, gen + 1);
  assert.equal(h.persisted.at(-1)?.members.length, 0);
});

test('a member whose join answer was lost gets the same generation again; a stable follower rejoining unchanged does not rebalance', () => {
  const h = new GroupHarness();
  const a = h.joinNew({ clientId: 'a' });
  const b = h.joinNew({ clientId: 'b' });
  h.advance(0);
  const gen = h.joined(a.token).generationId;
  const again = h.joined(h.join({ memberId: b.memberId }));
  assert.equal(again.generationId, gen);
  assert.equal(h.group.state, 'CompletingRebalance');
  h.sync(a.memberId, gen, { [a.memberId]: 'A', [b.memberId]: 'B' });
  const stableAgain = h.joined(h.join({ memberId: b.memberId }));
  assert.equal(stableAgain.generationId, gen);
  assert.equal(h.group.state, 'Stable');
  // A changed subscription does rebalance.
  h.join({ memberId: b.memberId, protocols: [{ name: 'range', metadata: encodeSubscription(['t', 'u']) }] });
  assert.equal(h.group.state, 'PreparingRebalance');
});

test('a new join while members wait in CompletingRebalance answers their syncs with REBALANCE_IN_PROGRESS', () => {
  const h = new GroupHarness();
  const a = h.joinNew({ clientId: 'a' });
  const b = h.joinNew({ clientId: 'b' });
  h.advance(0);
  const gen = h.joined(a.token).generationId;
  const followerSync = h.sync(b.memberId, gen);
  h.joinNew({ clientId: 'c' });
  assert.equal(h.synced(followerSync).errorCode, E.REBALANCE_IN_PROGRESS);
  assert.equal(h.group.state, 'PreparingRebalance');
});

test('INCONSISTENT_GROUP_PROTOCOL for another protocol type or no common protocol; empty group accepts any', () => {
  const h = new GroupHarness();
  stableGroupOf(h, 1);
  assert.equal(h.joined(h.join({ protocolType: 'connect' })).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(h.joined(h.join({ protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] })).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  const fresh = new GroupHarness();
  assert.equal(fresh.joined(fresh.join({ protocolType: '' })).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(fresh.joined(fresh.join({ protocols: [] })).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
});

test('protocol selection: the protocol all members support with the most first-choice votes, ties to the leader', () => {
  const sub = encodeSubscription(['t']);
  const offer = (...names: string[]) => names.map((name) => ({ name, metadata: sub }));
  const h = new GroupHarness();
  const a = h.joinNew({ clientId: 'a', protocols: offer('cooperative-sticky', 'range') });
  h.joinNew({ clientId: 'b', protocols: offer('range', 'cooperative-sticky') });
  h.joinNew({ clientId: 'c', protocols: offer('range', 'roundrobin') });
  h.advance(0);
  assert.equal(h.joined(a.token).protocolName, 'range', 'cooperative-sticky is not supported by c');

  const tie = new GroupHarness();
  const x = tie.joinNew({ clientId: 'x', protocols: offer('cooperative-sticky', 'range') });
  tie.joinNew({ clientId: 'y', protocols: offer('range', 'cooperative-sticky') });
  tie.advance(0);
  assert.equal(tie.joined(x.token).protocolName, 'cooperative-sticky', "a tie goes to the leader's preference");
});

test('static member: joins without MEMBER_ID_REQUIRED, rejoins after a restart with a new id and no rebalance, old id fenced', () => {
  const h = new GroupHarness();
  const first = h.join({ instanceId: 'i-1', clientId: 's', requireKnownMemberId: true });
  const b = h.joinNew({ clientId: 'b' });
  h.advance(0);
  const joined = h.joined(first);
  assert.equal(joined.errorCode, E.NONE);
  const oldId = joined.memberId;
  const gen = joined.generationId;
  h.sync(joined.leaderId, gen, { [oldId]: 'S', [b.memberId]: 'B' }, { instanceId: joined.leaderId === oldId ? 'i-1' : null });
  assert.equal(h.group.state, 'Stable');
  // The static member restarts and joins with an empty member id and its instance id.
  const rejoin = h.joined(h.join({ instanceId: 'i-1', clientId: 's', requireKnownMemberId: true }));
  assert.equal(rejoin.errorCode, E.NONE);
  assert.notEqual(rejoin.memberId, oldId);
  assert.equal(rejoin.generationId, gen, 'same generation: no rebalance');
  assert.equal(h.group.state, 'Stable');
  assert.notEqual(rejoin.leaderId, rejoin.memberId, 'a rejoined static leader must not assign again');
  assert.equal(h.synced(h.sync(rejoin.memberId, gen, {}, { instanceId: 'i-1' })).assignment.toString(), 'S', 'keeps its assignment');
  assert.equal(h.heartbeat(oldId, gen, 'i-1'), E.FENCED_INSTANCE_ID);
  assert.equal(h.commitCheck(oldId, gen, 'i-1'), E.FENCED_INSTANCE_ID);
  assert.equal(h.joined(h.join({ memberId: oldId, instanceId: 'i-1' })).errorCode, E.FENCED_INSTANCE_ID);
  assert.equal(h.heartbeat(rejoin.memberId, gen, 'i-1'), E.NONE);
  assert.equal(h.heartbeat(rejoin.memberId, gen, 'i-unknown'), E.UNKNOWN_MEMBER_ID);
  // Leaving by instance id alone (as admin tools do) removes it and rebalances.
  assert.deepEqual(h.leave({ memberId: '', groupInstanceId: 'i-1' }), [E.NONE]);
  assert.equal(h.group.state, 'PreparingRebalance');
});

test('a static leader rejoining a stable group with JoinGroup v9 gets skipAssignment and the member list (KIP-814)', () => {
  const h = new GroupHarness();
  const s = h.join({ instanceId: 'lead' });
  h.advance(0);
  const joined = h.joined(s);
  assert.equal(joined.leaderId, joined.memberId);
  h.sync(joined.memberId, joined.generationId, { [joined.memberId]: 'L' }, { instanceId: 'lead' });
  const rejoin = h.joined(h.join({ instanceId: 'lead', supportsSkipAssignment: true }));
  assert.equal(rejoin.errorCode, E.NONE);
  assert.equal(rejoin.leaderId, rejoin.memberId, 'told it leads');
  assert.equal(rejoin.skipAssignment, true);
  assert.deepEqual(rejoin.members.map((m) => m.memberId), [rejoin.memberId]);
  assert.equal(rejoin.generationId, joined.generationId);
  assert.equal(h.group.state, 'Stable');
});

test('a static member that does not rejoin keeps its place through a rebalance until its session expires', () => {
  const h = new GroupHarness();
  const s = h.join({ instanceId: 'i-1', clientId: 's', sessionTimeoutMs: 20_000 });
  const d = h.joinNew({ clientId: 'd', sessionTimeoutMs: 20_000 });
  h.advance(0);
  const sid = h.joined(s).memberId;
  const gen = h.joined(s).generationId;
  const leader = h.joined(s).leaderId;
  h.sync(leader, gen, { [sid]: 'S', [d.memberId]: 'D' }, { instanceId: leader === sid ? 'i-1' : null });
  h.sync(leader === sid ? d.memberId : sid, gen, {}, { instanceId: leader === sid ? null : 'i-1' });
  assert.equal(h.group.state, 'Stable');
  h.join({ memberId: d.memberId, clientId: 'd', protocols: [{ name: 'range', metadata: encodeSubscription(['t', 'x']) }], rebalanceTimeoutMs: 5000 });
  assert.equal(h.group.state, 'PreparingRebalance');
  h.advance(5000);
  // Static member did not rejoin within the rebalance timeout, but is not removed.
  assert.ok(h.group.members.has(sid as never));
});

test('a static member restarting while its rebalance is parked fences the old join', () => {
  const h = new GroupHarness(1000);
  const old = h.join({ instanceId: 'i-1' });
  assert.equal(h.group.state, 'PreparingRebalance');
  const replacement = h.join({ instanceId: 'i-1' });
  assert.equal(h.joined(old).errorCode, E.FENCED_INSTANCE_ID);
  h.advance(1000);
  assert.equal(h.joined(replacement).errorCode, E.NONE);
  assert.equal(h.group.memberCount, 1);
});

test('offset commit validation: simple commits only while Empty, members need the current generation', () => {
  const h = new GroupHarness();
  assert.equal(h.commitCheck('', -1), E.NONE, 'simple consumer on an empty group');
  const a = h.joinNew({ clientId: 'a' });
  h.advance(0);
  const gen = h.joined(a.token).generationId;
  assert.equal(h.commitCheck(a.memberId, gen), E.REBALANCE_IN_PROGRESS, 'not yet synced');
  h.sync(a.memberId, gen, { [a.memberId]: 'A' });
  assert.equal(h.commitCheck(a.memberId, gen), E.NONE);
  assert.equal(h.commitCheck(a.memberId, gen + 1), E.ILLEGAL_GENERATION);
  assert.equal(h.commitCheck('ghost', gen), E.UNKNOWN_MEMBER_ID);
  assert.equal(h.commitCheck('', -1), E.UNKNOWN_MEMBER_ID, 'a group using group management refuses simple commits');
  h.joinNew({ clientId: 'b' });
  assert.equal(h.commitCheck(a.memberId, gen), E.NONE, 'commits of the current generation are accepted while preparing a rebalance');
});

test('a pending member (MEMBER_ID_REQUIRED) that never comes back stops blocking the rebalance after its session timeout', () => {
  const h = new GroupHarness();
  const [a] = stableGroupOf(h, 1);
  const first = h.joined(h.join({ requireKnownMemberId: true, sessionTimeoutMs: 10_000 }));
  assert.equal(first.errorCode, E.MEMBER_ID_REQUIRED);
  const t = h.join({ memberId: a!, rebalanceTimeoutMs: 60_000 });
  assert.equal(h.group.state, 'PreparingRebalance');
  assert.equal(h.joins.has(t), false, 'waits for the pending member');
  h.advance(10_000);
  assert.equal(h.joined(t).errorCode, E.NONE);
  assert.equal(h.joined(h.join({ memberId: first.memberId })).errorCode, E.UNKNOWN_MEMBER_ID);
});

test('restore: a persisted stable generation resumes with the same members and generation', () => {
  const h = new GroupHarness();
  const [a, b] = stableGroupOf(h, 2);
  const record = h.persisted.at(-1)!;
  const { group, effects } = ConsumerGroupStateMachine.restore(record, { initialRebalanceDelayMs: 0 }, 50_000);
  const r = new GroupHarness(0, group);
  r.nowMs = 50_000;
  r.apply(effects);
  assert.equal(group.state, 'Stable');
  assert.equal(group.generationId, h.group.generationId);
  assert.equal(r.heartbeat(a!, group.generationId), E.NONE);
  assert.equal(r.synced(r.sync(b!, group.generationId)).assignment.toString(), `for-${b}`);
  assert.deepEqual(group.subscribedTopics, new Set(['t']));
  // b never heartbeats again: evicted after its session timeout.
  for (let i = 0; i < 4; i++) {
    r.advance(3000);
    r.heartbeat(a!, group.generationId);
  }
  assert.equal(group.members.has(b as never), false);
});

test('describe reports metadata and assignments only when Stable; Dead only from Empty', () => {
  const h = new GroupHarness();
  const [a] = stableGroupOf(h, 1);
  const d = h.group.describe();
  assert.equal(d.state, 'Stable');
  assert.equal(d.protocolData, 'range');
  assert.equal(d.members[0]!.assignment.toString(), `for-${a}`);
  assert.deepEqual(encodeSubscription(['t']), d.members[0]!.metadata);
  assert.equal(h.group.markDead(1), false);
  h.leave({ memberId: a! });
  assert.equal(h.group.markDead(1), true);
  assert.equal(h.group.state, 'Dead');
  assert.equal(h.joined(h.join({})).errorCode, E.COORDINATOR_NOT_AVAILABLE);
});
