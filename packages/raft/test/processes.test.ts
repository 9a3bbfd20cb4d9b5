import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeProcess, sendPeers } from './support/node-process.js';

async function currentLeader(nodes: NodeProcess[], alive: Set<number>, timeoutMs: number): Promise<NodeProcess> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // the latest leader event any live node reported for group 1
    let best: { term: number; id: number } | null = null;
    for (const n of nodes) {
      if (!alive.has(n.id)) continue;
      for (const line of n.lines) {
        const m = line.match(/^leader 1 (\d+) (\d+) leader$/);
        if (m && (best === null || Number(m[2]) > best.term)) best = { term: Number(m[2]), id: Number(m[1]) };
      }
    }
    if (best !== null && alive.has(best.id)) return nodes.find((n) => n.id === best!.id)!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no leader elected in time');
}

test('three processes on loopback TCP elect a leader, replicate, survive kill -9 of the leader, and catch the restarted node up by snapshot', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'raft-procs-'));
  const nodes = [1, 2, 3].map((id) => new NodeProcess(id, join(root, `n${id}`), ['--groups', '1', '--events', '--tick-ms', '20']));
  try {
    await Promise.all(nodes.map((n) => n.start()));
    sendPeers(nodes);
    const alive = new Set([1, 2, 3]);
    const leader = await currentLeader(nodes, alive, 15_000);
    for (let i = 0; i < 20; i++) leader.send(`propose r${i} 1 value-${i}`);
    await leader.waitFor(/^committed r19 \d+$/, 15_000);
    for (const n of nodes) await n.waitFor(/^applied 1 \d+ value-19$/, 15_000);

    leader.kill9();
    await leader.exited;
    alive.delete(leader.id);
    const survivors = nodes.filter((n) => alive.has(n.id));
    const next = await currentLeader(nodes, alive, 15_000);
    assert.notEqual(next.id, leader.id);
    for (let i = 20; i < 30; i++) next.send(`propose r${i} 1 value-${i}`);
    await next.waitFor(/^committed r29 \d+$/, 15_000);
    for (const n of survivors) {
      await n.waitFor(/^applied 1 \d+ value-29$/, 15_000);
      // every node applied the same sequence, in order
      const seq = n.lines.filter((l) => l.startsWith('applied 1 ')).map((l) => l.split(' ')[3]);
      assert.deepEqual(seq, Array.from({ length: 30 }, (_, i) => `value-${i}`));
    }

    // while it is down the survivors move on far enough to compact their logs (every 256 applied entries)
    for (let i = 30; i < 330; i++) next.send(`propose r${i} 1 value-${i}`);
    await next.waitFor(/^committed r329 \d+$/, 30_000);
    await new Promise((r) => setTimeout(r, 1200)); // the node compacts on a 500 ms timer

    // the killed node restarts from its WAL; it is behind the leader's first index, so it catches up by snapshot
    const reborn = new NodeProcess(leader.id, join(root, `n${leader.id}`), ['--groups', '1', '--events', '--tick-ms', '20']);
    nodes[nodes.indexOf(leader)] = reborn;
    await reborn.start();
    sendPeers(nodes);
    const restored = await reborn.waitFor(/^restored 1 (\d+)$/, 20_000);
    assert.ok(Number(restored[1]) > 256, `snapshot at ${restored[1]}`);
    next.send('propose r330 1 value-after-restart');
    await reborn.waitFor(/^applied 1 \d+ value-after-restart$/, 20_000);
  } finally {
    for (const n of nodes) n.kill9();
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(root, { recursive: true, force: true });
  }
});
