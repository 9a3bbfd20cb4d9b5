// Snapshots in a real 3-process cluster sharing one local object store (TRIBUTARY_OBJECT_STORE_DIR): the loop
// snapshots the metadata group and compacts its Raft log, the admin HTTP calls and `tributary snapshots` list and
// trigger, retention keeps RETENTION_COUNT per group and node; a follower that was down while the others compacted,
// and then a wiped follower, catch up through InstallSnapshot + a download from the store, with the same catalogue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { runCli, tempDataDir } from '../support/broker-process.js';
import { WireClient } from '../support/wire-client.js';
import { clusterEnv, freePorts, httpPortOf, metadata, metadataUntil, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

const SNAPSHOT_ENV = {
  TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: '8',
  TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '1',
  TRIBUTARY_SNAPSHOT_RETENTION_COUNT: '2',
};

async function createTopic(port: number, name: string): Promise<number> {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    const r = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 15000,
      validateOnly: false,
    });
    return r.topics[0].errorCode as number;
  } finally {
    client.close();
  }
}

async function http(port: number, path: string, method = 'GET'): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

const metadataGroup = (listing: any): any => listing.groups.find((g: any) => g.raftGroup === 1);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('3 processes, shared local store: metadata snapshots, compaction, admin list/trigger, retention; down and wiped followers catch up from the store', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-snapcluster-');
  const clusterPorts = await freePorts(3);
  const clusterId = 'Snapshotclustertest1';
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const store = join(dir, 'object-store');
  const env = (id: number): Record<string, string> => ({ ...clusterEnv(id, dirs[id - 1]!, clusterPorts, clusterId), ...SNAPSHOT_ENV });
  const nodes = new Map<number, ClusterNodeProcess>();
  const stopAll = async (): Promise<void> => {
    await Promise.all(
      [...nodes.values()].map(async (n) => {
        if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
        await n.exited;
      }),
    );
  };
  try {
    const started = await Promise.all([1, 2, 3].map((id) => startClusterNode(id, env(id))));
    for (const n of started) nodes.set(n.id, n);
    const kafka = (id: number): number => nodes.get(id)!.kafkaPort;
    const httpPort = (id: number): number => httpPortOf(nodes.get(id)!);
    const md = await metadataUntil(kafka(1), (m) => m.brokers.length === 3 && m.controllerId > 0);
    const leader = md.controllerId as number;
    const victim = [1, 2, 3].find((id) => id !== leader)!;
    const others = [1, 2, 3].filter((id) => id !== victim);

    const topics: string[] = [];
    const addTopics = async (count: number, via: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const name = `snap-topic-${topics.length}`;
        assert.equal(await createTopic(kafka(via), name), ErrorCode.NONE);
        topics.push(name);
      }
    };
    await addTopics(10, leader);

    // The loop (threshold 8 entries, checked every second) snapshots the metadata group on every node by itself.
    for (const id of [1, 2, 3]) {
      await until(`a loop snapshot of the metadata group on node ${id}`, async () => {
        const r = await http(httpPort(id), '/admin/snapshots');
        const g = r.status === 200 ? metadataGroup(r.body) : undefined;
        return g !== undefined && g.snapshots.length > 0 && g.raftLog.firstIndex > 1 ? g : undefined;
      });
    }

    // CLI: trigger one group now, then list.
    for (const id of [1, 2, 3]) {
      const trig = await runCli(['snapshots', 'trigger', '--http', `127.0.0.1:${httpPort(id)}`, '--raft-group', '1'], {}, 60_000);
      assert.equal(trig.code, 0, trig.stderr);
      assert.match(trig.stdout, /^raft group 1: (snapshot at index \d+ \(term \d+\)|nothing new since the snapshot at index \d+)/m);
      const list = await runCli(['snapshots', 'list', '--http', `127.0.0.1:${httpPort(id)}`], {}, 60_000);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^node ${id}  writer ${clusterId}\\.node-${id}  store file://`, 'm'));
      assert.match(list.stdout, /^1\s+metadata\s+\d+\s+\d+/m);
    }
    const badGroup = await runCli(['snapshots', 'trigger', '--http', `127.0.0.1:${httpPort(1)}`, '--raft-group', '999'], {});
    assert.equal(badGroup.code, 1);
    assert.match(badGroup.stderr, /404: Raft group 999 is not hosted on node 1/);
    assert.equal((await http(httpPort(1), '/admin/snapshots', 'POST')).status, 405);

    // More writes and snapshots: retention keeps 2 per node prefix; the Raft log holds only the tail.
    await addTopics(10, leader);
    for (const id of [1, 2, 3]) {
      const t = await http(httpPort(id), '/admin/snapshots/trigger', 'POST');
      assert.equal(t.status, 200, t.text);
    }
    for (const id of [1, 2, 3]) {
      // Settled: nothing in flight and the Raft log starts right after the newest snapshot (entries keep arriving, so
      // a few below the threshold may follow it).
      const g = await until(`node ${id} compacted behind its newest snapshot`, async () => {
        const r = metadataGroup((await http(httpPort(id), '/admin/snapshots')).body);
        return !r.inFlight && r.compactionPendingIndex === null && r.raftLog.firstIndex === r.lastSnapshotIndex + 1 ? r : undefined;
      });
      assert.ok(g.snapshots.length >= 1 && g.snapshots.length <= 2, `node ${id}: ${g.snapshots.length} snapshots kept`);
      const manifests = readdirSync(join(store, 'data', 'manifests', `${clusterId}.node-${id}`, '1'));
      assert.ok(manifests.length >= 1 && manifests.length <= 2, `node ${id} prefix holds ${manifests.join(',')}`);
      assert.ok(g.lastSnapshotIndex >= 40 && g.appliedIndex - g.raftLog.firstIndex < 20, `node ${id}: Raft log ${JSON.stringify(g.raftLog)} holds only a short tail (applied ${g.appliedIndex})`);
    }
    const metricsText = (await http(httpPort(leader), '/metrics')).text;
    assert.match(metricsText, /^tributary_snapshot_created_total\{kind="metadata"\} [1-9]\d*$/m);
    assert.match(metricsText, /^tributary_snapshot_loop_running 1$/m);

    // A follower that is down while the others write and compact must catch up through a snapshot.
    const victimLastIndex = (metadataGroup((await http(httpPort(victim), '/admin/snapshots')).body).raftLog as { lastIndex: number }).lastIndex;
    nodes.get(victim)!.proc.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    await addTopics(12, leader);
    for (const id of others) {
      const t = await http(httpPort(id), '/admin/snapshots/trigger?raftGroup=1', 'POST');
      assert.equal(t.status, 200, t.text);
    }
    const leaderLog = metadataGroup((await http(httpPort(leader), '/admin/snapshots')).body).raftLog;
    assert.ok(leaderLog.firstIndex > victimLastIndex + 1, `the leader compacted past the victim's log (${victimLastIndex} < ${leaderLog.firstIndex})`);

    const expectCaughtUp = async (id: number, label: string): Promise<void> => {
      const seen = await metadataUntil(kafka(id), (m) => topics.every((t) => m.topics.some((x: any) => x.name === t)), 60_000);
      assert.deepEqual(seen.topics.map((t: any) => t.name).filter((n: string) => n.startsWith('snap-topic-')).sort(), [...topics].sort(), label);
      assert.match(nodes.get(id)!.output(), /metadata group restored from snapshot/, label);
      const listing = (await http(httpPort(id), '/admin/snapshots')).body;
      assert.equal(listing.caughtUp, true, label);
      assert.equal((await http(httpPort(id), '/ready')).status, 200, label);
      const m = (await http(httpPort(id), '/metrics')).text;
      assert.match(m, /^tributary_snapshot_bootstrap_total\{kind="metadata",outcome="restored"\} [1-9]\d*$/m, label);
      // Same catalogue as the leader's (names, partitions and replicas).
      const fromLeader = await metadata(kafka(leader));
      const shape = (x: any): string[] => x.topics.map((t: any) => `${t.name}:${t.partitions.map((p: any) => p.replicaNodes.join('+')).join(',')}`).sort();
      assert.deepEqual(shape(seen), shape(fromLeader), label);
    };

    nodes.set(victim, await startClusterNode(victim, env(victim), 90_000));
    await expectCaughtUp(victim, 'restarted follower');

    // Wiped: its whole data directory is gone (the shared store is elsewhere).
    nodes.get(victim)!.proc.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    rmSync(dirs[victim - 1]!, { recursive: true, force: true });
    mkdirSync(dirs[victim - 1]!, { recursive: true });
    await addTopics(2, leader);
    nodes.set(victim, await startClusterNode(victim, env(victim), 90_000));
    await expectCaughtUp(victim, 'wiped follower');
    assert.ok(existsSync(join(dirs[victim - 1]!, 'cluster-metadata.sqlite')));

    for (const n of nodes.values()) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) assert.equal(await n.exited, 0, n.output().slice(-2000));
  } finally {
    await stopAll();
    cleanup();
  }
});
