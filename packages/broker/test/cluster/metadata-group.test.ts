// Cluster mode, steps 1-2 of issue 5: three broker processes form the metadata Raft group (SQLite state machine),
// register themselves, agree on a cluster id, and serve Metadata from their local copies. Topic creation on a
// follower is forwarded to the metadata leader; the group survives kill -9 of its leader, and the killed node
// catches up after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { runCli, tempDataDir } from '../support/broker-process.js';
import { WireClient } from '../support/wire-client.js';
import { clusterEnv, createTopic, freeConsecutivePorts, freePorts, launchLocalCluster, metadata, metadataUntil, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

async function initProducerId(port: number): Promise<any> {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    return await client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  } finally {
    client.close();
  }
}

const sameController = (mds: any[]): boolean => mds.every((m) => m.controllerId === mds[0].controllerId && m.controllerId > 0);

test('cluster mode: invalid node ids exit 2 (with or without the deprecated --experimental-cluster)', async () => {
  const zero = await runCli(['start', '--experimental-cluster'], { TRIBUTARY_DATA_DIR: '/tmp/never-created', TRIBUTARY_NODE_ID: '0', TRIBUTARY_PEERS: '2@127.0.0.1:9999' });
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /TRIBUTARY_NODE_ID: must be at least 1/);
  const self = await runCli(['start', '--experimental-cluster'], { TRIBUTARY_DATA_DIR: '/tmp/never-created', TRIBUTARY_NODE_ID: '2', TRIBUTARY_PEERS: '2@127.0.0.1:9999' });
  assert.equal(self.code, 2);
  assert.match(self.stderr, /TRIBUTARY_PEERS: must list the other nodes/);
  const plain = await runCli(['start'], { TRIBUTARY_DATA_DIR: '/tmp/never-created', TRIBUTARY_NODE_ID: '0', TRIBUTARY_PEERS: '2@127.0.0.1:9999' });
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /TRIBUTARY_NODE_ID: must be at least 1/);
  const badNodes = await runCli(['cluster', '--experimental-cluster', '--nodes', '9'], {});
  assert.equal(badNodes.code, 2);
  assert.match(badNodes.stderr, /--nodes: expected an integer in 1\.\.5/);
});

