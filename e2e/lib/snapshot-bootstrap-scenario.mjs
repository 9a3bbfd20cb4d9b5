// The snapshot and bootstrap scenario against a real S3 server (MinIO through testcontainers where Docker exists,
// SeaweedFS otherwise): three brokers snapshot to the bucket, one node's data directory is wiped, and the node
// rebuilds itself from the bucket and catches up; every replica then holds every acknowledged record exactly once.
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { recordLine } from './records.mjs';
import { RawIdempotentProducer } from './raw-producer.mjs';
import { healStopAndCheck, startCluster } from './cluster-suite.mjs';
import { createTopic, withConnection } from './kafka-wire.mjs';
import { S3ObjectStore } from '../../packages/snapshot/dist/src/index.js';

const TOPIC = 'snapshot-bootstrap';
const PARTITIONS = 3;
const BEFORE = 300;
const AWAY = 100;
const AFTER = 150;
/** What a replica logs when it was restored from the object store (packages/broker/src/cluster, issue 6). */
const BOOTSTRAP_LOG = 'bootstrapped partition from snapshot';

/** POST /admin/snapshots/trigger on each node (it answers once that node's snapshots are uploaded). */
async function triggerSnapshots(nodes) {
  for (const node of nodes) {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/admin/snapshots/trigger`, { method: 'POST', signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`node ${node.id}: POST /admin/snapshots/trigger answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
}

/** @param {{ endpoint: string, bucket: string, accessKeyId: string, secretAccessKey: string }} s3 */
export async function runSnapshotBootstrapScenario(ctx, s3) {
  const prefix = `e2e-${Date.now().toString(36)}/`;
  const store = new S3ObjectStore({ bucket: s3.bucket, prefix, endpoint: s3.endpoint, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  await store.ensureBucket();
  const cluster = await startCluster(ctx, {
    nodes: 3,
    env: {
      TRIBUTARY_OBJECT_STORE: 's3',
      TRIBUTARY_S3_BUCKET: s3.bucket,
      TRIBUTARY_S3_PREFIX: prefix,
      TRIBUTARY_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    },
  });
  await cluster.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  const producer = await new RawIdempotentProducer(cluster, TOPIC).init();
  const rows = [...Array(BEFORE + AWAY + AFTER).keys()].map((i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value ${i} `.repeat(1 + (i % 9))), headers: [] }));
  const acks = [];
  const send = async (from, to) => {
    for (let i = from; i < to; i++) {
      const sent = await producer.sendUntilAcked(producer.nextBatch(i % PARTITIONS, [rows[i]]));
      acks.push({ index: i, partition: i % PARTITIONS, offset: sent.baseOffset });
    }
  };
  await send(0, BEFORE);

  // One snapshot round on every node.
  await triggerSnapshots(cluster.nodes);
  const manifests = (await store.list('manifests/')).length;
  if (manifests === 0) throw new Error(`no snapshot manifests under s3://${s3.bucket}/${prefix}manifests/ after the trigger`);
  ctx.counts.manifests = manifests;

  // Wipe node 3 (graceful stop, then its whole data directory). The survivors move on (records, and a topic creation
  // for the metadata group) but take NO new snapshot: node 3 restores from the round above, tells its peers it came
  // back with an empty Raft log (they re-probe it) and receives the tail after what it restored.
  const wiped = cluster.node(3);
  const stopped = await wiped.stop();
  if (stopped?.code !== 0) throw new Error(`node 3 exited ${stopped?.code ?? stopped?.signal} on SIGTERM`);
  rmSync(wiped.dataDir, { recursive: true, force: true });
  await send(BEFORE, BEFORE + AWAY);
  // Not through cluster.createTopic, which waits for a leader: the marker's one replica may be node 3.
  const marker = await withConnection('127.0.0.1', cluster.node(1).kafkaPort, (c) => createTopic(c, { name: `${TOPIC}-marker`, partitions: 1, replicationFactor: 1 }));
  if (marker.errorCode !== 0) throw new Error(`creating the marker topic: error ${marker.errorCode}`);
  const restartedMs = Date.now();
  await wiped.start(120_000);
  ctx.counts.rebuildMs = Date.now() - restartedMs;
  await send(BEFORE + AWAY, BEFORE + AWAY + AFTER);
  const stats = await healStopAndCheck(ctx, cluster, { topic: TOPIC, partitions: PARTITIONS, produced: rows.map(recordLine), acks });
  const log = await readFile(wiped.logFile, 'utf8');
  const restored = log.split('\n').filter((line) => line.includes(BOOTSTRAP_LOG)).length;
  if (restored === 0) throw new Error(`node 3 did not log "${BOOTSTRAP_LOG}": it was not rebuilt from the object store`);
  if (stats.replicaCopies !== 3 * PARTITIONS) throw new Error(`${stats.replicaCopies} replicas read, expected ${3 * PARTITIONS}`);
  return { ...ctx.counts, restoredPartitions: restored, acked: acks.length, stored: stats.storedRecords };
}
