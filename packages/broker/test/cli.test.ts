import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, runCli, tempDataDir } from './support/broker-process.js';
import { clusterEnv, freePorts, metadataUntil, type ClusterNodeProcess } from './cluster/cluster-support.js';

test('bad configuration exits 2 naming each bad variable and the reason', async () => {
  const { dir, cleanup } = tempDataDir();
  try {
    const r = await runCli(['start'], {
      TRIBUTARY_DATA_DIR: dir,
      TRIBUTARY_KAFKA_LISTEN: 'localhost',
      TRIBUTARY_FSYNC_POLICY: 'sometimes',
      TRIBUTARY_SOCKET_REQUEST_MAX_BYTES: '-5',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TRIBUTARY_KAFKA_LISTEN: expected host:port/);
    assert.match(r.stderr, /TRIBUTARY_FSYNC_POLICY: expected one of always \| interval \| never, got "sometimes"/);
    assert.match(r.stderr, /TRIBUTARY_SOCKET_REQUEST_MAX_BYTES: expected an integer in/);
  } finally {
    cleanup();
  }
});

test('start without a data dir exits 2; unknown command exits 2; cluster reaches its own argument checks', async () => {
  const start = await runCli(['start'], {});
  assert.equal(start.code, 2);
  assert.match(start.stderr, /TRIBUTARY_DATA_DIR: required/);
  const unknown = await runCli(['frobnicate'], {});
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  // No flag needed any more: the command itself answers (here: its --nodes range).
  const cluster = await runCli(['cluster', '--nodes', '9'], {});
  assert.equal(cluster.code, 2);
  assert.match(cluster.stderr, /--nodes: expected an integer in 1\.\.5/);
});

test('start with TRIBUTARY_PEERS runs cluster mode without any flag; --experimental-cluster is a deprecated no-op', { timeout: 90_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-cli-cluster-');
  const clusterPorts = await freePorts(3);
  const clusterId = 'CliPeersSelectCluster1';
  const nodes: ClusterNodeProcess[] = [];
  try {
    // A node serves only once it has joined (which needs a quorum), so the three start together.
    // Node 3 still passes the old flag: it must join the same cluster, with a deprecation note on stderr.
    const starting = [1, 2, 3].map((id) => {
      const dataDir = join(dir, `node-${id}`);
      mkdirSync(dataDir, { recursive: true });
      const args = id === 3 ? ['start', '--experimental-cluster'] : ['start'];
      return startNode(id, args, clusterEnv(id, dataDir, clusterPorts, clusterId), (n) => nodes.push(n));
    });
    await Promise.all(starting);
    nodes.sort((a, b) => a.id - b.id);
    const md = await metadataUntil(nodes[0]!.kafkaPort, (m) => m.brokers.length === 3 && m.controllerId > 0, 30_000);
    assert.deepEqual(md.brokers.map((b: { nodeId: number }) => b.nodeId).sort(), [1, 2, 3], 'all three registered in one metadata group');
    assert.equal(md.clusterId, clusterId);
    assert.ok([1, 2, 3].includes(md.controllerId));
    assert.match(nodes[2]!.output(), /--experimental-cluster is deprecated and has no effect/);
    assert.doesNotMatch(nodes[0]!.output(), /deprecated/);
    for (const n of nodes) n.proc.kill('SIGTERM');
    for (const n of nodes) assert.equal(await n.exited, 0);
  } finally {
    for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    cleanup();
  }
});

/** Spawns `tributary <args>` and resolves once its "listening" line names the Kafka port. */
async function startNode(id: number, args: string[], env: Record<string, string>, spawned: (n: ClusterNodeProcess) => void): Promise<ClusterNodeProcess> {
  const proc = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let kafkaPort = -1;
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const node: ClusterNodeProcess = { id, proc, get kafkaPort() { return kafkaPort; }, output: () => output, exited };
  spawned(node); // registered before it serves, so a failed start is still cleaned up
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  kafkaPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${id} did not start in time; output:\n${output}`)), 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /"event":"listening"[^\n]*"kafka":"[^"]*:(\d+)"/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node ${id} exited with ${code} before listening; output:\n${output}`));
    });
  });
  return node;
}
