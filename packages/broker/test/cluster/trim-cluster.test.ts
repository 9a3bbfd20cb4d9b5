// Retention, DeleteRecords and producer-id expiry in cluster mode, three `start` processes: a small retention.ms set
// by IncrementalAlterConfigs deletes the old segments on every replica (same log start, byte-identical remaining
// segment files); kafkajs admin deleteTopicRecords moves the low watermark everywhere, and it holds across a kill -9
// and restart of a follower and a leader change (kill -9 of the leader); an idempotent producer idle longer than
// TRIBUTARY_PRODUCER_ID_EXPIRATION_MS is expired on every replica and a new sequence from it is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf } from '../support/batches.js';
import { clusterEnv, createTopic, freePorts, metadataUntil, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'trimmed';
const HOUR_MS = 3_600_000;

function partitionDir(dataDir: string): string | undefined {
  const root = join(dataDir, 'partitions');
  const name = existsSync(root) ? readdirSync(root).find((n) => n.endsWith(`-${TOPIC}-0`)) : undefined;
  return name === undefined ? undefined : join(root, name);
}

/** Segment file name -> bytes of the topic's partition 0 on one node. */
function segments(dataDir: string): Map<string, Buffer> {
  const dir = partitionDir(dataDir);
  const out = new Map<string, Buffer>();
  if (dir === undefined) return out;
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.log')) continue;
    try {
      out.set(name, readFileSync(join(dir, name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted by the broker meanwhile
    }
  }
  return out;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('cluster mode trims every replica alike: retention.ms, DeleteRecords across restart and leader change, producer expiry', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-trim-cluster-');
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const env = (id: number) => clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Trimcluster', {
    TRIBUTARY_LOG_RETENTION_CHECK_INTERVAL_MS: '300',
    TRIBUTARY_PRODUCER_ID_EXPIRATION_MS: '4000',
  });
  const nodes = new Map<number, ClusterNodeProcess>();
  const port = (id: number): number => nodes.get(id)!.kafkaPort;
  try {
    for (const n of await Promise.all([1, 2, 3].map((id) => startClusterNode(id, env(id))))) nodes.set(n.id, n);
    assert.equal((await createTopic(port(1), TOPIC, 1, 3, { 'segment.bytes': '1024', 'retention.ms': '-1' })).errorCode, ErrorCode.NONE);
    const leaderNow = async (via: number): Promise<number> => {
      const md = await metadataUntil(port(via), (m) => (m.topics.find((t: any) => t.name === TOPIC)?.partitions[0]?.leaderId ?? -1) > 0, 20_000);
      return md.topics.find((t: any) => t.name === TOPIC).partitions[0].leaderId as number;
    };
    let leader = await leaderNow(1);
    let produced = 0;
    const produce = async (timestampMs: number, producer?: { producerId: number; producerEpoch: number; baseSequence: number }, acks = -1): Promise<number> => {
      const records = Buffer.from(batchOf([{ key: null, value: Buffer.from(`${produced}-${'x'.repeat(300)}`), timestamp: timestampMs }], producer));
      const r = await withClient(port(leader), (c) =>
        c.request(ApiKey.Produce, 9, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] }),
      );
      const p = r.responses[0].partitionResponses[0];
      if (p.errorCode === ErrorCode.NONE) produced++;
      return p.errorCode as number;
    };
    const earliest = (id: number): Promise<{ errorCode: number; offset: number }> => withClient(port(id), async (c) => {
      const r = await c.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2 }] }] });
      return { errorCode: r.topics[0].partitions[0].errorCode as number, offset: Number(r.topics[0].partitions[0].offset) };
    });
    /** Fetch at `offset` on node `id`: error code and the log start offset it reports. */
    const fetchAt = (id: number, offset: number): Promise<{ errorCode: number; logStartOffset: number }> => withClient(port(id), async (c) => {
      const r = await c.request(ApiKey.Fetch, 12, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const p = r.responses[0].partitions[0];
      return { errorCode: p.errorCode as number, logStartOffset: Number(p.logStartOffset) };
    });
    const sameOnEveryNode = (what: string): void => {
      const reference = segments(dirs[0]!);
      assert.ok(reference.size > 0);
      for (const d of dirs.slice(1)) {
        const other = segments(d);
        assert.deepEqual([...other.keys()], [...reference.keys()], `${what}: the same segment files on ${d}`);
        for (const [name, bytes] of other) assert.ok(bytes.equals(reference.get(name)!), `${what}: ${name} byte-identical on ${d}`);
      }
    };

    // 16 records an hour old, then 8 new ones (~350 bytes each: a few per 1 KiB segment).
    for (let i = 0; i < 16; i++) assert.equal(await produce(Date.now() - HOUR_MS), ErrorCode.NONE);
    for (let i = 0; i < 8; i++) assert.equal(await produce(Date.now()), ErrorCode.NONE);
    await until('every replica holds 24 records', () => dirs.every((d) => segments(d).size >= 6) && [...segments(dirs[0]!).values()].length > 0);
    assert.equal((await earliest(leader)).offset, 0, 'retention.ms -1 keeps everything');

    // retention.ms = 1 min: the leader's retention pass deletes the segments holding only old records, everywhere.
    const altered = await withClient(port(2), (c) =>
      c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: 'retention.ms', configOperation: 0, value: '60000' }] }], validateOnly: false }),
    );
    assert.equal(altered.responses[0].errorCode, ErrorCode.NONE);
    await until('the log start moved on the leader', async () => (await earliest(leader)).offset > 0);
    const retained = (await earliest(leader)).offset;
    assert.ok(retained > 8 && retained <= 16, `whole segments of old records deleted (log start ${retained})`);
    // A replica moves its log start (what Fetch reports) before it unlinks the segment files below it, one by one:
    // wait for the files themselves, every one below the new start gone.
    const baseOffsetOf = (segmentFile: string): number => Number(segmentFile.slice(0, -'.log'.length));
    await until('every replica deleted the segments below the log start', () => dirs.every((d) => [...segments(d).keys()].every((f) => baseOffsetOf(f) >= retained)));
    for (const id of [1, 2, 3]) assert.equal((await fetchAt(id, 0)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, `node ${id}: below the log start`);
    for (const id of [1, 2, 3]) assert.equal((await fetchAt(id, retained)).logStartOffset, retained, `node ${id} reports log start ${retained}`);
    sameOnEveryNode('after retention');

    // DeleteRecords through kafkajs admin (sent to the leader): the low watermark everywhere.
    const kafka = new Kafka({ clientId: 'trim-test', brokers: [1, 2, 3].map((id) => `127.0.0.1:${port(id)}`), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    const deleteTo = 20;
    await admin.fetchTopicMetadata({ topics: [TOPIC] }); // kafkajs deletes only in topics whose metadata it holds
    await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: String(deleteTo) }] });
    await admin.disconnect();
    assert.equal((await earliest(leader)).offset, deleteTo);
    await until('every replica reports the low watermark', async () => {
      for (const id of [1, 2, 3]) if ((await fetchAt(id, deleteTo)).logStartOffset !== deleteTo) return false;
      return true;
    });
    for (const id of [1, 2, 3]) assert.equal((await fetchAt(id, deleteTo - 1)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

    // A follower is killed -9 and restarted: it replays its Raft log and keeps the low watermark.
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    nodes.get(follower)!.proc.kill('SIGKILL');
    await nodes.get(follower)!.exited;
    nodes.set(follower, await startClusterNode(follower, env(follower)));
    await until('the restarted follower serves', async () => (await fetchAt(follower, deleteTo)).errorCode === ErrorCode.NONE);
    assert.equal((await fetchAt(follower, deleteTo)).logStartOffset, deleteTo, 'the restarted follower keeps the low watermark');
    assert.equal((await fetchAt(follower, deleteTo - 1)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

    // An idempotent producer (acks=1: answered from the leader's prediction, which must see past the expiry
    // command): a gap is refused while its state is known; once idle > 4 s it is expired on every replica and a new
    // sequence is accepted.
    const init = await withClient(port(leader), (c) => c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 }));
    const producerId = Number(init.producerId);
    assert.equal(await produce(Date.now(), { producerId, producerEpoch: 0, baseSequence: 0 }, 1), ErrorCode.NONE);
    assert.equal(await produce(Date.now(), { producerId, producerEpoch: 0, baseSequence: 1 }, 1), ErrorCode.NONE);
    assert.equal(await produce(Date.now(), { producerId, producerEpoch: 0, baseSequence: 50 }, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    await until('every replica expired the idle producer', () => [1, 2, 3].every((id) => /expired idle producer ids/.test(nodes.get(id)!.output())), 30_000);
    assert.equal(await produce(Date.now(), { producerId, producerEpoch: 0, baseSequence: 50 }, 1), ErrorCode.NONE, 'a new sequence from the expired producer');

    // Leader change: the leader is killed -9; the new leader keeps the low watermark and takes writes.
    const oldLeader = leader;
    nodes.get(oldLeader)!.proc.kill('SIGKILL');
    await nodes.get(oldLeader)!.exited;
    const survivor = [1, 2, 3].find((id) => id !== oldLeader)!;
    await until('a new leader', async () => {
      try {
        const l = await leaderNow(survivor);
        return l !== oldLeader && (await earliest(l)).errorCode === ErrorCode.NONE;
      } catch {
        return false;
      }
    }, 30_000);
    leader = await leaderNow(survivor);
    assert.equal((await earliest(leader)).offset, deleteTo, 'the new leader reports the same low watermark');
    assert.equal(await produce(Date.now()), ErrorCode.NONE);
    nodes.set(oldLeader, await startClusterNode(oldLeader, env(oldLeader)));
    const end = produced;
    await until('the old leader caught up', async () => (await fetchAt(oldLeader, end)).errorCode === ErrorCode.NONE);
    assert.equal((await fetchAt(oldLeader, deleteTo)).logStartOffset, deleteTo);
    await until('the logs converge', () => {
      const sizes = dirs.map((d) => [...segments(d).values()].reduce((s, b) => s + b.length, 0));
      return sizes.every((s) => s === sizes[0]);
    });
    sameOnEveryNode('at the end');
  } finally {
    for (const n of nodes.values()) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exited));
    cleanup();
  }
});
