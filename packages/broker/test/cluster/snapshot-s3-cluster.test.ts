// Snapshots of a real 3-process cluster in a real S3-compatible store (SeaweedFS, started here on loopback), with an
// S3 outage in the middle: the store is killed while the catalogue keeps changing, snapshots fail (counted in the
// metrics) and nothing is compacted; the store comes back, snapshots resume, retention holds, and a wiped follower
// restores the full catalogue from S3. Skipped with the reason when `weed` is missing; under CI=true that is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { S3ObjectStore } from '@tributary/snapshot';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { WireClient } from '../support/wire-client.js';
import { clusterEnv, fetchPartition, freePorts, httpPortOf, metadataUntil, produceBatch, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

// The snapshot package's SeaweedFS harness (one copy of it): packages/snapshot/dist/test/helpers/seaweedfs.js.
interface SeaweedServerLike {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}
const seaweed = (await import(new URL('../../../../snapshot/dist/test/helpers/seaweedfs.js', import.meta.url).href)) as {
  SeaweedServer: { start(weed: string, dataDir: string): Promise<SeaweedServerLike> };
  findWeed(): string | null;
  WEED_INSTALL_HINT: string;
};
const weed = seaweed.findWeed();
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

test('a real S3 server is available where CI requires it', { skip: process.env['CI'] !== 'true' ? 'not CI' : false }, () => {
  assert.notEqual(weed, null, seaweed.WEED_INSTALL_HINT);
});

const DATA_TOPIC = 'produced-through-outage';

async function createTopic(port: number, name: string, replicationFactor = 1, configs: { name: string; value: string }[] = []): Promise<number> {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    const r = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: 1, replicationFactor, assignments: [], configs }],
      timeoutMs: 15000,
      validateOnly: false,
    });
    return r.topics[0].errorCode as number;
  } finally {
    client.close();
  }
}

async function getJson(port: number, path: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(60_000) });
  assert.equal(res.status, 200, path);
  return res.json();
}

async function metricsOf(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(30_000) });
  return res.text();
}

