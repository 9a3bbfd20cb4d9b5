// Partition reassignment (issue 5) with four broker processes: AlterPartitionReassignments moves an RF 3 partition
// from brokers 1,2,3 to 2,3,4 while an acks=all producer runs (snapshots on with a low threshold, so the replicas'
// Raft logs are compacted and the new replica needs snapshot data); the move completes, no acknowledged record is
// lost, broker 4's log is byte-identical to broker 2's and broker 1 no longer hosts the partition (its directory is
// gone). With broker 4 down, a move to it stays in progress with the old voters intact (caught up before removal),
// and a cancel goes back to the original replicas. Kafka's errors for bad requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { brokersListed, clusterEnv, fetchPartition, freePorts, metadataUntil, produceBatch, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const SNAPSHOTS = { TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: '40', TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '1' };
const RETRIABLE = new Set<number>([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);

const lastOffsetOf = (records: Buffer): number => {
  const all = recordsIn(records);
  return all.length === 0 ? -1 : all[all.length - 1]!.offset;
};

function partitionOf(md: any, topic: string): any {
  return md.topics.find((t: any) => t.name === topic)?.partitions.find((p: any) => p.partitionIndex === 0);
}

function alter(port: number, topic: string, replicas: number[] | null): Promise<any> {
  return withClient(port, async (c) => {
    const r = await c.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 30_000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas }] }] });
    assert.equal(r.errorCode, ErrorCode.NONE);
    return r.responses[0].partitions[0];
  });
}

