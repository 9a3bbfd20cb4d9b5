// acks=1 in cluster mode (DESIGN §4): answered once the batch is durable in the partition leader's own Raft WAL, with
// the offset apply will assign, even while no follower can take it; acks=all waits for a majority. Three `start`
// processes; both followers of an RF 3 partition are stopped (SIGSTOP), the leader answers acks=1 batches (plain and
// idempotent, a retried one a duplicate) with exact offsets while an acks=all batch times out and the high watermark
// stays put; after SIGCONT every replica serves exactly those offsets, the acks=all batch after them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { clusterEnv, fetchPartition, freePorts, metadataUntil, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'acks-one';
/** Long enough that the leader keeps leading (check-quorum) while both followers are stopped for a second or two. */
const ELECTION_TIMEOUT_MS = 4000;
const lastOffsetOf = (records: Buffer): number => recordsIn(records).at(-1)!.offset;

function produce(port: number, acks: 0 | 1 | -1, records: Buffer, timeoutMs = 5000): Promise<{ errorCode: number; baseOffset: number; errorMessage: string | null }> {
  return withClient(port, async (c) => {
    const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks, timeoutMs, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
    const p = r.responses[0].partitionResponses[0];
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset), errorMessage: p.errorMessage };
  });
}

const values = (...vs: string[]): Buffer => batchOf(vs.map((v) => ({ key: null, value: Buffer.from(v) })));

async function served(port: number): Promise<{ highWatermark: number; records: string[] }> {
  const f = await fetchPartition(port, TOPIC, 0, lastOffsetOf);
  assert.equal(f.errorCode, ErrorCode.NONE);
  return { highWatermark: f.highWatermark, records: recordsIn(f.records).map((r) => `${r.offset}:${r.value!.toString()}`) };
}

test('acks=1 is answered by the leader alone, with the offsets consumers read once the followers are back; acks=all is not', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-acks1-');
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes = new Map<number, ClusterNodeProcess>();
  const stopped = new Set<ClusterNodeProcess>();
  try {
    const started = await Promise.all([1, 2, 3].map((id) =>
      startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Acksonetestcluster', { TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS: String(ELECTION_TIMEOUT_MS) }))));
    for (const n of started) nodes.set(n.id, n);
    const port = (id: number): number => nodes.get(id)!.kafkaPort;
    const created = await withClient(port(1), (c) =>
      c.request(ApiKey.CreateTopics, 7, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 15000, validateOnly: false }));
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const md = await metadataUntil(port(1), (m) => m.topics.some((t: any) => t.name === TOPIC && t.partitions[0]?.leaderId > 0), 30_000);
    const leader = md.topics.find((t: any) => t.name === TOPIC).partitions[0].leaderId as number;
    const followers = [1, 2, 3].filter((id) => id !== leader);

    // committed before the pause (acks=all): the leader's term no-op and these are applied
    for (const v of ['w0', 'w1']) {
      const r = await produce(port(leader), -1, values(v));
      assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    }
    const init = await withClient(port(leader), (c) => c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 }));
    assert.equal(init.errorCode, ErrorCode.NONE);
    const idem = (seq: number, ...vs: string[]): Buffer =>
      batchOf(vs.map((v) => ({ key: null, value: Buffer.from(v) })), { producerId: Number(init.producerId), producerEpoch: 0, baseSequence: seq });
    // the followers must have applied w1 before the pause, so that the comparison below is about the paused writes
    for (const f of followers) for (let i = 0; i < 100 && (await served(port(f))).highWatermark < 2; i++) await new Promise((r) => setTimeout(r, 50));

    for (const f of followers) { nodes.get(f)!.proc.kill('SIGSTOP'); stopped.add(nodes.get(f)!); }
    const pausedAtMs = Date.now();
    const acked: { sent: string; errorCode: number; baseOffset: number }[] = [];
    for (const [sent, batch] of [['x', values('x0', 'x1')], ['i0', idem(0, 'i0')], ['i0 again', idem(0, 'i0')], ['i1', idem(1, 'i1a', 'i1b')], ['y', values('y')]] as const) {
      const r = await produce(port(leader), 1, batch);
      acked.push({ sent, errorCode: r.errorCode, baseOffset: r.baseOffset });
    }
    const acks1DoneMs = Date.now() - pausedAtMs;
    assert.deepEqual(acked, [
      { sent: 'x', errorCode: ErrorCode.NONE, baseOffset: 2 },
      { sent: 'i0', errorCode: ErrorCode.NONE, baseOffset: 4 },
      { sent: 'i0 again', errorCode: ErrorCode.NONE, baseOffset: 4 }, // a duplicate of the pending batch
      { sent: 'i1', errorCode: ErrorCode.NONE, baseOffset: 5 },
      { sent: 'y', errorCode: ErrorCode.NONE, baseOffset: 7 },
    ], 'acks=1 answered by the leader alone with the offsets apply will assign');
    const all = await produce(port(leader), -1, values('z'), 800);
    assert.equal(all.errorCode, ErrorCode.REQUEST_TIMED_OUT, 'acks=all needs a follower');
    const whilePaused = await served(port(leader));
    assert.deepEqual(whilePaused, { highWatermark: 2, records: ['0:w0', '1:w1'] }, 'nothing uncommitted is served');
    const pauseMs = Date.now() - pausedAtMs;
    assert.ok(pauseMs < ELECTION_TIMEOUT_MS, `the pause (${pauseMs} ms) stayed within the election timeout, so the leader still leads`);
    for (const f of followers) { nodes.get(f)!.proc.kill('SIGCONT'); stopped.delete(nodes.get(f)!); }

    // every replica serves the acknowledged offsets, the acks=all batch committed after them
    const expected = ['0:w0', '1:w1', '2:x0', '3:x1', '4:i0', '5:i1a', '6:i1b', '7:y', '8:z'];
    for (const id of [leader, ...followers]) {
      let got = await served(port(id));
      for (let i = 0; i < 200 && got.highWatermark < expected.length; i++) {
        await new Promise((r) => setTimeout(r, 50));
        got = await served(port(id));
      }
      assert.deepEqual(got, { highWatermark: expected.length, records: expected }, `node ${id} (leader ${leader})`);
    }
    const after = await metadataUntil(port(leader), () => true);
    assert.equal(after.topics.find((t: any) => t.name === TOPIC).partitions[0].leaderId, leader, 'no leader change happened');
    console.log(`# acks=1: 5 batches answered in ${acks1DoneMs} ms with both followers stopped; pause ${pauseMs} ms`);
    for (const n of nodes.values()) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) assert.equal(await n.exited, 0);
  } finally {
    for (const n of stopped) n.proc.kill('SIGCONT');
    for (const n of nodes.values()) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    cleanup();
  }
});