const metric = (text: string, line: RegExp): number => Number(line.exec(text)?.[1] ?? '0');

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('3 processes on SeaweedFS: snapshots, an S3 outage (failures counted, no compaction, nothing lost), resume, wiped follower restores', { skip: weed === null ? seaweed.WEED_INSTALL_HINT : false, timeout: 300_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-snaps3-');
  const server = await seaweed.SeaweedServer.start(weed!, join(dir, 'seaweedfs'));
  const bucket = 'tributary-cluster';
  const s3 = new S3ObjectStore({
    bucket,
    prefix: 'tributary',
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  await s3.ensureBucket();
  const clusterPorts = await freePorts(3);
  const clusterId = 'Snapshots3clustertest';
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const env = (id: number): Record<string, string> => ({
    ...clusterEnv(id, dirs[id - 1]!, clusterPorts, clusterId),
    TRIBUTARY_OBJECT_STORE: 's3',
    TRIBUTARY_S3_BUCKET: bucket,
    TRIBUTARY_S3_PREFIX: 'tributary',
    TRIBUTARY_S3_ENDPOINT: server.endpoint,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: '8',
    TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '1',
    TRIBUTARY_SNAPSHOT_RETENTION_COUNT: '2',
  });
  const nodes = new Map<number, ClusterNodeProcess>();
  try {
    const started = await Promise.all([1, 2, 3].map((id) => startClusterNode(id, env(id))));
    for (const n of started) nodes.set(n.id, n);
    const kafka = (id: number): number => nodes.get(id)!.kafkaPort;
    const http = (id: number): number => httpPortOf(nodes.get(id)!);
    const md = await metadataUntil(kafka(1), (m) => m.brokers.length === 3 && m.controllerId > 0);
    const leader = md.controllerId as number;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const topics: string[] = [];
    const addTopics = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const name = `s3-topic-${topics.length}`;
        assert.equal(await createTopic(kafka(leader), name), ErrorCode.NONE);
        topics.push(name);
      }
    };
    const metadataGroup = async (id: number): Promise<any> => (await getJson(http(id), '/admin/snapshots')).groups.find((g: any) => g.raftGroup === 1);
    const partitionGroups = async (id: number): Promise<any[]> => (await getJson(http(id), '/admin/snapshots')).groups.filter((g: any) => g.kind === 'partition' && g.raftLog !== null);

    // A replicated partition with small segments (sealed segments become snapshot pieces), written all along.
    assert.equal(await createTopic(kafka(leader), DATA_TOPIC, 3, [{ name: 'segment.bytes', value: '8192' }]), ErrorCode.NONE);
    const dataLeader = async (): Promise<number> => {
      const m = await metadataUntil(kafka(leader), (x) => x.topics.find((t: any) => t.name === DATA_TOPIC)?.partitions[0]?.leaderId > 0, 20_000);
      return m.topics.find((t: any) => t.name === DATA_TOPIC).partitions[0].leaderId as number;
    };
    const acknowledged: string[] = [];
    const produceSome = async (batches: number): Promise<void> => {
      for (let b = 0; b < batches; b++) {
        const values = Array.from({ length: 5 }, (_, i) => `v${acknowledged.length + i}-${'x'.repeat(200)}`);
        const r = await produceBatch(kafka(await dataLeader()), DATA_TOPIC, 0, Buffer.from(batchOf(values.map((v) => ({ key: null, value: Buffer.from(v) })))));
        assert.equal(r.errorCode, ErrorCode.NONE, `produce ${acknowledged.length}`);
        acknowledged.push(...values);
      }
    };
    await produceSome(30);

    await addTopics(10);
    for (const id of [1, 2, 3]) {
      await until(`a snapshot in S3 from node ${id}`, async () => (((await metadataGroup(id)).snapshots?.length ?? 0) > 0 ? true : undefined));
    }

    // Outage: the store dies while the catalogue keeps changing. First let the loop settle (no snapshot in flight,
    // the log compacted behind the newest one), so any later compaction could only come from a snapshot in the outage.
    const trigger = await fetch(`http://127.0.0.1:${http(leader)}/admin/snapshots/trigger?raftGroup=1`, { method: 'POST', signal: AbortSignal.timeout(60_000) });
    assert.equal(trigger.status, 200, await trigger.text());
    const before = await until('the leader snapshotted and compacted everything so far', async () => {
      const g = await metadataGroup(leader);
      return !g.inFlight && g.compactionPendingIndex === null && g.entriesSinceSnapshot < 8 && g.raftLog.firstIndex === g.lastSnapshotIndex + 1 ? g : undefined;
    });
    const partitionCreatedBefore = metric(await metricsOf(http(leader)), /^tributary_snapshot_created_total\{kind="partition"\} (\d+)$/m);
    await server.stop();
    await addTopics(10);
    await produceSome(30); // producing goes on: the store is not on the write path
    await until('failed snapshots counted during the outage', async () => {
      const text = await metricsOf(http(leader));
      return metric(text, /^tributary_snapshot_failed_total\{kind="metadata"\} (\d+)$/m) >= 1 && /^tributary_snapshot_object_store_errors_total\{operation="\w+"\} [1-9]/m.test(text) ? true : undefined;
    });
    const during = await metadataGroup(leader);
    assert.equal(during.raftLog.firstIndex, before.raftLog.firstIndex, 'no compaction without a verified upload');
    assert.ok(during.appliedIndex >= before.appliedIndex + 10);
    assert.ok(during.consecutiveFailures >= 1);

    // The store returns: the loop resumes by itself (after its backoff) and compacts behind new snapshots.
    await server.restart();
    for (const id of [1, 2, 3]) {
      await until(`node ${id} snapshotting again after the outage`, async () => {
        const g = await metadataGroup(id);
        return g.lastSnapshotIndex >= during.appliedIndex && g.consecutiveFailures === 0 ? g : undefined;
      }, 120_000);
    }
    await until('partition snapshots again after the outage', async () => {
      const text = await metricsOf(http(leader));
      const created = metric(text, /^tributary_snapshot_created_total\{kind="partition"\} (\d+)$/m);
      const groups = await partitionGroups(leader);
      return created > partitionCreatedBefore && groups.every((g) => g.consecutiveFailures === 0) ? true : undefined;
    }, 120_000);
    const after = await metadataGroup(leader);
    assert.ok(after.raftLog.firstIndex > during.raftLog.firstIndex, 'compaction resumed');
    for (const id of [1, 2, 3]) {
      const manifests = (await s3.list(`manifests/${clusterId}.node-${id}/1/`)).length;
      assert.ok(manifests >= 1 && manifests <= 2, `node ${id}: ${manifests} metadata manifests in S3 (retention 2)`);
    }

    // Nothing lost: a wiped follower rebuilds the whole catalogue from S3 and the leader's log tail.
    nodes.get(follower)!.proc.kill('SIGKILL');
    await nodes.get(follower)!.exited;
    rmSync(dirs[follower - 1]!, { recursive: true, force: true });
    mkdirSync(dirs[follower - 1]!, { recursive: true });
    nodes.set(follower, await startClusterNode(follower, env(follower), 90_000));
    const seen = await metadataUntil(kafka(follower), (m) => topics.every((t) => m.topics.some((x: any) => x.name === t)), 60_000);
    assert.deepEqual(seen.topics.map((t: any) => t.name).filter((n: string) => n.startsWith('s3-topic-')).sort(), [...topics].sort());
    assert.match(nodes.get(follower)!.output(), /metadata group restored from snapshot/);
    assert.equal(metric(await metricsOf(http(follower)), /^tributary_snapshot_bootstrap_total\{kind="metadata",outcome="restored"\} (\d+)$/m), 1);
    // ... and every acknowledged record of the partition, exactly once and in order, from its own replica.
    const served = await until('the wiped follower serving every acknowledged record', async () => {
      const f = await fetchPartition(kafka(follower), DATA_TOPIC, 0, (r) => recordsIn(r).at(-1)!.offset);
      return f.errorCode === ErrorCode.NONE && f.highWatermark >= acknowledged.length ? f : undefined;
    }, 60_000);
    assert.deepEqual(recordsIn(served.records).map((r) => r.value?.toString()), acknowledged);

    for (const n of nodes.values()) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) assert.equal(await n.exited, 0, n.output().slice(-2000));
  } finally {
    await Promise.all(
      [...nodes.values()].map(async (n) => {
        if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
        await n.exited;
      }),
    );
    await server.stop();
    cleanup();
  }
});
