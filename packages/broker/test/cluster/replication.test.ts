// Step 3-4 of issue 5: partitions as Raft groups. Three broker processes, a 3-partition RF 3 topic; acks=all produce
// to the partition leaders, byte-exact fetch; kill -9 a partition leader, a new leader is elected, producing
// continues after a metadata refresh; after the killed node restarts, every replica's log is byte-identical and
// holds every acknowledged record exactly once (an idempotent retry at the new leader is a duplicate); a whole-cluster restart replays without duplicating anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { clusterEnv, freePorts, metadata, metadataUntil, produceBatch, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'replicated';
const PARTITIONS = 3;

const produce = (port: number, partition: number, records: Buffer): Promise<any> => produceBatch(port, TOPIC, partition, records);

/** The whole partition as one node serves it (all batches below its high watermark). */
function fetchAll(port: number, partition: number): Promise<{ errorCode: number; highWatermark: number; records: Buffer }> {
  return withClient(port, async (c) => {
    const r = await c.request(ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 50 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const p = r.responses[0].partitions[0];
    return { errorCode: p.errorCode, highWatermark: p.highWatermark, records: p.records ?? Buffer.alloc(0) };
  });
}

/** Leader of each partition as `port` reports it, once every partition has one (bounded wait). */
async function leaders(port: number, exclude = -1): Promise<number[]> {
  const md = await metadataUntil(port, (m) => {
    const t = m.topics.find((x: any) => x.name === TOPIC);
    return t !== undefined && t.partitions.length === PARTITIONS && t.partitions.every((p: any) => p.leaderId > 0 && p.leaderId !== exclude);
  }, 20_000);
  const t = md.topics.find((x: any) => x.name === TOPIC);
  assert.ok(t, 'topic visible');
  return [...t.partitions].sort((a: any, b: any) => a.partitionIndex - b.partitionIndex).map((p: any) => {
    assert.ok(p.leaderId > 0 && p.leaderId !== exclude, `partition ${p.partitionIndex} has a leader (got ${p.leaderId})`);
    assert.equal(p.errorCode, ErrorCode.NONE);
    assert.ok(p.leaderEpoch >= 1, 'leader epoch is the Raft term');
    return p.leaderId as number;
  });
}

test('RF 3 partitions as Raft groups: acks=all, byte-exact fetch, leader kill -9, identical replicas', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-repl-');
  const clusterPorts = await freePorts(3);
  const clusterId = 'Replicationtestcluster';
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes = new Map<number, ClusterNodeProcess>();
  try {
    const started = await Promise.all([1, 2, 3].map((id) => startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, clusterId))));
    for (const n of started) nodes.set(n.id, n);
    const port = (id: number): number => nodes.get(id)!.kafkaPort;

    const created = await withClient(port(1), (c) =>
      c.request(ApiKey.CreateTopics, 7, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 15000, validateOnly: false }),
    );
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    let leaderOf = await leaders(port(1));

    // acks=all to each partition's leader; the sent batch bytes are what a fetch returns (offsets aside).
    const acked = new Map<number, string[]>(); // partition -> acknowledged values, in offset order
    const sentBatches = new Map<number, Buffer[]>();
    const produceRound = async (partition: number, round: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const values = [`${round}-p${partition}-${i}-a`, `${round}-p${partition}-${i}-b`];
        const batch = batchOf(values.map((v) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v) })));
        const r = await produce(port(leaderOf[partition]!), partition, Buffer.from(batch));
        assert.equal(r.errorCode, ErrorCode.NONE, `produce to the leader: ${r.errorMessage}`);
        const list = acked.get(partition) ?? [];
        assert.equal(r.baseOffset, list.length, 'offsets are dense');
        list.push(...values);
        acked.set(partition, list);
        sentBatches.set(partition, [...(sentBatches.get(partition) ?? []), batch]);
      }
    };
    for (let p = 0; p < PARTITIONS; p++) await produceRound(p, 'first', 5);

    // A follower refuses produce (retriable); it does not append.
    const follower = [1, 2, 3].find((id) => id !== leaderOf[0])!;
    const refused = await produce(port(follower), 0, Buffer.from(batchOf([{ key: null, value: Buffer.from('never') }])));
    assert.equal(refused.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);

    // Byte-exact from the leaders: each fetched batch equals the sent batch except baseOffset (0..7) and
    // partitionLeaderEpoch (12..15), which the broker sets.
    for (let p = 0; p < PARTITIONS; p++) {
      const f = await fetchAll(port(leaderOf[p]!), p);
      assert.equal(f.errorCode, ErrorCode.NONE);
      assert.equal(f.highWatermark, 10);
      let at = 0;
      for (const sent of sentBatches.get(p)!) {
        const got = f.records.subarray(at, at + sent.length);
        assert.ok(got.subarray(16).equals(sent.subarray(16)), 'batch bytes after the leader epoch are unchanged');
        assert.ok(got.subarray(8, 12).equals(sent.subarray(8, 12)), 'batch length unchanged');
        at += sent.length;
      }
      assert.equal(at, f.records.length);
    }

    // An idempotent producer's batch (sequence 0) on partition 0, acknowledged by the current leader.
    const init = await withClient(port(1), (c) => c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 }));
    assert.equal(init.errorCode, ErrorCode.NONE);
    const idem = (seq: number, values: string[]): Buffer =>
      Buffer.from(batchOf(values.map((v) => ({ key: null, value: Buffer.from(v) })), { producerId: init.producerId, producerEpoch: 0, baseSequence: seq }));
    const idemFirst = await produce(port(leaderOf[0]!), 0, idem(0, ['idem-0a', 'idem-0b']));
    assert.equal(idemFirst.errorCode, ErrorCode.NONE);
    assert.equal(idemFirst.baseOffset, acked.get(0)!.length);
    acked.get(0)!.push('idem-0a', 'idem-0b');

    // kill -9 the leader of partition 0; the others elect a new leader; producing continues after a refresh.
    const victim = leaderOf[0]!;
    nodes.get(victim)!.proc.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    const survivor = [1, 2, 3].find((id) => id !== victim)!;
    const after = await leaders(port(survivor), victim);
    leaderOf = after;
    for (let p = 0; p < PARTITIONS; p++) await produceRound(p, 'second', 5);

    // The idempotent batch retried at the NEW leader is a duplicate (original offset, nothing appended); the next
    // sequence appends; a gap is refused.
    const retried = await produce(port(leaderOf[0]!), 0, idem(0, ['idem-0a', 'idem-0b']));
    assert.equal(retried.errorCode, ErrorCode.NONE);
    assert.equal(retried.baseOffset, idemFirst.baseOffset, 'a retry across a leader change gets the original offset');
    const idemNext = await produce(port(leaderOf[0]!), 0, idem(2, ['idem-2']));
    assert.equal(idemNext.errorCode, ErrorCode.NONE);
    assert.equal(idemNext.baseOffset, acked.get(0)!.length);
    acked.get(0)!.push('idem-2');
    const gap = await produce(port(leaderOf[0]!), 0, idem(7, ['idem-7']));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);

    // The killed node restarts, replays its Raft log into its partition logs and catches up.
    const restarted = await startClusterNode(victim, clusterEnv(victim, dirs[victim - 1]!, clusterPorts, clusterId));
    nodes.set(victim, restarted);
    for (let p = 0; p < PARTITIONS; p++) await produceRound(p, 'third', 2);

    // Every replica: the same bytes; every acknowledged record exactly once, in acknowledgement order.
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = acked.get(p)!;
      const deadline = Date.now() + 20_000;
      let copies: Buffer[] = [];
      for (;;) {
        copies = await Promise.all([1, 2, 3].map(async (id) => (await fetchAll(port(id), p)).records));
        if (copies.every((c) => c.equals(copies[0]!)) && recordsIn(copies[0]!).length === expected.length) break;
        assert.ok(Date.now() < deadline, `replicas of partition ${p} converge (lengths ${copies.map((c) => c.length).join(',')})`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const records = recordsIn(copies[0]!);
      assert.deepEqual(records.map((r) => r.value!.toString()), expected);
      assert.deepEqual(records.map((r) => r.offset), expected.map((_, i) => i));
    }
    const md = await metadata(port(victim), [TOPIC]);
    assert.equal(md.topics[0].partitions.length, PARTITIONS);

    // Graceful shutdown of a partition leader hands its groups to other replicas first.
    const graceful = leaderOf[1]!;
    nodes.get(graceful)!.proc.kill('SIGTERM');
    assert.equal(await nodes.get(graceful)!.exited, 0);
    const handoff = nodes.get(graceful)!.output().split('\n').filter((l) => l.includes('leadership transferred away')).map((l) => JSON.parse(l));
    assert.equal(handoff.length, 1);
    assert.ok(handoff[0].led >= 1, 'it led at least partition 1');
    assert.equal(handoff[0].stillLeading, 0, 'every group it led has another leader before it stops');
    const other = [1, 2, 3].find((id) => id !== graceful)!;
    await leaders(port(other), graceful);
    nodes.set(graceful, await startClusterNode(graceful, clusterEnv(graceful, dirs[graceful - 1]!, clusterPorts, clusterId)));

    // Whole-cluster restart: every replica replays its Raft log over a log that already holds every batch; the
    // batches already present are skipped (a double apply would duplicate records), then producing continues.
    for (const n of nodes.values()) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) assert.equal(await n.exited, 0, n.output().slice(-2000));
    const again = await Promise.all([1, 2, 3].map((id) => startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, clusterId))));
    for (const n of again) nodes.set(n.id, n);
    leaderOf = await leaders(port(1));
    for (let p = 0; p < PARTITIONS; p++) await produceRound(p, 'fourth', 1);
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = acked.get(p)!;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const copies = await Promise.all([1, 2, 3].map(async (id) => (await fetchAll(port(id), p)).records));
        const values = recordsIn(copies[0]!).map((r) => r.value!.toString());
        if (copies.every((c) => c.equals(copies[0]!)) && values.length === expected.length) {
          assert.deepEqual(values, expected);
          break;
        }
        assert.ok(Date.now() < deadline, `replicas of partition ${p} converge after the full restart`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    for (const n of nodes.values()) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) assert.equal(await n.exited, 0, n.output().slice(-2000));
  } finally {
    for (const n of nodes.values()) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exited));
    cleanup();
  }
});
