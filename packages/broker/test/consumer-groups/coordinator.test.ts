import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConsumerGroupCoordinator, type TimerScheduler } from '../../src/consumer-groups/coordinator.js';
import { GroupErrorCode as E } from '../../src/consumer-groups/error-codes.js';
import { encodeSubscription } from '../../src/consumer-groups/consumer-protocol.js';
import type { JoinGroupResponse } from '../../src/consumer-groups/wire-types.js';

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements TimerScheduler {
  nowMs = 1_000_000;
  private pending: { dueMs: number; callback: () => void; id: number }[] = [];
  private ids = 0;
  setTimer(delayMs: number, callback: () => void): unknown {
    const id = ++this.ids;
    this.pending.push({ dueMs: this.nowMs + delayMs, callback, id });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }
  /** Advances in steps, firing due timers (and the ones they arm) in order. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await settle(); // requests already sent are processed before time moves
    for (;;) {
      this.pending.sort((a, b) => a.dueMs - b.dueMs);
      const next = this.pending[0];
      if (next === undefined || next.dueMs > target) break;
      this.pending.shift();
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      next.callback();
      await settle();
    }
    this.nowMs = target;
    await settle();
  }
}

/** Lets queued promise callbacks (parked answers after writes) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const ctx = { clientId: 'test-client', clientHost: '127.0.0.1' };
const topics = new Map([
  ['orders', 6],
  ['audit', 1],
]);

function makeCoordinator(dataDir: string, clock: FakeClock, extra: Partial<ConstructorParameters<typeof ConsumerGroupCoordinator>[0]> = {}) {
  return new ConsumerGroupCoordinator({
    nodeId: 7,
    advertisedHost: '127.0.0.1',
    advertisedPort: 19092,
    dataDir,
    logger: pino({ level: 'silent' }),
    topicPartitionCount: (topic) => topics.get(topic),
    nowMs: () => clock.nowMs,
    scheduler: clock,
    initialRebalanceDelayMs: 100,
    ...extra,
  });
}

async function withCoordinator(fn: (c: ConsumerGroupCoordinator, clock: FakeClock, dataDir: string) => Promise<void>, extra = {}): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-cg-'));
  const clock = new FakeClock();
  const c = makeCoordinator(dataDir, clock, extra);
  await c.start();
  try {
    await fn(c, clock, dataDir);
  } finally {
    await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const subscription = encodeSubscription(['orders']);
function joinRequest(groupId: string, memberId = '', extra: Record<string, unknown> = {}) {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription }],
    ...extra,
  };
}

/** JoinGroup v5 the way a v4+ client does it: MEMBER_ID_REQUIRED first, then a parked join. */
async function joinV5(c: ConsumerGroupCoordinator, groupId: string): Promise<{ memberId: string; joined: Promise<JoinGroupResponse> }> {
  const first = await c.joinGroup(joinRequest(groupId), 5, ctx);
  assert.equal(first.errorCode, E.MEMBER_ID_REQUIRED);
  return { memberId: first.memberId, joined: c.joinGroup(joinRequest(groupId, first.memberId), 5, ctx) };
}

/** Two members through join and sync to a Stable generation. */
async function stableGroup(c: ConsumerGroupCoordinator, clock: FakeClock, groupId: string) {
  const a = await joinV5(c, groupId);
  const b = await joinV5(c, groupId);
  await clock.advance(200); // b arrived during the initial delay, which is extended once
  const [ja, jb] = await Promise.all([a.joined, b.joined]);
  assert.equal(ja.errorCode, E.NONE);
  const leader = ja.leader === ja.memberId ? ja : jb;
  const follower = leader === ja ? jb : ja;
  assert.equal(leader.members.length, 2);
  const generationId = leader.generationId;
  const followerSync = c.syncGroup({ groupId, generationId, memberId: follower.memberId, assignments: [] }, 3, ctx);
  const leaderSync = await c.syncGroup(
    {
      groupId,
      generationId,
      memberId: leader.memberId,
      assignments: [
        { memberId: leader.memberId, assignment: Buffer.from('L') },
        { memberId: follower.memberId, assignment: Buffer.from('F') },
      ],
    },
    3,
    ctx,
  );
  assert.equal(leaderSync.assignment.toString(), 'L');
  assert.equal((await followerSync).assignment.toString(), 'F');
  return { leader: leader.memberId, follower: follower.memberId, generationId };
}

function commitRequest(groupId: string, generationId: number, memberId: string, offsets: [string, number, number][]) {
  return {
    groupId,
    generationIdOrMemberEpoch: generationId,
    memberId,
    topics: [...new Set(offsets.map(([t]) => t))].map((name) => ({
      name,
      partitions: offsets.filter(([t]) => t === name).map(([, partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedMetadata: 'meta' })),
    })),
  };
}

test('FindCoordinator: this node for every group key, batched from v4, transactions not supported', async () => {
  await withCoordinator(async (c) => {
    const v2 = await c.findCoordinator({ key: 'g', keyType: 0 }, 2, ctx);
    assert.deepEqual([v2.errorCode, v2.nodeId, v2.host, v2.port], [E.NONE, 7, '127.0.0.1', 19092]);
    const v4 = await c.findCoordinator({ keyType: 0, coordinatorKeys: ['a', 'b'] }, 4, ctx);
    assert.deepEqual(
      v4.coordinators.map((x) => [x.key, x.nodeId, x.port, x.errorCode]),
      [
        ['a', 7, 19092, E.NONE],
        ['b', 7, 19092, E.NONE],
      ],
    );
    const txn = await c.findCoordinator({ key: 'tx', keyType: 1 }, 3, ctx);
    assert.equal(txn.errorCode, E.COORDINATOR_NOT_AVAILABLE);
    assert.match(txn.errorMessage ?? '', /transactions/);
    assert.equal((await c.findCoordinator({ key: 'x', keyType: 9 }, 3, ctx)).errorCode, E.INVALID_REQUEST);
  });
});

test('JoinGroup request validation: group id, session timeout bounds, unknown member of a missing group', async () => {
  await withCoordinator(async (c) => {
    assert.equal((await c.joinGroup(joinRequest(''), 5, ctx)).errorCode, E.INVALID_GROUP_ID);
    assert.equal((await c.joinGroup(joinRequest('g', '', { sessionTimeoutMs: 10 }), 5, ctx)).errorCode, E.INVALID_SESSION_TIMEOUT);
    assert.equal((await c.joinGroup(joinRequest('g', 'someone'), 5, ctx)).errorCode, E.UNKNOWN_MEMBER_ID);
    const v6 = await c.joinGroup(joinRequest(''), 6, ctx);
    assert.equal(v6.protocolName, '', 'non-nullable protocol name before v7');
    assert.equal((await c.joinGroup(joinRequest(''), 7, ctx)).protocolName, null);
  });
});

test('join, sync, heartbeat through the coordinator; a silent member is evicted by the timer heap', async () => {
  await withCoordinator(async (c, clock) => {
    const { leader, follower, generationId } = await stableGroup(c, clock, 'g');
    const hb = (memberId: string, gen = generationId) => c.heartbeat({ groupId: 'g', generationId: gen, memberId }, 3, ctx);
    assert.equal((await hb(leader)).errorCode, E.NONE);
    assert.equal((await hb(follower, generationId + 5)).errorCode, E.ILLEGAL_GENERATION);
    assert.equal((await c.heartbeat({ groupId: 'nope', generationId, memberId: leader }, 3, ctx)).errorCode, E.UNKNOWN_MEMBER_ID);
    for (let i = 0; i < 3; i++) {
      await clock.advance(3000);
      assert.equal((await hb(leader)).errorCode, E.NONE);
    }
    await clock.advance(1500); // follower silent for 10.5 s > session timeout
    assert.equal((await hb(leader)).errorCode, E.REBALANCE_IN_PROGRESS);
    const rejoin = await c.joinGroup(joinRequest('g', leader), 5, ctx);
    assert.equal(rejoin.generationId, generationId + 1);
    assert.deepEqual(rejoin.members.map((m) => m.memberId), [leader]);
    const described = await c.describeGroups({ groups: ['g'] }, 5, ctx);
    assert.equal(described.groups[0]!.groupState, 'CompletingRebalance');
  });
});

test('LeaveGroup v0-2 single member and v3+ batched members', async () => {
  await withCoordinator(async (c, clock) => {
    const { leader, follower } = await stableGroup(c, clock, 'g');
    const v1 = await c.leaveGroup({ groupId: 'g', memberId: 'ghost' }, 1, ctx);
    assert.equal(v1.errorCode, E.UNKNOWN_MEMBER_ID);
    const v3 = await c.leaveGroup({ groupId: 'g', members: [{ memberId: leader }, { memberId: follower }, { memberId: 'ghost' }] }, 3, ctx);
    assert.equal(v3.errorCode, E.NONE);
    assert.deepEqual(v3.members.map((m) => m.errorCode), [E.NONE, E.NONE, E.UNKNOWN_MEMBER_ID]);
    const listed = await c.listGroups({}, 4, ctx);
    assert.deepEqual(listed.groups, [{ groupId: 'g', protocolType: 'consumer', groupState: 'Empty', groupType: 'classic' }]);
  });
});

test('offset commit and fetch: members with their generation, simple consumers, unknown topics, metadata size, multi-group fetch', async () => {
  await withCoordinator(async (c, clock) => {
    const { leader, generationId } = await stableGroup(c, clock, 'g');
    const commit = await c.offsetCommit(
      commitRequest('g', generationId, leader, [
        ['orders', 0, 10],
        ['orders', 5, 55],
        ['missing', 0, 1],
        ['orders', 6, 1],
      ]),
      5,
      ctx,
    );
    assert.deepEqual(
      commit.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]),
      [
        ['orders', [E.NONE, E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION]],
        ['missing', [E.UNKNOWN_TOPIC_OR_PARTITION]],
      ],
    );
    const stale = await c.offsetCommit(commitRequest('g', generationId - 1, leader, [['orders', 0, 11]]), 5, ctx);
    assert.equal(stale.topics[0]!.partitions[0]!.errorCode, E.ILLEGAL_GENERATION);
    const simpleOnActive = await c.offsetCommit(commitRequest('g', -1, '', [['orders', 0, 11]]), 2, ctx);
    assert.equal(simpleOnActive.topics[0]!.partitions[0]!.errorCode, E.UNKNOWN_MEMBER_ID);

    // kcat-style commit: generation -1, no member, on a group that does not exist yet.
    const simple = await c.offsetCommit(commitRequest('tool', -1, '', [['audit', 0, 3]]), 2, ctx);
    assert.equal(simple.topics[0]!.partitions[0]!.errorCode, E.NONE);
    assert.equal((await c.offsetCommit(commitRequest('never', 4, 'm', [['audit', 0, 3]]), 2, ctx)).topics[0]!.partitions[0]!.errorCode, E.ILLEGAL_GENERATION);
    const big = await c.offsetCommit(
      { groupId: 'tool', generationId: -1, memberId: '', topics: [{ name: 'audit', partitions: [{ partitionIndex: 0, committedOffset: 4, committedMetadata: 'x'.repeat(5000) }] }] },
      2,
      ctx,
    );
    assert.equal(big.topics[0]!.partitions[0]!.errorCode, E.OFFSET_METADATA_TOO_LARGE);

    const fetched = await c.offsetFetch({ groupId: 'g', topics: [{ name: 'orders', partitionIndexes: [0, 1, 5] }] }, 4, ctx);
    assert.deepEqual(
      fetched.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata]),
      [
        [0, 10, 'meta'],
        [1, -1, ''],
        [5, 55, 'meta'],
      ],
    );
    const all = await c.offsetFetch({ groupId: 'g', topics: null }, 7, ctx);
    assert.deepEqual(all.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]), [['orders', [0, 5]]]);
    const multi = await c.offsetFetch(
      {
        groups: [
          { groupId: 'g', topics: [{ name: 'orders', partitionIndexes: [5] }] },
          { groupId: 'tool', topics: null },
          { groupId: 'unknown', topics: null },
        ],
        requireStable: true,
      },
      8,
      ctx,
    );
    assert.deepEqual(
      multi.groups.map((g) => [g.groupId, g.errorCode, g.topics.flatMap((t) => t.partitions.map((p) => `${t.name}/${p.partitionIndex}=${p.committedOffset}`))]),
      [
        ['g', E.NONE, ['orders/5=55']],
        ['tool', E.NONE, ['audit/0=3']],
        ['unknown', E.NONE, []],
      ],
    );
  });
});

