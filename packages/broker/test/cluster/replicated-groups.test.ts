// Consumer groups on the metadata Raft group, in process: three RaftHosts over raft's MemoryNetwork, each with a real
// MetadataStore (SQLite in a temp dir). Checks the replicated ConsumerGroupStore (one entry per OffsetCommit, every
// replica applies it, writes fenced to the leader's term) and ClusterGroupCoordinator (only the metadata leader
// coordinates; a leader change moves groups and offsets to the new leader and fails parked joins NOT_COORDINATOR).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { MemoryNetwork, MemoryStorage, RaftHost, Role, bootstrapState, nodeId, type Message, type NodeId, type RaftTransport, type Term } from '@tributary/raft';
import { METADATA_RAFT_GROUP, type MetadataLeaderListener } from '../../src/cluster/cluster-node.js';
import { ClusterGroupCoordinator, type MetadataGroupMember } from '../../src/cluster/cluster-group-coordinator.js';
import { encodeCommand, type MetadataCommand } from '../../src/cluster/metadata-commands.js';
import { MetadataStore } from '../../src/cluster/metadata-store.js';
import { ReplicatedConsumerGroupStore } from '../../src/cluster/replicated-group-store.js';
import { ConsumerGroupCoordinator, NotCoordinatorError, encodeSubscription, type CommittedOffset, type ConsumerGroupStore } from '../../src/consumer-groups/index.js';
import { GroupErrorCode as E } from '../../src/consumer-groups/error-codes.js';

const silent = pino({ level: 'silent' });
const TOPIC = 'orders';
const KAFKA_PORT_BASE = 9000;

interface InProcessNode extends MetadataGroupMember {
  readonly dir: string;
}

