import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftHost, type GroupStateMachine } from '../src/host/raft-host.js';
import { MemoryNetwork } from '../src/transport/memory-transport.js';
import { MemoryStorage, bootstrapState } from '../src/storage/storage.js';
import { EntryType, Role, type NodeId, type RaftGroupId } from '../src/core/types.js';

interface Cluster { hosts: RaftHost[]; applied: Map<string, string[]>; network: MemoryNetwork }

function makeCluster(groupCount: number, seed: number): Cluster {
  const network = new MemoryNetwork(seed);
  const applied = new Map<string, string[]>();
  const hosts: RaftHost[] = [];
  for (const id of [1, 2, 3] as NodeId[]) {
    const storages: MemoryStorage[] = [];
    const host = new RaftHost({ nodeId: id, transport: network.endpoint(id), syncAll: () => { for (const s of storages) s.sync(); }, tickMs: 5, electionTicks: 10, heartbeatTicks: 1 });
    for (let g = 1; g <= groupCount; g++) {
      const list: string[] = [];
      applied.set(`${id}/${g}`, list);
      const sm: GroupStateMachine = {
        apply: (entries) => { for (const e of entries) if (e.type === EntryType.Normal && e.data.length > 0) list.push(Buffer.from(e.data).toString()); },
        restore: () => { throw new Error('no snapshots expected'); },
        snapshotData: () => null,
      };
      const storage = new MemoryStorage(bootstrapState([1, 2, 3] as NodeId[]));
      storages.push(storage);
      host.addGroup(g as RaftGroupId, storage, sm);
    }
    host.start();
    hosts.push(host);
  }
  return { hosts, applied, network };
}

async function proposeUntilCommitted(c: Cluster, g: number, value: string, exclude: number[] = []): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const h of c.hosts) {
      if (exclude.includes(h.nodeId) || h.group(g as RaftGroupId)!.role !== Role.Leader) continue;
      const r = await h.propose(g as RaftGroupId, Buffer.from(value));
      if (r.ok) return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`could not commit ${value} in group ${g}`);
}

test('host: many groups over a lossy, duplicating, reordering in-memory network stay consistent and survive a partition', { timeout: 60_000 }, async () => {
  const c = makeCluster(5, 7);
  c.network.setFaults({ dropRate: 0.1, duplicateRate: 0.1, minDelayMs: 0, maxDelayMs: 4 });
  try {
    for (let i = 0; i < 10; i++) await Promise.all([1, 2, 3, 4, 5].map((g) => proposeUntilCommitted(c, g, `g${g}-v${i}`)));
    // cut off whichever host leads group 1; the other two keep going
    const leader = c.hosts.find((h) => h.group(1 as RaftGroupId)!.role === Role.Leader)!;
    c.network.partition([leader.nodeId], c.hosts.filter((h) => h !== leader).map((h) => h.nodeId));
    for (let i = 10; i < 15; i++) await proposeUntilCommitted(c, 1, `g1-v${i}`, [leader.nodeId]);
    c.network.heal();
    await proposeUntilCommitted(c, 1, 'g1-final');
    await new Promise((r) => setTimeout(r, 300));
    for (let g = 1; g <= 5; g++) {
      const seqs = [1, 2, 3].map((id) => c.applied.get(`${id}/${g}`)!);
      // the same order everywhere (a retried proposal may legitimately appear twice)
      const longest = seqs.reduce((a, b) => (a.length >= b.length ? a : b));
      for (const s of seqs) assert.deepEqual(s, longest.slice(0, s.length), `group ${g} diverged`);
      assert.ok(longest.includes(`g${g}-v9`));
    }
    assert.ok(c.applied.get(`${leader.nodeId}/1`)!.includes('g1-final'), 'the partitioned host caught up after healing');
    assert.ok(c.network.stats.dropped > 0 && c.network.stats.duplicated > 0);
  } finally {
    for (const h of c.hosts) await h.close();
    c.network.close();
  }
});