test('offsets and the stable generation survive a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-cg-'));
  const clock = new FakeClock();
  try {
    const first = makeCoordinator(dataDir, clock);
    await first.start();
    const { leader, follower, generationId } = await stableGroup(first, clock, 'g');
    await first.offsetCommit(commitRequest('g', generationId, leader, [['orders', 2, 42]]), 5, ctx);
    await first.offsetCommit(commitRequest('tool', -1, '', [['audit', 0, 7]]), 2, ctx);
    await first.close();

    const second = makeCoordinator(dataDir, clock);
    await second.start();
    const fetched = await second.offsetFetch({ groupId: 'g', topics: [{ name: 'orders', partitionIndexes: [2] }] }, 5, ctx);
    assert.equal(fetched.topics[0]!.partitions[0]!.committedOffset, 42);
    const tool = await second.offsetFetch({ groupId: 'tool', topics: null }, 5, ctx);
    assert.equal(tool.topics[0]!.partitions[0]!.committedOffset, 7);
    // Members keep their generation: no rebalance is needed after a coordinator restart.
    assert.equal((await second.heartbeat({ groupId: 'g', generationId, memberId: follower }, 3, ctx)).errorCode, E.NONE);
    const sync = await second.syncGroup({ groupId: 'g', generationId, memberId: follower, assignments: [] }, 3, ctx);
    assert.equal(sync.assignment.toString(), 'F');
    const described = await second.describeGroups({ groups: ['g'], includeAuthorizedOperations: true }, 4, ctx);
    const group = described.groups[0]!;
    assert.equal(group.groupState, 'Stable');
    assert.equal(group.members.length, 2);
    assert.equal(group.members[0]!.clientHost, '/127.0.0.1');
    assert.notEqual(group.authorizedOperations, -2147483648);
    await second.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('close answers parked joins with NOT_COORDINATOR', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-cg-'));
  const clock = new FakeClock();
  const c = makeCoordinator(dataDir, clock);
  await c.start();
  const { joined } = await joinV5(c, 'g');
  await settle();
  await c.close();
  assert.equal((await joined).errorCode, E.NOT_COORDINATOR);
  rmSync(dataDir, { recursive: true, force: true });
});