interface InProcessCluster {
  readonly nodes: InProcessNode[];
  readonly network: MemoryNetwork;
  /** Messages this returns true for are dropped at send (a test's selective network fault). */
  drop: (from: NodeId, to: NodeId, message: Message) => boolean;
  leader(): InProcessNode;
  close(): Promise<void>;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Three metadata-group members in process; brokers 1..3 registered and a 3-partition topic created. */
async function inProcessCluster(): Promise<InProcessCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-replicated-groups-'));
  const network = new MemoryNetwork(7);
  const ids = [1, 2, 3].map((i) => nodeId(i));
  const faults = { drop: (_from: NodeId, _to: NodeId, _message: Message): boolean => false };
  const nodes: InProcessNode[] = ids.map((id) => {
    const store = new MetadataStore(join(dir, `metadata-${id}.sqlite`));
    const listeners: MetadataLeaderListener[] = [];
    const endpoint = network.endpoint(id);
    const transport: RaftTransport = {
      send: (to, batch) => endpoint.send(to, batch.filter((gm) => !faults.drop(id, to, gm.message))),
      setHandler: (handler) => endpoint.setHandler(handler),
      setPeerRestartHandler: (handler) => endpoint.setPeerRestartHandler(handler),
      close: () => endpoint.close(),
    };
    const host = new RaftHost({ nodeId: id, transport, syncAll: () => undefined, tickMs: 10, electionTicks: 10, heartbeatTicks: 1 });
    host.addGroup(METADATA_RAFT_GROUP, new MemoryStorage(bootstrapState(ids)), {
      apply: (entries) => store.apply(entries),
      restore: () => assert.fail('no snapshots in this test'),
      snapshotData: () => null,
      onLeaderChange: (leaderId, term, role) => listeners.forEach((l) => l(leaderId, term, role)),
    });
    host.start();
    return { selfId: id, host, store, dir, onMetadataLeaderChange: (l) => listeners.push(l), whenMetadataApplied: async () => undefined };
  });
  const leader = (): InProcessNode => {
    const found = nodes.find((n) => n.host.group(METADATA_RAFT_GROUP)?.role === Role.Leader);
    if (found === undefined) throw new Error('no metadata leader');
    return found;
  };
  await until('a metadata leader', () => nodes.some((n) => n.host.group(METADATA_RAFT_GROUP)?.role === Role.Leader));
  const setup: MetadataCommand[] = [
    ...ids.map((id): MetadataCommand => ({ kind: 'registerBroker', broker: { nodeId: id, host: '127.0.0.1', port: KAFKA_PORT_BASE + id } })),
    { kind: 'createTopic', name: TOPIC, topicIdHex: 'ab'.repeat(16), createdMs: 1, configs: [], replicas: [[1], [2], [3]] },
  ];
  for (const command of setup) assert.equal((await leader().host.propose(METADATA_RAFT_GROUP, encodeCommand(command))).ok, true);
  await until('every replica applied the setup', () => nodes.every((n) => n.store.getTopic(TOPIC) !== undefined));
  return {
    nodes,
    network,
    get drop() {
      return faults.drop;
    },
    set drop(rule) {
      faults.drop = rule;
    },
    leader,
    close: async () => {
      for (const n of nodes) await n.host.close();
      network.close();
      for (const n of nodes) n.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Moves metadata leadership from `from` to another node and waits until that node leads. */
async function moveLeadership(cluster: InProcessCluster, from: InProcessNode): Promise<InProcessNode> {
  const to = cluster.nodes.find((n) => n !== from)!;
  assert.equal(from.host.transferLeadership(METADATA_RAFT_GROUP, to.selfId), true);
  await until(`node ${to.selfId} leads`, () => to.host.group(METADATA_RAFT_GROUP)?.role === Role.Leader);
  return to;
}

const offset = (partition: number, value: number): CommittedOffset => ({
  topic: TOPIC,
  partition,
  offset: value,
  leaderEpoch: 3,
  metadata: `m${partition}`,
  commitTimestampMs: 1_000 + partition,
  expireTimestampMs: null,
});

test('ReplicatedConsumerGroupStore: one metadata entry per commit, applied on every replica, writes fenced to the leader term', async () => {
  const cluster = await inProcessCluster();
  try {
    const leader = cluster.leader();
    const raft = leader.host.group(METADATA_RAFT_GROUP)!;
    const store = new ReplicatedConsumerGroupStore(leader, raft.term);
    const appliedBefore = leader.store.appliedIndex;
    await store.commitOffsets('g1', [offset(0, 10), offset(1, 20), offset(2, 30)]);
    assert.equal(leader.store.appliedIndex, appliedBefore + 1, 'three partitions, one metadata entry');
    await store.commitOffsets('g1', [{ ...offset(1, 21), expireTimestampMs: 5_000 }, { ...offset(0, 99), topic: 'deleted-or-never-created' }]);
    await store.saveGroup({
      groupId: 'g1',
      protocolType: 'consumer',
      protocolName: 'range',
      generationId: 4,
      leaderId: 'member-a',
      stateTimestampMs: 77,
      members: [{ memberId: 'member-a', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, subscription: Buffer.from([0, 1, 2]), assignment: Buffer.from([9, 8]) }],
    });
    await store.commitOffsets('g2', [offset(2, 5)]);
    await store.deleteOffsets('g2', [{ topic: TOPIC, partition: 2 }]);
    await store.commitOffsets('g3', [offset(0, 1)]);
    await store.deleteGroup('g3');

    const final = leader.store.appliedIndex;
    await until('every replica applied the writes', () => cluster.nodes.every((n) => n.store.appliedIndex >= final));
    for (const n of cluster.nodes) {
      const state = await new ReplicatedConsumerGroupStore(n, raft.term).load();
      const g1 = state.offsets.get('g1')!.sort((a, b) => a.partition - b.partition);
      assert.deepEqual(
        g1.map((o) => [o.partition, o.offset, o.leaderEpoch, o.metadata, o.commitTimestampMs, o.expireTimestampMs]),
        [[0, 10, 3, 'm0', 1_000, null], [1, 21, 3, 'm1', 1_001, 5_000], [2, 30, 3, 'm2', 1_002, null]],
        `node ${n.selfId}: offsets of g1 (none for an unknown topic)`,
      );
      assert.equal(state.offsets.has('g2'), false, `node ${n.selfId}: deleted offsets`);
      assert.equal(state.offsets.has('g3'), false, `node ${n.selfId}: deleted group`);
      assert.equal(state.groups.length, 1);
      assert.deepEqual(state.groups[0]!.members[0]!.subscription, Buffer.from([0, 1, 2]));
      assert.equal(state.groups[0]!.generationId, 4);
    }

    const follower = cluster.nodes.find((n) => n !== leader)!;
    await assert.rejects(new ReplicatedConsumerGroupStore(follower, raft.term).commitOffsets('g1', [offset(0, 1)]), NotCoordinatorError);
    await assert.rejects(new ReplicatedConsumerGroupStore(leader, (raft.term - 1) as Term).commitOffsets('g1', [offset(0, 1)]), NotCoordinatorError);

    // Deleting the topic removes its offsets on every replica (a topic re-created under that name starts clean).
    assert.equal((await leader.host.propose(METADATA_RAFT_GROUP, encodeCommand({ kind: 'deleteTopic', name: TOPIC }))).ok, true);
    const afterDelete = leader.store.appliedIndex;
    await until('every replica applied the deletion', () => cluster.nodes.every((n) => n.store.appliedIndex >= afterDelete));
    for (const n of cluster.nodes) assert.equal(n.store.consumerGroupState().offsets.has('g1'), false);

    const next = await moveLeadership(cluster, leader);
    await assert.rejects(store.commitOffsets('g1', [offset(0, 1)]), NotCoordinatorError, 'the old leader’s store refuses after the leader change');
    assert.notEqual(next, leader);
  } finally {
    await cluster.close();
  }
});

/**
 * A ClusterGroupCoordinator on `node`; `wrapStore` may replace the replicated store its coordinator is built on. No
 * initial rebalance delay: the tests join directly and expect the answer at once.
 */
function coordinatorOn(node: InProcessNode, wrapStore: (store: ConsumerGroupStore) => ConsumerGroupStore = (store) => store): ClusterGroupCoordinator {
  return new ClusterGroupCoordinator({
    node,
    logger: silent,
    createCoordinator: (store) =>
      new ConsumerGroupCoordinator({
        nodeId: node.selfId,
        advertisedHost: '127.0.0.1',
        advertisedPort: KAFKA_PORT_BASE + node.selfId,
        dataDir: join(node.dir, 'unused'),
        logger: silent,
        topicPartitionCount: (topic) => node.store.getTopic(topic)?.partitionCount,
        initialRebalanceDelayMs: 0,
        store: wrapStore(store),
      }),
  });
}

/** Starts a coordinator on every node, adding each to `coordinators` as it starts (so the test's cleanup closes it). */
async function startCoordinators(cluster: InProcessCluster, coordinators: Map<NodeId, ClusterGroupCoordinator>): Promise<void> {
  for (const n of cluster.nodes) {
    const c = coordinatorOn(n);
    await c.start();
    coordinators.set(n.selfId, c);
  }
}

const ctx = { clientId: 'unit', clientHost: '127.0.0.1' };
const joinRequest = (memberId: string) => ({
  groupId: 'g',
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: encodeSubscription([TOPIC]) }],
});
const commitRequest = (memberId: string, generationId: number, offsets: number[]) => ({
  groupId: 'g',
  generationIdOrMemberEpoch: generationId,
  memberId,
  groupInstanceId: null,
  topics: [{ name: TOPIC, partitions: offsets.map((o, partitionIndex) => ({ partitionIndex, committedOffset: o, committedLeaderEpoch: -1, committedMetadata: '' })) }],
});
const fetchRequest = { groupId: 'g', topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }], requireStable: false };

