// A one-node cluster: TRIBUTARY_METADATA_VOTERS naming only this node, no TRIBUTARY_PEERS. It runs in cluster mode
// (the metadata Raft group and one single-voter Raft group per partition, the replicated code path with nothing to
// replicate to), which is what bench/replication-cost.mjs measures RF 3 against. The node elects itself, creates a
// topic, answers acks=all produce, serves the records back, and still serves them after a restart (Raft WAL replay).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@tributary/protocol';
import { runCli, tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { clusterEnv, createTopic, fetchPartition, freePorts, metadataUntil, produceBatch, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'solo';
const lastOffsetOf = (records: Buffer): number => recordsIn(records).at(-1)!.offset;
const values = (...vs: string[]): Buffer => batchOf(vs.map((v) => ({ key: null, value: Buffer.from(v) })));

async function served(port: number, partition: number): Promise<string[]> {
  const f = await fetchPartition(port, TOPIC, partition, lastOffsetOf);
  assert.equal(f.errorCode, ErrorCode.NONE);
  return recordsIn(f.records).map((r) => `${r.offset}:${r.value!.toString()}`);
}

async function stop(n: ClusterNodeProcess): Promise<void> {
  n.proc.kill('SIGTERM');
  assert.equal(await n.exited, 0, n.output());
}

test('one node with TRIBUTARY_METADATA_VOTERS=<itself> and no peers is a cluster of one: Raft groups, produce, fetch, replay', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-one-node-');
  const dataDir = join(dir, 'node-1');
  mkdirSync(dataDir, { recursive: true });
  const env = clusterEnv(1, dataDir, await freePorts(1), 'Onenodeclustertestaaa', { TRIBUTARY_METADATA_VOTERS: '1' });
  assert.equal(env['TRIBUTARY_PEERS'], '', 'no peers: cluster mode comes from TRIBUTARY_METADATA_VOTERS alone');
  let node: ClusterNodeProcess | null = null;
  try {
    node = await startClusterNode(1, env);
    const port = node.kafkaPort;
    await metadataUntil(port, (m) => m.brokers.length === 1 && m.controllerId === 1, 20_000);
    assert.equal((await createTopic(port, TOPIC, 2, 1)).errorCode, ErrorCode.NONE);
    assert.equal((await createTopic(port, 'two-replicas', 1, 2)).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    await metadataUntil(port, (m) => m.topics.some((t: any) => t.name === TOPIC && t.partitions.length === 2 && t.partitions.every((p: any) => p.leaderId === 1)), 20_000);

    for (const [partition, batch] of [[0, values('a', 'b')], [1, values('c')], [0, values('d')]] as const) {
      const r = await produceBatch(port, TOPIC, partition, batch);
      assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    }
    assert.deepEqual(await served(port, 0), ['0:a', '1:b', '2:d']);
    assert.deepEqual(await served(port, 1), ['0:c']);

    // Cluster mode's on-disk shape: a Raft WAL, partition directories named by Raft group, the replicated catalogue
    // (standalone mode would have written metadata.sqlite and topics/<name>-<partition> logs instead).
    assert.ok(existsSync(join(dataDir, 'cluster-metadata.sqlite')));
    assert.ok(!existsSync(join(dataDir, 'metadata.sqlite')));
    assert.ok(readdirSync(join(dataDir, 'raft')).some((f) => f.startsWith('wal-')));
    const partitionDirs = readdirSync(join(dataDir, 'partitions')).filter((f) => f.endsWith(`-${TOPIC}-0`) || f.endsWith(`-${TOPIC}-1`));
    assert.equal(partitionDirs.length, 2);
    assert.ok(partitionDirs.every((f) => /^g\d+-/.test(f)), partitionDirs.join(','));

    await stop(node);
    node = await startClusterNode(1, env);
    await metadataUntil(node.kafkaPort, (m) => m.topics.some((t: any) => t.name === TOPIC && t.partitions.every((p: any) => p.leaderId === 1)), 20_000);
    assert.deepEqual(await served(node.kafkaPort, 0), ['0:a', '1:b', '2:d']);
    assert.deepEqual(await served(node.kafkaPort, 1), ['0:c']);
    await stop(node);
    node = null;
  } finally {
    if (node !== null && node.proc.exitCode === null) {
      node.proc.kill('SIGKILL');
      await node.exited;
    }
    cleanup();
  }
});

test('a node outside TRIBUTARY_METADATA_VOTERS without TRIBUTARY_PEERS has no cluster to join: exit 2', async () => {
  const r = await runCli(['start'], { TRIBUTARY_DATA_DIR: '/tmp/never-created', TRIBUTARY_NODE_ID: '2', TRIBUTARY_METADATA_VOTERS: '1' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /TRIBUTARY_PEERS: required to join a running cluster/);
});