test('ListGroups states filter, DescribeGroups of unknown groups, DeleteGroups', async () => {
  await withCoordinator(async (c, clock) => {
    await stableGroup(c, clock, 'busy');
    await c.offsetCommit(commitRequest('idle', -1, '', [['audit', 0, 1]]), 2, ctx);
    const stable = await c.listGroups({ statesFilter: ['stable'] }, 4, ctx);
    assert.deepEqual(stable.groups.map((g) => g.groupId), ['busy']);
    const all = await c.listGroups({}, 3, ctx);
    assert.deepEqual(all.groups.map((g) => g.groupId).sort(), ['busy', 'idle']);
    assert.deepEqual((await c.listGroups({ typesFilter: ['consumer'] }, 5, ctx)).groups, []);

    const old = await c.describeGroups({ groups: ['nothing'] }, 5, ctx);
    assert.deepEqual([old.groups[0]!.errorCode, old.groups[0]!.groupState], [E.NONE, 'Dead']);
    assert.equal(old.groups[0]!.authorizedOperations, -2147483648);
    const v6 = await c.describeGroups({ groups: ['nothing'] }, 6, ctx);
    assert.equal(v6.groups[0]!.errorCode, E.GROUP_ID_NOT_FOUND);

    const deleted = await c.deleteGroups({ groupsNames: ['busy', 'idle', 'nothing', ''] }, 2, ctx);
    assert.deepEqual(
      deleted.results.map((r) => r.errorCode),
      [E.NON_EMPTY_GROUP, E.NONE, E.GROUP_ID_NOT_FOUND, E.INVALID_GROUP_ID],
    );
    assert.equal((await c.offsetFetch({ groupId: 'idle', topics: null }, 5, ctx)).topics.length, 0);
  });
});