test('ClusterGroupCoordinator: the metadata leader coordinates; a leader change moves groups and offsets and fails parked joins', async () => {
  const cluster = await inProcessCluster();
  const coordinators = new Map<NodeId, ClusterGroupCoordinator>();
  try {
    await startCoordinators(cluster, coordinators);
    const at = (n: InProcessNode): any => coordinators.get(n.selfId)!;
    const first = cluster.leader();
    await until('the leader coordinates', () => at(first).isCoordinating);
    const followers = cluster.nodes.filter((n) => n !== first);

    for (const n of cluster.nodes) {
      const v3 = await at(n).findCoordinator({ key: 'g', keyType: 0 }, 3, ctx);
      assert.deepEqual([v3.errorCode, v3.nodeId, v3.port], [E.NONE, first.selfId, KAFKA_PORT_BASE + first.selfId], `FindCoordinator v3 on node ${n.selfId}`);
      const v4 = await at(n).findCoordinator({ keyType: 0, coordinatorKeys: ['g', 'other'] }, 4, ctx);
      assert.deepEqual(v4.coordinators.map((c: any) => c.nodeId), [first.selfId, first.selfId]);
      assert.equal(coordinators.get(n.selfId)!.isCoordinating, n === first);
    }
    for (const f of followers) {
      assert.equal((await at(f).joinGroup(joinRequest(''), 5, ctx)).errorCode, E.NOT_COORDINATOR);
      assert.equal((await at(f).offsetFetch(fetchRequest, 5, ctx)).errorCode, E.NOT_COORDINATOR);
      assert.deepEqual((await at(f).listGroups({}, 4, ctx)).groups, []);
    }

    // One member joins and syncs on the leader, then commits with its generation.
    const required = await at(first).joinGroup(joinRequest(''), 5, ctx);
    assert.equal(required.errorCode, E.MEMBER_ID_REQUIRED);
    const memberA = required.memberId as string;
    const joined = await at(first).joinGroup(joinRequest(memberA), 5, ctx);
    assert.deepEqual([joined.errorCode, joined.leader], [E.NONE, memberA]);
    const synced = await at(first).syncGroup({ groupId: 'g', generationId: joined.generationId, memberId: memberA, groupInstanceId: null, assignments: [{ memberId: memberA, assignment: Buffer.from('all') }] }, 3, ctx);
    assert.equal(synced.errorCode, E.NONE);
    const committed = await at(first).offsetCommit(commitRequest(memberA, joined.generationId, [5, 6, 7]), 8, ctx);
    assert.deepEqual(committed.topics[0].partitions.map((p: any) => p.errorCode), [E.NONE, E.NONE, E.NONE]);

    // A second member's join is parked (the group waits for member A to rejoin) when leadership moves.
    const secondRequired = await at(first).joinGroup(joinRequest(''), 5, ctx);
    const parked: Promise<any> = at(first).joinGroup(joinRequest(secondRequired.memberId), 5, ctx);
    const next = await moveLeadership(cluster, first);
    assert.equal((await parked).errorCode, E.NOT_COORDINATOR, 'a parked join fails NOT_COORDINATOR when the coordinator loses its role');
    await until('the new leader coordinates', () => at(next).isCoordinating);

    for (const n of cluster.nodes) {
      const v3 = await at(n).findCoordinator({ key: 'g', keyType: 0 }, 3, ctx);
      assert.equal(v3.nodeId, next.selfId, `FindCoordinator on node ${n.selfId} names the new leader`);
    }
    assert.equal((await at(first).heartbeat({ groupId: 'g', generationId: joined.generationId, memberId: memberA, groupInstanceId: null }, 4, ctx)).errorCode, E.NOT_COORDINATOR);
    const fetched = await at(next).offsetFetch(fetchRequest, 5, ctx);
    assert.deepEqual(fetched.topics[0].partitions.map((p: any) => p.committedOffset), [5, 6, 7], 'committed offsets on the new coordinator');
    // The group record was replicated at sync: member A carries on with its generation, no rebalance needed.
    const heartbeat = await at(next).heartbeat({ groupId: 'g', generationId: joined.generationId, memberId: memberA, groupInstanceId: null }, 4, ctx);
    assert.equal(heartbeat.errorCode, E.NONE);
    const recommit = await at(next).offsetCommit(commitRequest(memberA, joined.generationId, [8, 9, 10]), 8, ctx);
    assert.deepEqual(recommit.topics[0].partitions.map((p: any) => p.errorCode), [E.NONE, E.NONE, E.NONE]);
    const described = await at(next).describeGroups({ groups: ['g'], includeAuthorizedOperations: false }, 5, ctx);
    assert.equal(described.groups[0].members.length, 1);
  } finally {
    for (const c of coordinators.values()) await c.close();
    await cluster.close();
  }
});