test('host: at most one sync per round and one batch per peer per round or finished sync, whatever the number of groups', { timeout: 30_000 }, async () => {
  const c = makeCluster(50, 3);
  try {
    for (let g = 1; g <= 50; g++) await proposeUntilCommitted(c, g, `x${g}`);
    const h = c.hosts[0]!;
    const s = h.stats;
    // per peer one batch per round (leader replication, everything not waiting for durability) and one per finished
    // sync (the acks and votes it released)
    assert.ok(s.batchesSent <= (s.rounds + s.syncs) * 2, `batches ${s.batchesSent} for ${s.rounds} rounds and ${s.syncs} syncs (2 peers)`);
    assert.ok(s.syncs <= s.rounds);
    assert.ok(s.messagesSent > s.batchesSent, 'messages of many groups share a batch');
  } finally {
    for (const h of c.hosts) await h.close();
    c.network.close();
  }
});

test('host: idle groups quiesce (no ticking, no heartbeats) and wake up when their leader node dies', { timeout: 30_000 }, async () => {
  const c = makeCluster(20, 11);
  try {
    for (let g = 1; g <= 20; g++) await proposeUntilCommitted(c, g, `x${g}`);
    const deadline = Date.now() + 10_000;
    while (c.hosts.some((h) => h.quiescedCount < 20) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(c.hosts.map((h) => h.quiescedCount), [20, 20, 20], `quiesced ${c.hosts.map((h) => h.quiescedCount)} roles ${c.hosts.map((h) => [1, 2, 3].map((g) => h.group(g as RaftGroupId)!.role[0]).join(''))}`);
    // 40 ticks in which nothing is sent. Failure detection here is 50 ms (10 ticks of 5 ms), so an event-loop stall of a
    // loaded machine can wake a follower (it then campaigns and the groups quiesce again): up to 5 windows are tried.
    // Without quiescence every window carries heartbeats, so this still fails.
    const silentWindows: boolean[] = [];
    for (let attempt = 0; attempt < 5 && !silentWindows.includes(true); attempt++) {
      const settle = Date.now() + 10_000;
      while (c.hosts.some((h) => h.quiescedCount < 20) && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
      const sentBefore = c.hosts.map((h) => h.stats.messagesSent);
      await new Promise((r) => setTimeout(r, 200));
      silentWindows.push(c.hosts.every((h, i) => h.stats.messagesSent === sentBefore[i]));
    }
    assert.ok(silentWindows.includes(true), `quiesced groups send nothing (windows: ${silentWindows})`);

    // cut off the leader of group 1: its followers must notice the silent node, wake up and elect
    const leader = c.hosts.find((h) => h.group(1 as RaftGroupId)!.role === Role.Leader)!;
    c.network.partition([leader.nodeId], c.hosts.filter((h) => h !== leader).map((h) => h.nodeId));
    await proposeUntilCommitted(c, 1, 'after-failover', [leader.nodeId]);
    c.network.heal();
    await proposeUntilCommitted(c, 1, 'after-heal');
    const w = Date.now() + 5_000;
    while (!c.applied.get(`${leader.nodeId}/1`)!.includes('after-heal') && Date.now() < w) await new Promise((r) => setTimeout(r, 20));
    assert.ok(c.applied.get(`${leader.nodeId}/1`)!.includes('after-heal'));
  } finally {
    for (const h of c.hosts) await h.close();
    c.network.close();
  }
});

test('host: quiesced groups elect a new leader when their leader\'s node restarts, though its new process pings at once', { timeout: 30_000 }, async () => {
  const c = makeCluster(5, 13);
  try {
    for (let g = 1; g <= 5; g++) await proposeUntilCommitted(c, g, `x${g}`);
    const deadline = Date.now() + 10_000;
    while (c.hosts.some((h) => h.quiescedCount < 5) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const leaderIndex = c.hosts.findIndex((h) => h.group(1 as RaftGroupId)!.role === Role.Leader);
    const leader = c.hosts[leaderIndex]!;
    await leader.close();
    // The node comes back at once hosting none of the groups (as a node whose data was wiped and that is not yet a
    // member): it answers the others' liveness pings, so they keep hearing from the node, but it leads nothing.
    const restarted = new RaftHost({ nodeId: leader.nodeId, transport: c.network.endpoint(leader.nodeId), syncAll: () => undefined, tickMs: 5, electionTicks: 10, heartbeatTicks: 1 });
    restarted.start();
    c.hosts[leaderIndex] = restarted;
    // without the restart notice the groups it led stay quiesced, each follower sure its leader is alive
    await proposeUntilCommitted(c, 1, 'after-restart', [leader.nodeId]);
    assert.ok(c.hosts.filter((h) => h !== restarted).every((h) => h.stats.peerRestarts >= 1), 'both followers were told');
  } finally {
    for (const h of c.hosts) await h.close();
    c.network.close();
  }
});

test('host: a failed sync stops the host (fail-stop) and fails pending proposals', { timeout: 10_000 }, async () => {
  const network = new MemoryNetwork(1);
  const errors: Error[] = [];
  let failing = false;
  const storage = new MemoryStorage(bootstrapState([1 as NodeId]));
  const host = new RaftHost({ nodeId: 1 as NodeId, transport: network.endpoint(1 as NodeId), tickMs: 5,
    syncAll: () => { if (failing) throw new Error('EIO: fsync failed'); storage.sync(); }, onError: (e) => errors.push(e) });
  host.addGroup(1 as RaftGroupId, storage, { apply: () => {}, restore: () => {}, snapshotData: () => null });
  host.group(1 as RaftGroupId)!.campaignNow();
  host.start();
  try {
    assert.deepEqual(await host.propose(1 as RaftGroupId, Buffer.from('a')), { ok: true, index: 2 });
    failing = true;
    const r = await host.propose(1 as RaftGroupId, Buffer.from('b'));
    assert.equal(r.ok, false);
    assert.match(errors[0]!.message, /EIO/);
  } finally {
    await host.close();
    network.close();
  }
});

/** A sync that can be held open: while closed, syncAll() returns a promise that completes when the gate opens. */
class SyncGate {
  private waiting: (() => void)[] = [];
  closed = false;
  constructor(private readonly storages: MemoryStorage[]) {}
  sync(): Promise<void> | void {
    if (!this.closed) { for (const s of this.storages) s.sync(); return; }
    return new Promise((resolve) => this.waiting.push(() => { for (const s of this.storages) s.sync(); resolve(); }));
  }
  open(): void { this.closed = false; for (const w of this.waiting.splice(0)) w(); }
}

interface GatedCluster { network: MemoryNetwork; hosts: RaftHost[]; gates: SyncGate[] }

/** Three hosts running Raft group 1, each host's sync behind its own gate (`gates[i]` belongs to `hosts[i]`). */
function makeGatedCluster(seed: number, tickMs: number): GatedCluster {
  const network = new MemoryNetwork(seed);
  const hosts: RaftHost[] = [];
  const gates: SyncGate[] = [];
  for (const id of [1, 2, 3] as NodeId[]) {
    const storage = new MemoryStorage(bootstrapState([1, 2, 3] as NodeId[]));
    const gate = new SyncGate([storage]);
    const host = new RaftHost({ nodeId: id, transport: network.endpoint(id), syncAll: () => gate.sync(), tickMs, electionTicks: 10, heartbeatTicks: 1 });
    host.addGroup(1 as RaftGroupId, storage, { apply: () => {}, restore: () => {}, snapshotData: () => null });
    host.start();
    hosts.push(host);
    gates.push(gate);
  }
  return { network, hosts, gates };
}

interface WarmLeader { leader: RaftHost; leaderGate: SyncGate; followers: RaftHost[]; followerGates: SyncGate[] }

/**
 * The leader of group 1 once a proposal through it has committed (a settled leader, not a candidate that may yet
 * lose), with its followers and their gates; fails after `attempts` tries 10 ms apart.
 */
async function warmLeader(c: GatedCluster, attempts: number): Promise<WarmLeader> {
  const g1 = 1 as RaftGroupId;
  let leader: RaftHost | undefined;
  for (let i = 0; i < attempts && leader === undefined; i++) {
    leader = c.hosts.find((h) => h.group(g1)!.role === Role.Leader);
    if (leader === undefined || !(await leader.propose(g1, Buffer.from('warm-up'))).ok) { leader = undefined; await new Promise((r) => setTimeout(r, 10)); }
  }
  assert.ok(leader !== undefined, 'a leader');
  const followers = c.hosts.filter((h) => h !== leader);
  const gateOf = (h: RaftHost): SyncGate => c.gates[c.hosts.indexOf(h)]!;
  return { leader, leaderGate: gateOf(leader), followers, followerGates: followers.map(gateOf) };
}

test('host: pipelined rounds — appends leave before the leader\'s fsync and keep leaving while it runs; acks leave only after the follower\'s', { timeout: 30_000 }, async () => {
  const { network, hosts, gates } = makeGatedCluster(5, 5);
  const g1 = 1 as RaftGroupId;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const { leader, leaderGate: lg, followers, followerGates: fgates } = await warmLeader({ network, hosts, gates }, 400);

    // the leader's fsync hangs: both proposals still reach the followers (the second one while the first's sync
    // is outstanding) and commit on their acks, but the leader applies (and answers) only once its own log is durable
    lg.closed = true;
    let settled = 0;
    const a = leader.propose(g1, Buffer.from('a')).then((r) => { settled++; return r; });
    await sleep(30);
    const b = leader.propose(g1, Buffer.from('b')).then((r) => { settled++; return r; });
    const last = leader.group(g1)!.lastIndex;
    for (let i = 0; i < 200 && followers.some((f) => f.group(g1)!.lastIndex < last); i++) await sleep(5);
    assert.deepEqual(followers.map((f) => f.group(g1)!.lastIndex), [last, last], 'both appends left during the leader\'s fsync');
    for (let i = 0; i < 200 && leader.group(g1)!.commitIndex < last; i++) await sleep(5);
    assert.equal(leader.group(g1)!.commitIndex, last, 'committed by the two followers\' durable acks');
    await sleep(30);
    assert.equal(settled, 0, 'not applied on the leader before its own write is durable');
    lg.open();
    assert.deepEqual([(await a).ok, (await b).ok], [true, true]);

    // the followers' fsyncs hang: they hold the entry but their acks must not leave, so nothing commits
    for (const fg of fgates) fg.closed = true;
    const c = leader.propose(g1, Buffer.from('c'));
    const cIndex = leader.group(g1)!.lastIndex;
    for (let i = 0; i < 200 && followers.some((f) => f.group(g1)!.lastIndex < cIndex); i++) await sleep(5);
    await sleep(50);
    assert.ok(leader.group(g1)!.commitIndex < cIndex, 'no commit on acks of writes that are not durable');
    for (const fg of fgates) fg.open();
    assert.equal((await c).ok, true);
  } finally {
    for (const g of gates) g.open();
    for (const h of hosts) await h.close();
    network.close();
  }
});

test('host: a follower that restarts with a wiped log is ignored until the leader resets its progress, then catches up', { timeout: 30_000 }, async () => {
  const c = makeCluster(1, 5);
  try {
    for (let i = 0; i < 5; i++) await proposeUntilCommitted(c, 1, `v${i}`);
    const leader = c.hosts.find((h) => h.group(1 as RaftGroupId)!.role === Role.Leader)!;
    const victimIndex = c.hosts.findIndex((h) => h !== leader);
    const victim = c.hosts[victimIndex]!;
    const waitApplied = async (list: string[], value: string, ms: number): Promise<boolean> => {
      const deadline = Date.now() + ms;
      while (!list.includes(value) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return list.includes(value);
    };
    assert.ok(await waitApplied(c.applied.get(`${victim.nodeId}/1`)!, 'v4', 5_000));
    await victim.close();

    // the same node id comes back with empty storage (its data directory was wiped)
    const wipedApplied: string[] = [];
    const storage = new MemoryStorage(bootstrapState([1, 2, 3] as NodeId[]));
    const wiped = new RaftHost({ nodeId: victim.nodeId, transport: c.network.endpoint(victim.nodeId), syncAll: () => storage.sync(), tickMs: 5, electionTicks: 10, heartbeatTicks: 1 });
    wiped.addGroup(1 as RaftGroupId, storage, {
      apply: (entries) => { for (const e of entries) if (e.type === EntryType.Normal && e.data.length > 0) wipedApplied.push(Buffer.from(e.data).toString()); },
      restore: () => { throw new Error('no snapshots expected'); },
      snapshotData: () => null,
    });
    wiped.start();
    c.hosts[victimIndex] = wiped;
    await proposeUntilCommitted(c, 1, 'after-wipe');
    // the leader still believes the node holds v0..v4 and takes its rejections as stale: it is never repaired
    assert.equal(await waitApplied(wipedApplied, 'after-wipe', 500), false, 'without a reset the wiped follower is stuck');

    const current = c.hosts.find((h) => h.group(1 as RaftGroupId)!.role === Role.Leader)!;
    assert.equal(current.resetPeerProgress(victim.nodeId), 1);
    assert.ok(await waitApplied(wipedApplied, 'after-wipe', 5_000), 'after the reset the wiped follower catches up');
    assert.deepEqual(wipedApplied, ['v0', 'v1', 'v2', 'v3', 'v4', 'after-wipe']);
    assert.equal(wiped.resetPeerProgress(current.nodeId), 0, 'only leaders reset progress');
  } finally {
    for (const h of c.hosts) await h.close();
    c.network.close();
  }
});

test('host: removeGroup fails its pending proposals with "removed", drops its traffic, forgets its storage, and leaves the other groups running', { timeout: 30_000 }, async () => {
  const network = new MemoryNetwork(9);
  const hosts: RaftHost[] = [];
  const gates: SyncGate[] = [];
  const storagesOf = new Map<NodeId, MemoryStorage[]>();
  for (const id of [1, 2, 3] as NodeId[]) {
    const storages = [1, 2].map(() => new MemoryStorage(bootstrapState([1, 2, 3] as NodeId[])));
    storagesOf.set(id, storages);
    const gate = new SyncGate(storages);
    const host = new RaftHost({ nodeId: id, transport: network.endpoint(id), syncAll: () => gate.sync(), tickMs: 5, electionTicks: 10, heartbeatTicks: 1 });
    for (const [i, s] of storages.entries()) host.addGroup((i + 1) as RaftGroupId, s, { apply: () => {}, restore: () => {}, snapshotData: () => null });
    host.start();
    hosts.push(host);
    gates.push(gate);
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const commit = async (g: number, value: string): Promise<RaftHost> => {
    for (let i = 0; i < 500; i++) {
      const leader = hosts.find((h) => h.group(g as RaftGroupId)?.role === Role.Leader);
      if (leader !== undefined && (await leader.propose(g as RaftGroupId, Buffer.from(value))).ok) return leader;
      await sleep(10);
    }
    throw new Error(`no commit in group ${g}`);
  };
  try {
    await commit(1, 'one');
    const leader2 = await commit(2, 'two');
    // a proposal that cannot complete (every sync hangs) is answered by the removal
    for (const gate of gates) gate.closed = true;
    const pending = leader2.propose(2 as RaftGroupId, Buffer.from('doomed'));
    await sleep(20);
    const removed = leader2.removeGroup(2 as RaftGroupId);
    assert.deepEqual(await pending, { ok: false, reason: 'removed', leaderId: 0 });
    assert.equal(leader2.group(2 as RaftGroupId), undefined);
    for (const gate of gates) gate.open();
    assert.equal(await removed, true);
    assert.equal(storagesOf.get(leader2.nodeId)![1]!.removed, true, 'the removal is durable in its storage');
    assert.equal(await leader2.removeGroup(2 as RaftGroupId), false, 'already gone');
    // the other hosts' copies of group 2 keep sending to it: ignored; group 1 is unaffected everywhere
    for (let i = 0; i < 3; i++) await commit(1, `after-${i}`);
    for (const h of hosts) if (h !== leader2) assert.notEqual(h.group(2 as RaftGroupId), undefined);
  } finally {
    for (const g of gates) g.open();
    for (const h of hosts) await h.close();
    network.close();
  }
});

test('host: after a burst, followers learn the final commit index at once, not at the next tick', { timeout: 20_000 }, async () => {
  const network = new MemoryNetwork(13);
  const hosts: RaftHost[] = [];
  const applied = new Map<NodeId, number>();
  for (const id of [1, 2, 3] as NodeId[]) {
    const storage = new MemoryStorage(bootstrapState([1, 2, 3] as NodeId[]));
    // a 60 s tick: nothing here may wait for a tick (no heartbeat will come)
    const host = new RaftHost({ nodeId: id, transport: network.endpoint(id), syncAll: () => storage.sync(), tickMs: 60_000, electionTicks: 10, heartbeatTicks: 1 });
    applied.set(id, 0);
    host.addGroup(1 as RaftGroupId, storage, { apply: (es) => applied.set(id, es[es.length - 1]!.index), restore: () => {}, snapshotData: () => null });
    host.start();
    hosts.push(host);
  }
  const g1 = 1 as RaftGroupId;
  try {
    hosts[0]!.group(g1)!.campaignNow();
    for (let i = 0; i < 200 && hosts[0]!.group(g1)!.role !== Role.Leader; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(hosts[0]!.group(g1)!.role, Role.Leader);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => hosts[0]!.propose(g1, Buffer.from(`burst-${i}`))));
    const last = Math.max(...results.map((r) => (r.ok ? r.index : 0)));
    for (let i = 0; i < 100 && [2, 3].some((id) => applied.get(id as NodeId)! < last); i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual([applied.get(2 as NodeId), applied.get(3 as NodeId)], [last, last], 'followers applied the whole burst without a tick');
  } finally {
    for (const h of hosts) await h.close();
    network.close();
  }
});

test('host: proposeTracked tells the proposer when its entry is durable here, before and independently of the commit', { timeout: 30_000 }, async () => {
  // a 1 s election timeout (100 ms ticks): the followers' held acks must not make the leader step down (check-quorum) meanwhile
  const { network, hosts, gates } = makeGatedCluster(21, 100);
  const g1 = 1 as RaftGroupId;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const settledWithin = async <T>(p: Promise<T>, ms: number): Promise<{ value: T } | null> =>
    Promise.race([p.then((value) => ({ value })), sleep(ms).then(() => null)]);
  try {
    const { leader, leaderGate: lg, followers, followerGates: fgates } = await warmLeader({ network, hosts, gates }, 1000);

    // followers never make anything durable, so nothing commits: the leader's own sync alone settles `durable`
    for (const fg of fgates) fg.closed = true;
    lg.closed = true;
    const a = leader.proposeTracked(g1, Buffer.from('a'));
    const b = leader.proposeTracked(g1, Buffer.from('b'));
    assert.equal(a.index, leader.group(g1)!.lastIndex - 1);
    assert.equal(b.index, leader.group(g1)!.lastIndex);
    assert.equal(await settledWithin(a.durable, 100), null, 'not durable while the leader\'s own sync hangs');
    lg.open();
    assert.deepEqual(await settledWithin(Promise.all([a.durable, b.durable]), 2_000), { value: [true, true] }, 'durable once the leader\'s sync completes');
    assert.equal(await settledWithin(a.committed, 100), null, 'durable on the leader only: not committed');
    assert.ok(leader.group(g1)!.commitIndex < a.index!);
    for (const fg of fgates) fg.open();
    assert.deepEqual(await a.committed, { ok: true, index: a.index });
    assert.deepEqual(await b.committed, { ok: true, index: b.index });

    // a refused proposal: no index, never durable
    const refused = followers[0]!.proposeTracked(g1, Buffer.from('x'));
    assert.equal(refused.index, null);
    assert.equal(await refused.durable, false);
    assert.equal((await refused.committed).ok, false);

    // the host closes before the leader's sync completes: `durable` is false, not left pending
    lg.closed = true;
    const c = leader.proposeTracked(g1, Buffer.from('c'));
    await sleep(20);
    await leader.close();
    assert.deepEqual(await settledWithin(c.durable, 2_000), { value: false });
  } finally {
    for (const g of gates) g.open();
    for (const h of hosts) await h.close();
    network.close();
  }
});
