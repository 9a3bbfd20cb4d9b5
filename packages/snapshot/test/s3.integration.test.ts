/**
 * Integration tests against a real S3-compatible server (SeaweedFS) started here. Skipped, with the reason,
 * when the weed binary is not installed (scripts/install/seaweedfs.sh installs it; CI runs it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterId, raftGroupId } from '../src/ids.js';
import { SnapshotManager } from '../src/manager.js';
import { SnapshotRepository } from '../src/repository.js';
import { restoreLatest } from '../src/restore.js';
import { S3ObjectStore } from '../src/stores/s3-store.js';
import { FakeGroup } from './helpers/fake-source.js';
import { pseudoRandomBytes } from './helpers/fixtures.js';
import { BufferSink, content } from './helpers/memory-group.js';
import { SeaweedServer, WEED_INSTALL_HINT, findWeed } from './helpers/seaweedfs.js';
import { checkObjectStoreContract } from './helpers/store-contract.js';
import { TracingStore } from './helpers/tracing-store.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const weed = findWeed();

// CI installs SeaweedFS before the tests (.ci/run), so there a missing binary is a failure, not a skip.
test('a real S3 server is available where CI requires it', { skip: process.env.CI !== 'true' ? 'not CI' : false }, () => {
  assert.notEqual(weed, null, WEED_INSTALL_HINT);
});

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('S3 (SeaweedFS)', { skip: weed === null ? WEED_INSTALL_HINT : false }, () => {
  let dir: string;
  let server: SeaweedServer;
  let bucketCounter = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-seaweedfs-'));
    server = await SeaweedServer.start(weed!, dir);
  });

  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function newStore(prefix = 'tributary'): Promise<S3ObjectStore> {
    bucketCounter += 1;
    const store = new S3ObjectStore({
      bucket: `snapshot-test-${bucketCounter}`,
      prefix,
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      partSizeBytes: 5 * 1024 * 1024,
      maxAttempts: 2,
      connectionTimeoutMs: 2000,
      socketIdleTimeoutMs: 3000,
    });
    // The filer may need a moment after the gateway starts answering: retry bucket creation (bounded).
    await waitForAsync('bucket creation', () => store.ensureBucket());
    return store;
  }

  test('S3ObjectStore honours the ObjectStore contract, including multipart uploads', async () => {
    const store = await newStore();
    try {
      await checkObjectStoreContract(store, { largeBytes: 12 * 1024 * 1024 + 123, eventualListing: true });
    } finally {
      store.close();
    }
  });

  test('snapshots with shared pieces: write, verify, restore, retention against S3', async () => {
    const store = await newStore('cluster-prefix/');
    try {
      const repository = new SnapshotRepository({ store, cluster: clusterId('it') });
      const group = raftGroupId('orders-1');
      const A = pseudoRandomBytes(200_000, 1);
      const B = pseudoRandomBytes(300_000, 2);
      await repository.write(group, content(10, 1, Buffer.from('rest-10'), { A }));
      const second = await repository.write(group, content(20, 1, Buffer.from('rest-20'), { A, B }));
      assert.equal(second.piecesReused, 1);
      await repository.write(group, content(30, 2, Buffer.from('rest-30'), { B }));
      const retention = await repository.applyRetention(group, 2);
      assert.deepEqual(retention.kept.map((k) => k.index), [20, 30]);
      assert.equal(retention.deletedPieceKeys.length, 0, 'A is still referenced by snapshot 20');
      const head = await store.head((await repository.list(group))[1]!.manifestKey);
      assert.equal(head?.metadata['tributary-index'], '30');
      const sink = new BufferSink();
      const result = await restoreLatest(repository, group, sink);
      assert.equal(result.index, 30);
      assert.ok(sink.committed?.pieces.get('B')?.equals(B));
      assert.equal(sink.committed?.rest.toString(), 'rest-30');
    } finally {
      store.close();
    }
  });

  test('S3 outage mid-loop: snapshots resume after restart, nothing lost, no slot leaked', async () => {
    const store = await newStore();
    const debug = process.env.SNAPSHOT_TEST_DEBUG !== undefined;
    const t0Trace = Date.now();
    const traced = debug ? new TracingStore(store, (line) => console.error(`${Date.now() - t0Trace} ${line}`)) : store;
    const repository = new SnapshotRepository({ store: traced, cluster: clusterId('outage') });
    let created = 0;
    let failed = 0;
    const manager = new SnapshotManager({
      repository,
      intervalSecs: 0.05,
      logThreshold: 20,
      timeThresholdSecs: 3600,
      maxConcurrent: 2,
      retentionCount: 2,
      retryBaseMs: 100,
      retryMaxMs: 400,
      metrics: {
        snapshotCreated: () => (created += 1),
        snapshotFailed: (event) => {
          failed += 1;
          if (process.env.SNAPSHOT_TEST_DEBUG !== undefined) console.error('snapshot failed', event.raftGroupId, String(event.error));
        },
      },
    });
    const groups = [0, 1, 2].map((i) => new FakeGroup(`p-${i}`, Date.now));
    for (const g of groups) manager.register(g);
    try {
      manager.start();
      for (const g of groups) g.write(25);
      await waitFor('first snapshots', () => groups.every((g) => g.compactedThrough === 25));

      let t0 = Date.now();
      await server.stop();
      if (process.env.SNAPSHOT_TEST_DEBUG !== undefined) console.error('stop took', Date.now() - t0);
      for (const g of groups) g.write(30);
      await waitFor('failures during the outage', () => failed >= 3);
      assert.ok(groups.every((g) => g.compactedThrough === 25), 'no compaction while S3 is down');

      t0 = Date.now();
      await server.restart();
      if (process.env.SNAPSHOT_TEST_DEBUG !== undefined) console.error('restart took', Date.now() - t0);
      // 25 more entries: a trigger whether or not a retry already snapshotted index 55 during the restart.
      for (const g of groups) g.write(25);
      await waitFor('snapshots after the outage', () => groups.every((g) => g.compactedThrough === 80), 40_000);
      await manager.stop();
      assert.equal(manager.snapshotsInFlight, 0);
      assert.ok(created >= 6);
      for (const g of groups) {
        const sink = new BufferSink();
        const restored = await restoreLatest(repository, g.raftGroupId, sink);
        assert.equal(restored.index, 80);
        assert.ok(sink.committed?.rest.equals(Buffer.concat(g.state)));
        assert.ok((await repository.list(g.raftGroupId)).length <= 2);
      }
    } finally {
      await manager.stop();
      store.close();
    }
  });
});

async function waitForAsync(what: string, attempt: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