test('ClusterGroupCoordinator: a failed load of the replicated groups is retried while this node still leads', async () => {
  const cluster = await inProcessCluster();
  const leader = cluster.leader();
  let attempts = 0;
  const failingLoad = (store: ConsumerGroupStore): ConsumerGroupStore => ({
    load: async () => {
      throw new Error('simulated load failure');
    },
    saveGroup: (r) => store.saveGroup(r),
    deleteGroup: (g) => store.deleteGroup(g),
    commitOffsets: (g, o) => store.commitOffsets(g, o),
    deleteOffsets: (g, p) => store.deleteOffsets(g, p),
    deleteTopicOffsets: (t) => store.deleteTopicOffsets(t),
    close: () => store.close(),
  });
  const coordinator = coordinatorOn(leader, (store) => (++attempts === 1 ? failingLoad(store) : store));
  try {
    await coordinator.start();
    await until('the second load', () => coordinator.isCoordinating);
    assert.equal(attempts, 2);
    const answer: any = await coordinator.offsetFetch(fetchRequest, 5, ctx);
    assert.equal(answer.errorCode, E.NONE);
  } finally {
    await coordinator.close();
    await cluster.close();
  }
});

test('ClusterGroupCoordinator: a new leader that has a commit in its log but not yet known as committed still serves it (barrier)', async () => {
  const cluster = await inProcessCluster();
  const coordinators = new Map<NodeId, ClusterGroupCoordinator>();
  try {
    await startCoordinators(cluster, coordinators);
    const at = (n: InProcessNode): any => coordinators.get(n.selfId)!;
    const old = cluster.leader();
    await until('the leader coordinates', () => at(old).isCoordinating);
    const [heir, lagging] = cluster.nodes.filter((n) => n !== old) as [InProcessNode, InProcessNode];
    assert.deepEqual((await at(old).offsetCommit(commitRequest('', -1, [1, 1, 1]), 8, ctx)).topics[0].partitions.map((p: any) => p.errorCode), [E.NONE, E.NONE, E.NONE]);
    await until('every replica applied the first commit', () => cluster.nodes.every((n) => n.store.appliedIndex === old.store.appliedIndex));

    // The next commit reaches only `heir` (a majority with the old leader), and `heir` never hears that it committed.
    const commitEntry = old.host.group(METADATA_RAFT_GROUP)!.lastIndex + 1;
    cluster.network.partition([old.selfId, heir.selfId], [lagging.selfId]);
    cluster.drop = (from, to, m) => from === old.selfId && to === heir.selfId && m.commit >= commitEntry;
    const second = await at(old).offsetCommit(commitRequest('', -1, [7, 8, 9]), 8, ctx);
    assert.deepEqual(second.topics[0].partitions.map((p: any) => p.errorCode), [E.NONE, E.NONE, E.NONE], 'acknowledged: committed by the old leader and heir');
    assert.ok(heir.host.group(METADATA_RAFT_GROUP)!.lastIndex >= commitEntry, 'heir holds the entry');
    assert.ok(heir.host.group(METADATA_RAFT_GROUP)!.commitIndex < commitEntry, 'heir does not know it is committed');

    // The old leader is cut off; heir (the longer log) wins against `lagging` and must serve the acknowledged commit.
    cluster.network.partition([old.selfId], [heir.selfId, lagging.selfId]);
    await until('heir coordinates', () => at(heir).isCoordinating, 20_000);
    const fetched = await at(heir).offsetFetch(fetchRequest, 5, ctx);
    assert.deepEqual(fetched.topics[0].partitions.map((p: any) => p.committedOffset), [7, 8, 9], 'the acknowledged commit is served by the new coordinator');
  } finally {
    for (const c of coordinators.values()) await c.close();
    await cluster.close();
  }
});