test('OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC for subscribed topics of an active group, deletes others', async () => {
  await withCoordinator(async (c, clock) => {
    const { leader, generationId } = await stableGroup(c, clock, 'g');
    await c.offsetCommit(
      commitRequest('g', generationId, leader, [
        ['orders', 0, 1],
        ['audit', 0, 2],
      ]),
      5,
      ctx,
    );
    const res = await c.offsetDelete(
      {
        groupId: 'g',
        topics: [
          { name: 'orders', partitions: [{ partitionIndex: 0 }] },
          { name: 'audit', partitions: [{ partitionIndex: 0 }] },
        ],
      },
      0,
      ctx,
    );
    assert.equal(res.errorCode, E.NONE);
    assert.deepEqual(res.topics.map((t) => t.partitions[0]!.errorCode), [E.GROUP_SUBSCRIBED_TO_TOPIC, E.NONE]);
    const left = await c.offsetFetch({ groupId: 'g', topics: null }, 5, ctx);
    assert.deepEqual(left.topics.map((t) => t.name), ['orders']);
    assert.equal((await c.offsetDelete({ groupId: 'none', topics: [] }, 0, ctx)).errorCode, E.GROUP_ID_NOT_FOUND);
  });
});

test('offsets.retention: an empty group expires its offsets after the retention period, then the group goes away', async () => {
  await withCoordinator(
    async (c, clock) => {
      const { leader, follower, generationId } = await stableGroup(c, clock, 'g');
      await c.offsetCommit(commitRequest('g', generationId, leader, [['orders', 0, 5]]), 5, ctx);
      await c.offsetCommit(commitRequest('tool', -1, '', [['audit', 0, 9]]), 2, ctx);
      await c.leaveGroup({ groupId: 'g', members: [{ memberId: leader }, { memberId: follower }] }, 3, ctx);
      // Stable members' offsets never expire; the empty group's do, `retention` after it became empty.
      await clock.advance(50_000);
      assert.equal((await c.offsetFetch({ groupId: 'g', topics: null }, 5, ctx)).topics.length, 1);
      assert.equal((await c.offsetFetch({ groupId: 'tool', topics: null }, 5, ctx)).topics.length, 1);
      await clock.advance(15_000);
      assert.equal((await c.offsetFetch({ groupId: 'g', topics: null }, 5, ctx)).topics.length, 0);
      assert.equal((await c.offsetFetch({ groupId: 'tool', topics: null }, 5, ctx)).topics.length, 0);
      assert.deepEqual((await c.listGroups({}, 4, ctx)).groups, [], 'empty groups without offsets are removed');
    },
    { offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 5_000 },
  );
});

test('onTopicDeleted removes the topic offsets of every group, durably', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-cg-'));
  const clock = new FakeClock();
  try {
    const first = makeCoordinator(dataDir, clock);
    await first.start();
    await first.offsetCommit(commitRequest('a', -1, '', [['orders', 0, 1], ['audit', 0, 1]]), 2, ctx);
    await first.offsetCommit(commitRequest('b', -1, '', [['orders', 3, 1]]), 2, ctx);
    await first.onTopicDeleted('orders');
    assert.deepEqual((await first.offsetFetch({ groupId: 'a', topics: null }, 5, ctx)).topics.map((t) => t.name), ['audit']);
    await first.close();
    const second = makeCoordinator(dataDir, clock);
    await second.start();
    assert.deepEqual((await second.offsetFetch({ groupId: 'a', topics: null }, 5, ctx)).topics.map((t) => t.name), ['audit']);
    assert.deepEqual((await second.offsetFetch({ groupId: 'b', topics: null }, 5, ctx)).topics, []);
    await second.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
