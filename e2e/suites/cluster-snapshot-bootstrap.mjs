// Issue 6's end-to-end scenario, as the issue words it: 3 brokers snapshotting to S3 (SeaweedFS), 20,000 records
// (2x TRIBUTARY_SNAPSHOT_LOG_THRESHOLD) produced by kafkajs (idempotent, acks=all) into a 3-partition RF 3 topic
// with an S3 outage in the middle (weed killed, producing on, weed started again on the same data and port);
// snapshot manifests land in the bucket for every Raft group, at most RETENTION_COUNT per group and node prefix,
// and the Raft WAL on disk shrinks; then the victim broker (first replica of every partition) is kill -9ed, its
// data directory deleted, and restarted: it must bootstrap from the snapshots (log line + metric), become ready,
// take every leadership through ElectLeaders PREFERRED (Apache Kafka's LeaderElectionCommand), and serve all
// 20,000 records byte-exact to a consumer bootstrapped from it alone.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SkipSuite } from '../lib/suite.mjs';
import { startCluster } from '../lib/cluster-suite.mjs';
import { startSeaweedS3, weedInstalled, WEED_BIN } from '../lib/seaweed-s3.mjs';
import { freePort, runOk, sleep } from '../lib/proc.mjs';
import { generateRecords } from '../lib/records.mjs';
import { kafkaClient, Kafka, logLevel, kafkajsConsumed, produceWithAcks } from '../lib/kafkajs-helpers.mjs';
import { assertDelivery } from '../lib/verify.mjs';
import { javaCommand, requireJavaLib } from '../lib/java.mjs';
import { S3ObjectStore } from '../../packages/snapshot/dist/src/index.js';

const CREDENTIALS = { accessKeyId: 'tributary', secretAccessKey: 'tributary-secret' };
const BUCKET = 'tributary-e2e';
const TOPIC = 'snapshot-e2e';
const PARTITIONS = 3;
const RECORDS = 20_000;
const LOG_THRESHOLD = 10_000;
const RETENTION_COUNT = 2;
const VICTIM = 3;
/** kafkajs sends of PACE_CHUNK records, at PACE_RECORDS_PER_SEC overall (~20 s for the 20,000). */
const PACE_CHUNK = 500;
const PACE_RECORDS_PER_SEC = 1000;
const BOOTSTRAP_LOG = 'bootstrapped partition from snapshot';

const WAL_SEGMENT = /^wal-(\d{20})\.log$/;

/** The node's Raft WAL segment files now: [{ seq, bytes }] (a file deleted while listing is skipped). */
function walSegments(node) {
  const dir = join(node.dataDir, 'raft');
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const m = WAL_SEGMENT.exec(name);
    if (!m) continue;
    try {
      out.push({ seq: Number(m[1]), bytes: statSync(join(dir, name)).size });
    } catch {
      // deleted between the listing and the stat: compaction at work
    }
  }
  return out;
}

/**
 * Follows every node's WAL while the records go in: the largest size each segment file reached (so the bytes ever
 * written are known after old segments are gone). FileWal deletes a segment only when a later segment's checkpoint
 * covers all its entries, i.e. after a snapshot compacted the groups and the WAL rotated again.
 */
class WalWatch {
  constructor(nodes) {
    this.nodes = nodes;
    this.maxBytesBySegment = new Map(nodes.map((n) => [n.id, new Map()]));
  }

  sample() {
    for (const n of this.nodes) {
      const seen = this.maxBytesBySegment.get(n.id);
      for (const { seq, bytes } of walSegments(n)) seen.set(seq, Math.max(seen.get(seq) ?? 0, bytes));
    }
  }

  /** Per node: bytes ever written, bytes on disk now, segments deleted, oldest segment left. */
  report() {
    this.sample();
    return this.nodes.map((n) => {
      const now = walSegments(n);
      const seen = this.maxBytesBySegment.get(n.id);
      const present = new Set(now.map((s) => s.seq));
      return {
        id: n.id,
        writtenBytes: [...seen.values()].reduce((a, b) => a + b, 0),
        onDiskBytes: now.reduce((a, s) => a + s.bytes, 0),
        deletedSegments: [...seen.keys()].filter((seq) => !present.has(seq)).length,
        oldestSeq: Math.min(...present),
      };
    });
  }
}