test('three brokers: metadata group, registration, forwarded topic creation, leader kill -9 and catch-up', { timeout: 90_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-cluster-');
  const clusterPorts = await freePorts(3);
  const clusterId = 'Abcdefghijklmnopqrstuv';
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes = new Map<number, ClusterNodeProcess>();
  const stopAll = async (): Promise<void> => {
    await Promise.all([...nodes.values()].map(async (n) => {
      if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
      await n.exited;
    }));
  };
  try {
    const started = await Promise.all([1, 2, 3].map((id) => startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, clusterId))));
    for (const n of started) nodes.set(n.id, n);
    const port = (id: number): number => nodes.get(id)!.kafkaPort;

    // Every broker lists all three (registered through the group) and the same cluster id and controller.
    let mds = await Promise.all([1, 2, 3].map((id) => metadataUntil(port(id), (m) => m.brokers.length === 3)));
    for (const md of mds) {
      assert.equal(md.clusterId, clusterId);
      assert.deepEqual(md.brokers.map((b: any) => [b.nodeId, b.port]), [1, 2, 3].map((id) => [id, port(id)]));
    }
    for (let i = 0; i < 50 && !sameController(mds); i++) mds = await Promise.all([1, 2, 3].map((id) => metadata(port(id))));
    assert.ok(sameController(mds), 'all brokers name the same metadata leader as controller');
    const leader = mds[0].controllerId as number;
    const follower = [1, 2, 3].find((id) => id !== leader)!;

    // Creation on a follower is forwarded to the metadata leader.
    assert.equal((await createTopic(port(follower), 'orders', 3, 3)).errorCode, ErrorCode.NONE);
    assert.equal((await createTopic(port(leader), 'orders', 3, 3)).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal((await createTopic(port(follower), 'too-many', 1, 4)).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    for (const id of [1, 2, 3]) {
      const md = await metadataUntil(port(id), (m) => m.topics.some((t: any) => t.name === 'orders'));
      const t = md.topics.find((x: any) => x.name === 'orders');
      assert.equal(t.partitions.length, 3);
      const preferred = new Set<number>();
      for (const p of t.partitions) {
        assert.deepEqual([...p.replicaNodes].sort(), [1, 2, 3]);
        // Until its Raft group has elected a leader a partition answers LEADER_NOT_AVAILABLE (retriable).
        assert.ok(p.errorCode === ErrorCode.NONE || p.errorCode === ErrorCode.LEADER_NOT_AVAILABLE);
        preferred.add(p.replicaNodes[0]);
      }
      assert.equal(preferred.size, 3, 'preferred leaders spread round-robin');
    }

    // RF 1: each partition lives on one broker; the others learn its leader from the metadata group.
    assert.equal((await createTopic(port(leader), 'single', 3, 1)).errorCode, ErrorCode.NONE);
    for (const id of [1, 2, 3]) {
      const md = await metadataUntil(port(id), (m) => m.topics.find((t: any) => t.name === 'single')?.partitions.every((p: any) => p.leaderId > 0) === true);
      const t = md.topics.find((x: any) => x.name === 'single');
      for (const p of t.partitions) {
        assert.equal(p.errorCode, ErrorCode.NONE);
        assert.deepEqual(p.replicaNodes, [p.leaderId], 'the only replica leads');
        assert.ok(p.leaderEpoch >= 1);
      }
    }

    // Producer ids come from blocks reserved per broker in the metadata group: never the same on two brokers.
    const pids = await Promise.all([1, 2, 3].map((id) => initProducerId(port(id))));
    for (const r of pids) assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(new Set(pids.map((r) => r.producerId)).size, 3);

    // kill -9 the metadata leader: the other two elect a new one and still accept catalogue changes. RF 2: once the
    // dead broker's session lapses it is fenced and RF 3 is refused (INVALID_REPLICATION_FACTOR, Kafka's rule).
    nodes.get(leader)!.proc.kill('SIGKILL');
    await nodes.get(leader)!.exited;
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    let created: any;
    const deadline = Date.now() + 20_000;
    do {
      created = await createTopic(port(survivors[0]!), 'after-failover', 2, 2);
      if (created.errorCode === ErrorCode.NONE) break;
      assert.equal(created.errorCode, ErrorCode.REQUEST_TIMED_OUT, `retriable while electing: ${created.errorMessage}`);
    } while (Date.now() < deadline);
    assert.equal(created.errorCode, ErrorCode.NONE);
    const after = await metadataUntil(port(survivors[1]!), (m) => m.topics.some((t: any) => t.name === 'after-failover') && m.controllerId !== leader);
    assert.notEqual(after.controllerId, leader);
    assert.ok(after.topics.some((t: any) => t.name === 'after-failover'));

    // The killed node restarts from its WAL and SQLite copy, rejoins and catches up.
    const restarted = await startClusterNode(leader, clusterEnv(leader, dirs[leader - 1]!, clusterPorts, clusterId));
    nodes.set(leader, restarted);
    const caughtUp = await metadataUntil(restarted.kafkaPort, (m) => m.topics.some((t: any) => t.name === 'after-failover'));
    assert.deepEqual(caughtUp.topics.map((t: any) => t.name).sort(), ['after-failover', 'orders', 'single']);
    assert.equal(caughtUp.clusterId, clusterId);
    assert.equal(caughtUp.brokers.find((b: any) => b.nodeId === leader).port, restarted.kafkaPort, 'the new Kafka port is re-registered');

    // Graceful shutdown exits 0.
    for (const n of nodes.values()) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) assert.equal(await n.exited, 0);
  } finally {
    await stopAll();
    cleanup();
  }
});

test('tributary cluster --nodes 3 prints the bootstrap servers and SIGTERM stops every node', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-local-cluster-');
  const base = await freeConsecutivePorts(3);
  const { proc, exited, bootstrapServers } = launchLocalCluster(['--experimental-cluster', '--nodes', '3', '--data-dir', dir, '--kafka-base-port', '0', '--http-base-port', '0', '--cluster-base-port', String(base)]);
  try {
    const servers = await bootstrapServers(45_000);
    assert.equal(servers.length, 3);
    const md = await metadataUntil(Number(servers[0]!.split(':')[1]), (m) => m.brokers.length === 3);
    assert.deepEqual(md.brokers.map((b: any) => `${b.host}:${b.port}`), servers);
    for (const id of [1, 2, 3]) assert.ok(existsSync(join(dir, `node-${id}`, 'ports.json')));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    for (const id of [1, 2, 3]) assert.ok(!existsSync(join(dir, `node-${id}`, 'ports.json')), 'every node shut down');
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    cleanup();
  }
});