function listReassignments(port: number, topics: { name: string; partitionIndexes: number[] }[] | null = null): Promise<any[]> {
  return withClient(port, async (c) => {
    const r = await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 30_000, topics });
    assert.equal(r.errorCode, ErrorCode.NONE);
    return r.topics;
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('reassignment: RF 3 moves from 1,2,3 to 2,3,4 under acks=all load; caught up before removal; cancel; Kafka errors', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-reassign-');
  const clusterPorts = await freePorts(4);
  const dirs = [1, 2, 3, 4].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const env = (id: number) => clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Reassignmenttestcluster', SNAPSHOTS);
  const nodes = new Map<number, ClusterNodeProcess>();
  try {
    for (const n of await Promise.all([1, 2, 3, 4].map((id) => startClusterNode(id, env(id))))) nodes.set(n.id, n);
    const port = (id: number): number => nodes.get(id)!.kafkaPort;
    // broker 1 validates the manual assignments against its copy of the catalogue: wait until it lists every broker
    await brokersListed(port(1), [1, 2, 3, 4]);
    // 'moving' has a second partition on 1,2,3 that stays: broker 1 must keep serving it after p0 moves away
    const create = (name: string) => {
      const assignments = (name === 'moving' ? [0, 1] : [0]).map((partitionIndex) => ({ partitionIndex, brokerIds: [1, 2, 3] }));
      return withClient(port(1), (c) => c.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: -1, replicationFactor: -1, assignments, configs: [] }], timeoutMs: 15000, validateOnly: false }));
    };
    for (const name of ['moving', 'stuck', 'cancelled', 'doomed']) assert.equal((await create(name)).topics[0].errorCode, ErrorCode.NONE, name);
    const led = (topic: string) => (md: any) => (partitionOf(md, topic)?.leaderId ?? -1) > 0;
    for (const name of ['moving', 'stuck', 'cancelled']) await metadataUntil(port(2), led(name), 20_000);

    // --- Kafka's errors
    assert.equal((await alter(port(3), 'nosuch', [1, 2, 3])).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await alter(port(3), 'moving', [2, 2, 3])).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await alter(port(3), 'moving', [2, 3, 9])).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await alter(port(3), 'moving', [])).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await alter(port(3), 'moving', null)).errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    await withClient(port(1), (c) => c.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'doomed', topicId: Buffer.alloc(16) }], timeoutMs: 15000 }));
    assert.equal((await alter(port(4), 'doomed', [2, 3, 4])).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // --- data before the move: enough entries for every replica to snapshot and compact its Raft log
    const acked: string[] = [];
    let seq = 0;
    let leader = partitionOf(await metadataUntil(port(1), led('moving')), 'moving').leaderId as number;
    const produceOne = async (): Promise<number> => {
      const value = `v${seq++}`;
      const r = await produceBatch(port(leader), 'moving', 0, batchOf([{ key: null, value: Buffer.from(value) }])).catch(() => ({ errorCode: ErrorCode.REQUEST_TIMED_OUT }));
      if (r.errorCode === ErrorCode.NONE) acked.push(value);
      else {
        assert.ok(RETRIABLE.has(r.errorCode), `only retriable errors while moving (got ${r.errorCode})`);
        const md = await metadataUntil(port(2), led('moving'), 10_000);
        leader = partitionOf(md, 'moving').leaderId;
      }
      return r.errorCode;
    };
    for (let i = 0; i < 200; i++) await produceOne();
    await new Promise((r) => setTimeout(r, 2500)); // let the snapshot loop compact the logs

    // --- the move, while an acks=all producer runs
    let producing = true;
    const producer = (async () => { while (producing) await produceOne(); })();
    const moveStartedMs = Date.now();
    assert.equal((await alter(port(3), 'moving', [2, 3, 4])).errorCode, ErrorCode.NONE);
    const during = await listReassignments(port(3));
    const listed = during.find((t: any) => t.name === 'moving')?.partitions[0];
    if (listed !== undefined) {
      assert.deepEqual(listed.replicas, [2, 3, 4, 1], 'replicas = target then leaving replicas');
      assert.deepEqual(listed.addingReplicas, [4]);
      assert.deepEqual(listed.removingReplicas, [1]);
    }
    await waitUntil('the move completes', async () => (await listReassignments(port(2))).length === 0, 90_000);
    const moveMs = Date.now() - moveStartedMs;
    await new Promise((r) => setTimeout(r, 500));
    producing = false;
    await producer;
    const md = await metadataUntil(port(1), (m) => partitionOf(m, 'moving')?.replicaNodes.length === 3 && partitionOf(m, 'moving').leaderId > 1, 20_000);
    assert.deepEqual(partitionOf(md, 'moving').replicaNodes, [2, 3, 4]);
    // the new replica started from snapshot data (the replicas' Raft logs were compacted), then took the log tail
    assert.match(nodes.get(4)!.output(), /"topic":"moving".*"msg":"(bootstrapped partition from snapshot|restored Raft group from snapshot)"/);
    console.log(`moved under load in ${moveMs} ms (AlterPartitionReassignments to ListPartitionReassignments empty): ${acked.length} acknowledged records, leader now ${partitionOf(md, 'moving').leaderId}`);

    // byte-identical replicas with every acknowledged record; broker 1 no longer hosts the partition
    const hw = async (id: number) => (await fetchPartition(port(id), 'moving', 0, lastOffsetOf)).highWatermark;
    await waitUntil('replicas 2,3,4 at the same high watermark', async () => (await hw(2)) === (await hw(4)) && (await hw(3)) === (await hw(4)), 20_000);
    const on4 = await fetchPartition(port(4), 'moving', 0, lastOffsetOf);
    const on2 = await fetchPartition(port(2), 'moving', 0, lastOffsetOf);
    assert.equal(on4.errorCode, ErrorCode.NONE);
    assert.ok(on4.records.equals(on2.records), 'broker 4 serves exactly the bytes broker 2 serves');
    const values = new Set(recordsIn(on4.records).map((r) => r.value!.toString()));
    for (const v of acked) assert.ok(values.has(v), `acknowledged record ${v} is on the new replica`);
    await waitUntil('broker 1 deleted its replica', async () => !readdirSync(join(dirs[0]!, 'partitions')).some((d) => d.endsWith('-moving-0')), 20_000);
    assert.ok(readdirSync(join(dirs[3]!, 'partitions')).some((d) => d.endsWith('-moving-0')), 'broker 4 hosts the partition');
    const f1 = await fetchPartition(port(1), 'moving', 0, lastOffsetOf);
    assert.equal(f1.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'broker 1 holds no replica any more');
    assert.equal((await fetchPartition(port(1), 'moving', 1, lastOffsetOf)).errorCode, ErrorCode.NONE, 'broker 1 still serves the partition that stayed');

    // --- broker 4 down: the move starts (4 is a learner that cannot catch up) but nothing is removed
    nodes.get(4)!.proc.kill('SIGKILL');
    await nodes.get(4)!.exited;
    nodes.delete(4);
    assert.equal((await alter(port(2), 'stuck', [2, 3, 4])).errorCode, ErrorCode.NONE);
    assert.equal((await alter(port(2), 'cancelled', [4, 2, 3])).errorCode, ErrorCode.NONE);
    await new Promise((r) => setTimeout(r, 6000));
    const stuck = await metadataUntil(port(1), (m) => partitionOf(m, 'stuck')?.leaderId > 0, 10_000);
    assert.deepEqual(partitionOf(stuck, 'stuck').replicaNodes, [2, 3, 4, 1], 'still moving');
    const stuckLeader = partitionOf(stuck, 'stuck').leaderId as number;
    const fromLeader = partitionOf(await metadataUntil(port(stuckLeader), () => true), 'stuck');
    assert.deepEqual([...fromLeader.isrNodes].sort(), [1, 2, 3], 'broker 1 still votes: no removal before the new replica caught up');
    assert.equal((await produceBatch(port(stuckLeader), 'stuck', 0, batchOf([{ key: null, value: Buffer.from('x') }]))).errorCode, ErrorCode.NONE);
    assert.equal((await listReassignments(port(3), [{ name: 'stuck', partitionIndexes: [0] }]))[0]?.partitions[0]?.addingReplicas?.[0], 4);

    // cancel mid-way: back to 1,2,3 (the learner is removed), and nothing is in progress afterwards
    assert.equal((await alter(port(1), 'cancelled', null)).errorCode, ErrorCode.NONE);
    await waitUntil('the cancel completes', async () => !(await listReassignments(port(1))).some((t: any) => t.name === 'cancelled'), 30_000);
    const back = await metadataUntil(port(1), () => true);
    // Kafka's revert: the original replicas in the order the move's record held them (target first, then leaving)
    assert.deepEqual(partitionOf(back, 'cancelled').replicaNodes, [2, 3, 1]);
    assert.equal((await alter(port(1), 'cancelled', null)).errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);

    // broker 4 back: the stuck move completes
    nodes.set(4, await startClusterNode(4, env(4)));
    await waitUntil('the stuck move completes', async () => (await listReassignments(port(2))).length === 0, 60_000);
    assert.deepEqual(partitionOf(await metadataUntil(port(4), () => true), 'stuck').replicaNodes, [2, 3, 4]);
  } finally {
    for (const n of nodes.values()) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exited));
    cleanup();
  }
});
