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

test('host: one sync per round and at most two batches per peer per round, whatever the number of groups', { timeout: 30_000 }, async () => {
  const c = makeCluster(50, 3);
  try {
    for (let g = 1; g <= 50; g++) await proposeUntilCommitted(c, g, `x${g}`);
    const h = c.hosts[0]!;
    const s = h.stats;
    // per round and peer: at most one batch of leader replication sent before the fsync and one of acks/votes after it
    assert.ok(s.batchesSent <= s.rounds * 2 * 2, `batches ${s.batchesSent} for ${s.rounds} rounds (2 peers)`);
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
    const sentBefore = c.hosts.map((h) => h.stats.messagesSent);
    await new Promise((r) => setTimeout(r, 200)); // 40 ticks
    assert.deepEqual(c.hosts.map((h) => h.stats.messagesSent), sentBefore, 'quiesced groups send nothing');

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
