// Partition reassignment through InstallSnapshot, with the object store out while the new replica joins: four
// broker processes, snapshots every 40 entries (every replica's Raft log compacted), the shared local store replaced
// by a plain file (every read and write fails) before an RF 3 partition moves from 1,2,3 to 2,3,4. Broker 4 cannot
// bootstrap from the store, joins empty, and the leader sends InstallSnapshot (a reference to a snapshot in the store);
// Raft then counts broker 4 as caught up, but its partition state is still restoring, so the move must wait: nothing
// is promoted or removed until the store is back and broker 4 holds the data. Then the move completes and broker 4's
// log is byte-identical to broker 2's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { brokersListed, clusterEnv, fetchPartition, freePorts, metadataUntil, produceBatch, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'remote';
const lastOffsetOf = (records: Buffer): number => recordsIn(records).at(-1)?.offset ?? -1;
const partitionOf = (md: any): any => md.topics.find((t: any) => t.name === TOPIC)?.partitions[0];

const reassigning = (port: number): Promise<boolean> =>
  withClient(port, async (c) => (await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 10_000, topics: null })).topics.length > 0);

test('reassignment: a new replica brought up by InstallSnapshot is promoted only once its restore from the store is done', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-reassign-snap-');
  const clusterPorts = await freePorts(4);
  const dirs = [1, 2, 3, 4].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const store = join(dir, 'object-store');
  const env = (id: number) => clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Reassignsnapshotcluster', { TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: '40', TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '1' });
  const nodes = new Map<number, ClusterNodeProcess>();
  let outage = false;
  try {
    for (const n of await Promise.all([1, 2, 3, 4].map((id) => startClusterNode(id, env(id))))) nodes.set(n.id, n);
    const port = (id: number): number => nodes.get(id)!.kafkaPort;
    // Each node serves once its own registration is applied on the metadata leader; broker 1's copy of the catalogue
    // may not yet hold the others' (a manual assignment naming a broker it does not list is INVALID_REPLICA_ASSIGNMENT).
    await brokersListed(port(1), [1, 2, 3, 4]);
    const created = await withClient(port(1), (c) =>
      c.request(ApiKey.CreateTopics, 7, { topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }], configs: [] }], timeoutMs: 15000, validateOnly: false }),
    );
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE, created.topics[0].errorMessage);
    const leader = partitionOf(await metadataUntil(port(1), (m) => (partitionOf(m)?.leaderId ?? -1) > 0, 20_000)).leaderId as number;
    for (let i = 0; i < 150; i++) assert.equal((await produceBatch(port(leader), TOPIC, 0, batchOf([{ key: null, value: Buffer.from(`r${i}`) }]))).errorCode, ErrorCode.NONE);
    await new Promise((r) => setTimeout(r, 3000)); // snapshots uploaded, every replica's Raft log compacted

    // the store goes away: a plain file where its directory was
    renameSync(store, `${store}.away`);
    writeFileSync(store, 'not a directory');
    outage = true;
    const alter = await withClient(port(2), (c) => c.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 30_000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [2, 3, 4] }] }] }));
    assert.equal(alter.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    for (let i = 0; i < 10; i++) assert.equal((await produceBatch(port(leader), TOPIC, 0, batchOf([{ key: null, value: Buffer.from(`during-${i}`) }]))).errorCode, ErrorCode.NONE);
    await new Promise((r) => setTimeout(r, 5000));
    assert.ok(await reassigning(port(3)), 'the move waits while broker 4 cannot restore');
    assert.deepEqual(partitionOf(await metadataUntil(port(3), () => true)).replicaNodes, [2, 3, 4, 1]);
    assert.match(nodes.get(4)!.output(), /"topic":"remote".*"msg":"restoring partition replica from a snapshot"/, 'broker 4 was sent InstallSnapshot');

    // the store is back: broker 4 restores, is promoted, broker 1 leaves
    rmSync(store);
    renameSync(`${store}.away`, store);
    outage = false;
    const deadline = Date.now() + 60_000;
    while (await reassigning(port(3))) {
      assert.ok(Date.now() < deadline, 'the move completes once the store is back');
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.match(nodes.get(4)!.output(), /"topic":"remote".*"msg":"restored Raft group from snapshot"/);
    const md = await metadataUntil(port(2), (m) => partitionOf(m)?.replicaNodes.length === 3 && partitionOf(m).leaderId > 1, 20_000);
    assert.deepEqual(partitionOf(md).replicaNodes, [2, 3, 4]);
    const newLeader = partitionOf(md).leaderId as number;
    assert.equal((await produceBatch(port(newLeader), TOPIC, 0, batchOf([{ key: null, value: Buffer.from('after') }]))).errorCode, ErrorCode.NONE);
    const settle = Date.now() + 20_000;
    let on4 = await fetchPartition(port(4), TOPIC, 0, lastOffsetOf);
    let on2 = await fetchPartition(port(2), TOPIC, 0, lastOffsetOf);
    while (on4.highWatermark !== on2.highWatermark && Date.now() < settle) {
      await new Promise((r) => setTimeout(r, 200));
      on4 = await fetchPartition(port(4), TOPIC, 0, lastOffsetOf);
      on2 = await fetchPartition(port(2), TOPIC, 0, lastOffsetOf);
    }
    assert.equal(on4.highWatermark, 161);
    assert.ok(on4.records.equals(on2.records), 'broker 4 serves exactly the bytes broker 2 serves');
  } finally {
    if (outage) {
      rmSync(store, { force: true });
      renameSync(`${store}.away`, store);
    }
    for (const n of nodes.values()) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exited));
    cleanup();
  }
});