/** Manifest keys grouped as Map writer ("<cluster>.node-<id>") -> Map raftGroup -> count. */
async function manifestsByWriter(store) {
  const out = new Map();
  for (const entry of await store.list('manifests/')) {
    const key = typeof entry === 'string' ? entry : entry.key;
    const [, writer, raftGroup] = key.split('/');
    if (!out.has(writer)) out.set(writer, new Map());
    const groups = out.get(writer);
    groups.set(raftGroup, (groups.get(raftGroup) ?? 0) + 1);
  }
  return out;
}

async function metricsText(node) {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

/** Sum of a counter's samples whose label set matches `labelFilter`. */
function counterSum(text, name, labelFilter = () => true) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m && m[1] === name && labelFilter(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms: ${last.why}`);
    await sleep(500);
  }
}

export default {
  name: 'cluster-snapshot-bootstrap',
  description: "issue 6's scenario: 3 brokers + S3 (SeaweedFS), 20,000 records with an S3 outage; snapshots, retention, WAL shrink; a wiped broker bootstraps, leads every partition, serves all 20,000 byte-exact",
  timeoutMs: 300_000,
  async run(ctx) {
    if (!weedInstalled()) {
      if (process.env.CI === 'true') throw new Error(`SeaweedFS is not installed at ${WEED_BIN}`);
      throw new SkipSuite(`SeaweedFS is not installed at ${WEED_BIN}`);
    }
    requireJavaLib();
    const weedDir = ctx.path('seaweedfs');
    mkdirSync(weedDir, { recursive: true });
    const s3Port = await freePort();
    const startWeed = () => startSeaweedS3({ ip: '127.0.0.1', s3Port, ...CREDENTIALS, dataDir: weedDir });
    let weed = await startWeed();
    ctx.onCleanup(() => weed.stop());
    await weed.createBucket(BUCKET);
    const prefix = `e2e-${Date.now().toString(36)}/`;
    const store = new S3ObjectStore({ bucket: BUCKET, prefix, endpoint: weed.endpoint, credentials: CREDENTIALS });

    const cluster = await startCluster(ctx, {
      nodes: 3,
      env: {
        TRIBUTARY_OBJECT_STORE: 's3',
        TRIBUTARY_S3_BUCKET: BUCKET,
        TRIBUTARY_S3_PREFIX: prefix,
        TRIBUTARY_S3_ENDPOINT: weed.endpoint,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: String(LOG_THRESHOLD),
        // Per Raft group the 20,000 records are far fewer than 10,000 entries (kafkajs batches, 3 partitions):
        // the time trigger (a group with writes since its last snapshot) is what snapshots them here.
        TRIBUTARY_SNAPSHOT_TIME_THRESHOLD_SECS: '3',
        TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '2',
        TRIBUTARY_SNAPSHOT_RETENTION_COUNT: String(RETENTION_COUNT),
        TRIBUTARY_RAFT_SEGMENT_BYTES: String(256 * 1024),
        // Leadership moves only when this suite asks (ElectLeaders), so the check that it moved means something.
        TRIBUTARY_LEADER_BALANCE_INTERVAL_MS: '0',
      },
    });
    const victim = cluster.node(VICTIM);

    // The victim is every partition's first (preferred) replica.
    const admin = kafkaClient(cluster.node(1).bootstrap, 'e2e-admin').admin();
    await admin.connect();
    try {
      const others = cluster.nodes.map((n) => n.id).filter((id) => id !== VICTIM);
      const replicaAssignment = [...Array(PARTITIONS).keys()].map((partition) => ({ partition, replicas: [VICTIM, ...(partition % 2 === 1 ? [...others].reverse() : others)] }));
      if (!(await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment }], waitForLeaders: true }))) throw new Error(`${TOPIC} already existed`);
    } finally {
      await admin.disconnect();
    }
    await cluster.waitForLeaders(TOPIC, PARTITIONS);

    // Produce at a steady pace (the run spans several snapshot rounds, so compaction and WAL rotation interleave),
    // following every node's WAL; S3 goes away in the middle (producing on) and comes back.
    const records = generateRecords(RECORDS, { seed: 6, maxValueBytes: 400 });
    const walWatch = new WalWatch(cluster.nodes);
    const sampler = setInterval(() => walWatch.sample(), 200);
    ctx.onCleanup(() => clearInterval(sampler));
    const kafka = new Kafka({ clientId: 'e2e-producer', brokers: cluster.nodes.map((n) => n.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 2000 } });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const acks = [];
    const produce = async (from, to) => {
      const startedMs = Date.now();
      for (let chunk = from; chunk < to; chunk += PACE_CHUNK) {
        acks.push(...(await produceWithAcks(producer, TOPIC, records, { partitions: PARTITIONS, batchSize: 20, acks: -1, from: chunk, to: Math.min(to, chunk + PACE_CHUNK) })));
        const dueMs = startedMs + ((chunk + PACE_CHUNK - from) * 1000) / PACE_RECORDS_PER_SEC;
        await sleep(Math.max(0, dueMs - Date.now()));
      }
    };
    let outageMs;
    try {
      await produce(0, RECORDS / 2);
      await weed.stop();
      const outageStartedMs = Date.now();
      ctx.log(`S3 down after ${acks.length} records`);
      await produce(RECORDS / 2, (RECORDS * 3) / 4);
      const restarting = startWeed().then((w) => {
        weed = w;
        outageMs = Date.now() - outageStartedMs;
        ctx.log(`S3 back after ${outageMs} ms (${acks.length} records acknowledged)`);
      });
      await Promise.all([restarting, produce((RECORDS * 3) / 4, RECORDS)]);
    } finally {
      await producer.disconnect();
    }
    ctx.counts.acked = acks.length;
    ctx.counts.outageMs = outageMs;
    // Visible in metrics: the outage made snapshot attempts or object-store calls fail (retried with backoff).
    const metricsAfterOutage = await Promise.all(cluster.nodes.map(metricsText));
    ctx.counts.snapshotFailures = metricsAfterOutage.reduce((s, t) => s + counterSum(t, 'tributary_snapshot_failed_total'), 0);
    ctx.counts.objectStoreErrors = metricsAfterOutage.reduce((s, t) => s + counterSum(t, 'tributary_snapshot_object_store_errors_total'), 0);

    // Snapshots: every node's prefix holds manifests for the metadata group and each partition group, and retention
    // brings each down to RETENTION_COUNT; every node's WAL is smaller than its peak (compaction deleted segments).
    const expectedGroups = 1 + PARTITIONS;
    const settled = await waitFor('snapshots of every group on every node, and Raft WAL segments deleted', 90_000, async () => {
      const byWriter = await manifestsByWriter(store).catch((e) => new Map([['error', e.message]]));
      for (const n of cluster.nodes) {
        const writer = [...byWriter.keys()].find((w) => w.endsWith(`.node-${n.id}`));
        const groups = writer ? byWriter.get(writer) : new Map();
        if (groups.size < expectedGroups) return { ok: false, why: `node ${n.id}: manifests for ${groups.size} of ${expectedGroups} Raft groups` };
        // Retention runs after a new manifest is written and the log compacted (and, after an outage, with the next
        // snapshot), so a listing may briefly show RETENTION_COUNT + 1: wait until it has caught up.
        const over = [...groups].filter(([, count]) => count > RETENTION_COUNT);
        if (over.length > 0) return { ok: false, why: `node ${n.id}: more than ${RETENTION_COUNT} manifests kept for Raft groups ${over.map(([g, c]) => `${g} (${c})`).join(', ')}` };
      }
      const wal = walWatch.report();
      const unshrunk = wal.filter((w) => !(w.deletedSegments > 0 && w.oldestSeq > 1 && w.onDiskBytes < w.writtenBytes));
      if (unshrunk.length > 0) return { ok: false, why: `Raft WAL not compacted: ${unshrunk.map((w) => `node ${w.id} ${JSON.stringify(w)}`).join(', ')}` };
      return { ok: true, byWriter, wal };
    });
    clearInterval(sampler);
    for (const [writer, groups] of settled.byWriter) {
      for (const [raftGroup, count] of groups) {
        if (count > RETENTION_COUNT) throw new Error(`${writer} group ${raftGroup}: ${count} manifests kept, RETENTION_COUNT is ${RETENTION_COUNT}`);
      }
    }
    ctx.counts.manifests = [...settled.byWriter.values()].reduce((s, g) => s + [...g.values()].reduce((a, b) => a + b, 0), 0);
    ctx.counts.walBytes = settled.wal.map((w) => `${w.id}:${w.writtenBytes}->${w.onDiskBytes}`).join(' ');
    ctx.counts.walSegmentsDeleted = settled.wal.map((w) => `${w.id}:${w.deletedSegments}`).join(' ');

    // Wipe the victim: kill -9, delete its data directory, start it again.
    await victim.kill9();
    rmSync(victim.dataDir, { recursive: true, force: true });
    const restartedMs = Date.now();
    await victim.start(120_000);
    await waitFor(`node ${VICTIM} /ready`, 120_000, async () => {
      const res = await fetch(`http://127.0.0.1:${victim.httpPort}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return { ok: res?.status === 200, why: `status ${res?.status ?? 'no answer'}` };
    });
    ctx.counts.readyMs = Date.now() - restartedMs;
    // The log is written asynchronously: /ready can answer before the last bootstrap lines reach the file (seen in CI:
    // all three lines were in the file afterwards, one had been read). Read until they are there, bounded.
    await waitFor(`node ${VICTIM} logs "${BOOTSTRAP_LOG}" once per partition`, 10_000, async () => {
      const restoredLines = readFileSync(victim.logFile, 'utf8').split('\n').filter((l) => l.includes(BOOTSTRAP_LOG)).length;
      return { ok: restoredLines >= PARTITIONS, why: `logged ${restoredLines} times, expected one per partition (${PARTITIONS})` };
    });
    const bootstraps = counterSum(await metricsText(victim), 'tributary_snapshot_bootstrap_total', (labels) => labels.includes('outcome="restored"'));
    if (bootstraps < PARTITIONS) throw new Error(`node ${VICTIM}'s tributary_snapshot_bootstrap_total{outcome="restored"} is ${bootstraps}, expected >= ${PARTITIONS}`);
    ctx.counts.bootstrapped = bootstraps;
    await cluster.waitHealed(TOPIC, PARTITIONS, { timeoutMs: 90_000 });

    // Every leadership to the victim (its preferred replica), through Apache Kafka's own tool.
    ctx.counts.leadersBeforeElection = [...(await cluster.leaders(TOPIC)).values()].map((l) => l.leader).join(',');
    const [cmd, args] = javaCommand('org.apache.kafka.tools.LeaderElectionCommand', ['--bootstrap-server', cluster.bootstrap, '--election-type', 'PREFERRED', '--all-topic-partitions']);
    await runOk(cmd, args, {}, 60_000);
    await waitFor(`node ${VICTIM} leading every partition`, 30_000, async () => {
      const leaders = await cluster.leaders(TOPIC);
      const md = await victim.metadata([TOPIC]);
      const seen = md?.topics.find((t) => t.name === TOPIC)?.partitions.map((p) => p.leader) ?? [];
      const ok = seen.length === PARTITIONS && seen.every((l) => l === VICTIM) && [...leaders.values()].every((l) => l.leader === VICTIM);
      return { ok, why: `Metadata from node ${VICTIM} names leaders [${seen}]` };
    });

    // Consume everything from the victim alone, compare byte for byte.
    const reader = new Kafka({ clientId: 'e2e-reader', brokers: [victim.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
    const consumer = reader.consumer({ groupId: `snapshot-e2e-${Date.now()}`, sessionTimeout: 10_000, maxBytesPerPartition: 1 << 20 });
    const consumed = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed ${consumed.length} of ${RECORDS} within 60 s`)), 60_000);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) consumed.push(kafkajsConsumed(batch.partition, message));
              if (consumed.length >= RECORDS) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    const stats = assertDelivery({ records, acks, consumed });
    return { ...ctx.counts, consumedFromVictim: stats.consumed, missing: stats.missing, duplicates: stats.duplicates };
  },
};
