// A wiped node bootstraps its partitions from the object store: three `start` processes share a local-directory
// store; produce enough that every replica snapshots its partitions (sealed segments as pieces) and compacts; kill -9
// one node, delete its data directory, restart it: it restores each partition before hosting it (log line
// "bootstrapped partition from snapshot", bootstrap metric), its Raft groups start at the snapshot, it catches up the
// tail, is ready, and serves the same bytes as the leader with every acknowledged record exactly once. Then it is
// wiped again with no snapshot taken meanwhile (restored index below what the leaders remember) and comes back too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { clusterEnv, createTopic, fetchPartition, freePorts, httpPortOf, metadataUntil, produceBatch, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'bootstrapped';
const lastOffsetOf = (records: Buffer): number => recordsIn(records).at(-1)!.offset;
const PARTITIONS = 2;
const SNAPSHOT_ENV = {
  TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: '40',
  TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '1',
  TRIBUTARY_SNAPSHOT_RETENTION_COUNT: '2',
};

async function leaders(port: number): Promise<number[]> {
  const md = await metadataUntil(port, (m) => {
    const t = m.topics.find((x: any) => x.name === TOPIC);
    return t !== undefined && t.partitions.length === PARTITIONS && t.partitions.every((p: any) => p.leaderId > 0);
  }, 20_000);
  const t = md.topics.find((x: any) => x.name === TOPIC);
  return [...t.partitions].sort((a: any, b: any) => a.partitionIndex - b.partitionIndex).map((p: any) => p.leaderId as number);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve().then(probe).catch(() => undefined);
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a wiped node bootstraps its partitions from the store (3 processes, shared local store) and ends byte-identical', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-partboot-');
  const clusterPorts = await freePorts(3);
  const clusterId = 'Partitionbootstraptest';
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const env = (id: number): Record<string, string> => ({ ...clusterEnv(id, dirs[id - 1]!, clusterPorts, clusterId), ...SNAPSHOT_ENV });
  const nodes = new Map<number, ClusterNodeProcess>();
  const port = (id: number): number => nodes.get(id)!.kafkaPort;
  try {
    for (const n of await Promise.all([1, 2, 3].map((id) => startClusterNode(id, env(id))))) nodes.set(n.id, n);
    assert.equal((await createTopic(port(1), TOPIC, PARTITIONS, 3, { 'segment.bytes': '8192' })).errorCode, ErrorCode.NONE);

    const sent: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const produceBatches = async (count: number, tag: string): Promise<void> => {
      for (let i = 0; i < count; i++) {
        for (let p = 0; p < PARTITIONS; p++) {
          const values = [0, 1, 2, 3].map((k) => `${tag}-${p}-${i}-${k}-${'v'.repeat(60)}`);
          for (let attempt = 0; ; attempt++) {
            const leader = (await leaders(port(1)))[p]!;
            // a killed leader is still named until the new one is recorded: a refused connection is retried too
            const r = await produceBatch(port(leader), TOPIC, p, Buffer.from(batchOf(values.map((v) => ({ key: null, value: Buffer.from(v) }))))).catch((err: Error) => ({ errorCode: err.message }));
            if (r.errorCode === ErrorCode.NONE) break;
            assert.ok(attempt < 100, `produce to partition ${p} kept failing (${r.errorCode})`);
            await new Promise((res) => setTimeout(res, 100));
          }
          sent[p]!.push(...values);
        }
      }
    };
    await produceBatches(120, 'before');

    // Every node snapshots every partition into its own prefix (manifests/<cluster>.node-<n>/<raftGroup>/).
    const partitionGroups = readdirSync(join(dirs[0]!, 'partitions')).map((name) => /^g(\d+)-/.exec(name)![1]!);
    assert.equal(partitionGroups.length, PARTITIONS);
    const manifestsDir = (node: number, group: string): string => join(dir, 'object-store', 'data', 'manifests', `${clusterId}.node-${node}`, group);
    await until('partition snapshots from every node', () =>
      [1, 2, 3].every((n) => partitionGroups.every((g) => existsSync(manifestsDir(n, g)) && readdirSync(manifestsDir(n, g)).length > 0)) ? true : undefined);
    await produceBatches(15, 'tail');

    // Wipe node 3 and restart it: bootstrap from the store before hosting.
    const victim = 3;
    nodes.get(victim)!.proc.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    rmSync(dirs[victim - 1]!, { recursive: true, force: true });
    mkdirSync(dirs[victim - 1]!, { recursive: true });
    // Write while it is away and snapshot the other nodes now (metadata group included: a topic creation adds
    // entries): the newest snapshots are then in the other nodes' prefixes, and the bootstrap must take those.
    await produceBatches(10, 'away');
    assert.equal((await createTopic(port(1), 'marker', 1, 1)).errorCode, ErrorCode.NONE);
    for (const id of [1, 2]) {
      const res = await fetch(`http://127.0.0.1:${httpPortOf(nodes.get(id)!)}/admin/snapshots/trigger`, { method: 'POST', signal: AbortSignal.timeout(60_000) });
      assert.equal(res.status, 200, await res.text());
    }
    nodes.set(victim, await startClusterNode(victim, env(victim), 60_000));
    const restarted = nodes.get(victim)!;
    await until('two partitions bootstrapped', () => (restarted.output().split('bootstrapped partition from snapshot').length - 1 >= PARTITIONS ? true : undefined));
    const hostingLines = restarted.output().split('\n').filter((l) => l.includes('"hosting partition replica"') && l.includes(`"topic":"${TOPIC}"`));
    assert.equal(hostingLines.length, PARTITIONS);
    for (const line of hostingLines) assert.ok((JSON.parse(line) as { checkpointIndex: number }).checkpointIndex > 0, `replica starts at the snapshot: ${line}`);
    const bootLines = restarted.output().split('\n').filter((l) => l.includes('"bootstrapped partition from snapshot"'));
    for (const line of bootLines) assert.notEqual((JSON.parse(line) as { fromNode: number }).fromNode, victim, `the newest snapshot is another node's: ${line}`);

    await produceBatches(5, 'after');
    const httpPort = httpPortOf(restarted);
    await until('node 3 ready', async () => ((await fetch(`http://127.0.0.1:${httpPort}/ready`)).status === 200 ? true : undefined));
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(metrics, /^tributary_snapshot_bootstrap_total\{kind="partition",outcome="restored"\} [2-9]\d*$/m);

    const expectIdenticalToLeaders = async (label: string): Promise<void> => {
      for (let p = 0; p < PARTITIONS; p++) {
        const leader = (await leaders(port(1)))[p]!;
        const fromLeader = await fetchPartition(port(leader), TOPIC, p, lastOffsetOf);
        assert.equal(fromLeader.highWatermark, sent[p]!.length);
        const fromVictim = await until(`node 3 caught up on partition ${p} (${label})`, async () => {
          const f = await fetchPartition(port(victim), TOPIC, p, lastOffsetOf);
          return f.highWatermark === fromLeader.highWatermark ? f : undefined;
        });
        assert.ok(fromVictim.records.equals(fromLeader.records), `partition ${p}: node 3 serves the leader's bytes (${label})`);
        assert.deepEqual(recordsIn(fromVictim.records).map((r) => r.value!.toString()), sent[p], `partition ${p}: every record exactly once, in order (${label})`);
      }
    };
    await expectIdenticalToLeaders('first wipe');

    // Wiped again, and this time nobody snapshots meanwhile: the newest snapshot is older than what the leaders
    // remember node 3 had; the leaders re-probe it (peerRestartedEmpty) and send the tail after the restored index.
    nodes.get(victim)!.proc.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    rmSync(dirs[victim - 1]!, { recursive: true, force: true });
    mkdirSync(dirs[victim - 1]!, { recursive: true });
    await produceBatches(5, 'away-again');
    nodes.set(victim, await startClusterNode(victim, env(victim), 60_000));
    const again = nodes.get(victim)!;
    await until('two partitions bootstrapped again', () => (again.output().split('bootstrapped partition from snapshot').length - 1 >= PARTITIONS ? true : undefined));
    await produceBatches(3, 'after-again');
    await expectIdenticalToLeaders('second wipe, no new snapshots');
  } finally {
    await Promise.all([...nodes.values()].map(async (n) => {
      if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
      await n.exited;
    }));
    cleanup();
  }
});
