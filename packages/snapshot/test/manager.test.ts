import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterId, raftGroupId } from '../src/ids.js';
import { SnapshotManager } from '../src/manager.js';
import type { SnapshotManagerConfig } from '../src/manager.js';
import type { SnapshotLogger, SnapshotMetricsHook } from '../src/observability.js';
import { SnapshotRepository } from '../src/repository.js';
import { restoreLatest } from '../src/restore.js';
import { MemoryObjectStore } from '../src/stores/memory-store.js';
import { FakeGroup, ManualClock, deferred } from './helpers/fake-source.js';
import { BufferSink } from './helpers/memory-group.js';

interface Harness {
  store: MemoryObjectStore;
  repository: SnapshotRepository;
  clock: ManualClock;
  manager: SnapshotManager;
  events: Record<string, number>;
  warnings: string[];
}

function harness(overrides: Partial<SnapshotManagerConfig> = {}): Harness {
  const store = new MemoryObjectStore();
  const clock = new ManualClock();
  const repository = new SnapshotRepository({ store, cluster: clusterId('c'), nowMs: clock.now });
  const events: Record<string, number> = {};
  const count = (name: string) => () => {
    events[name] = (events[name] ?? 0) + 1;
  };
  const metrics: SnapshotMetricsHook = {
    snapshotCreated: count('created'),
    snapshotFailed: count('failed'),
    snapshotDeferred: count('deferred'),
    compactionFailed: count('compactionFailed'),
    retentionFailed: count('retentionFailed'),
  };
  const warnings: string[] = [];
  const logger: SnapshotLogger = { debug: () => {}, info: () => {}, error: () => {}, warn: (_o, msg) => warnings.push(msg ?? '') };
  const manager = new SnapshotManager({
    repository,
    intervalSecs: 1,
    logThreshold: 100,
    timeThresholdSecs: 60,
    maxConcurrent: 2,
    retentionCount: 2,
    retryBaseMs: 1000,
    retryMaxMs: 8000,
    nowMs: clock.now,
    metrics,
    logger,
    ...overrides,
  });
  return { store, repository, clock, manager, events, warnings };
}

/** Everything the group ever applied is recoverable from the newest snapshot plus the remaining log. */
async function assertNothingLost(h: Harness, group: FakeGroup): Promise<void> {
  const sink = new BufferSink();
  const restored = await restoreLatest(h.repository, group.raftGroupId, sink);
  const snapshotIndex = restored.index ?? 0;
  assert.ok(group.compactedThrough <= snapshotIndex, `log compacted to ${group.compactedThrough} beyond snapshot ${snapshotIndex}`);
  const tail = [...group.log.entries()].filter(([i]) => i > snapshotIndex).sort((a, b) => a[0] - b[0]).map(([, b]) => b);
  const recovered = Buffer.concat([sink.committed?.rest ?? Buffer.alloc(0), ...tail]);
  assert.ok(recovered.equals(Buffer.concat(group.state)), 'snapshot + log tail must equal the full state');
}

test('log threshold triggers; below it nothing happens; compaction follows the upload', async () => {
  const h = harness();
  const g = new FakeGroup('p-0', h.clock.now);
  h.manager.register(g);
  g.write(99);
  assert.deepEqual(h.manager.tick(), []);
  g.write(1);
  assert.equal(h.manager.triggerReason(g.raftGroupId), 'log-threshold');
  assert.deepEqual(h.manager.tick(), [g.raftGroupId]);
  await h.manager.idle();
  assert.equal(h.events.created, 1);
  assert.equal(g.compactedThrough, 100);
  assert.deepEqual((await h.manager.listSnapshots(g.raftGroupId)).map((s) => s.index), [100]);
  assert.equal(h.manager.groupStats()[0]?.entriesSinceSnapshot, 0);
  await assertNothingLost(h, g);
});

test('time threshold triggers only with writes since the last snapshot; an idle group is never snapshotted', async () => {
  const h = harness();
  const busy = new FakeGroup('busy', h.clock.now);
  const idle = new FakeGroup('idle', h.clock.now);
  h.manager.register(busy);
  h.manager.register(idle);
  busy.write(5);
  h.clock.advance(59_000);
  assert.deepEqual(h.manager.tick(), []);
  h.clock.advance(1_000);
  assert.deepEqual(h.manager.tick(), [busy.raftGroupId]);
  await h.manager.idle();
  assert.equal(busy.compactedThrough, 5);
  // Hours pass: nobody writes, nothing is snapshotted again.
  for (let i = 0; i < 10; i++) {
    h.clock.advance(3_600_000);
    assert.deepEqual(h.manager.tick(), []);
  }
  assert.equal(idle.createCalls, 0);
  assert.equal(busy.createCalls, 1);
});

test('at most maxConcurrent snapshots run; deferred groups run later', async () => {
  const h = harness({ maxConcurrent: 2 });
  const gate = deferred();
  const groups = Array.from({ length: 5 }, (_, i) => new FakeGroup(`g-${i}`, h.clock.now));
  for (const g of groups) {
    g.gate = gate.promise;
    g.write(100);
    h.manager.register(g);
  }
  assert.equal(h.manager.tick().length, 2);
  assert.equal(h.manager.snapshotsInFlight, 2);
  assert.equal(h.events.deferred, 3);
  assert.equal(h.manager.tick().length, 0, 'no slot free');
  gate.resolve();
  await h.manager.idle();
  assert.equal(h.manager.snapshotsInFlight, 0);
  assert.equal(h.manager.tick().length, 2);
  await h.manager.idle();
  assert.equal(h.manager.tick().length, 1);
  await h.manager.idle();
  assert.equal(h.events.created, 5);
  assert.ok(groups.every((g) => g.compactedThrough === 100));
});

test('failed and skipped snapshots never leak a slot; backoff doubles and resets on success', async () => {
  const h = harness({ maxConcurrent: 1 });
  const failing = new FakeGroup('failing', h.clock.now);
  failing.failCreate = new Error('state machine busy');
  failing.write(100);
  h.manager.register(failing);
  for (let round = 0; round < 4; round++) {
    assert.equal(h.manager.tick().length, 1);
    await h.manager.idle();
    assert.equal(h.manager.snapshotsInFlight, 0, `slot leaked after failure ${round}`);
    const stats = h.manager.groupStats()[0]!;
    assert.equal(stats.consecutiveFailures, round + 1);
    const expectedDelay = Math.min(8000, 1000 * 2 ** round);
    assert.equal(stats.nextAttemptAtMs - h.clock.ms, expectedDelay);
    assert.equal(h.manager.tick().length, 0, 'not retried before the backoff elapsed');
    h.clock.advance(expectedDelay);
  }
  assert.equal(failing.compactedThrough, 0, 'nothing compacted without a snapshot');
  assert.equal(h.events.failed, 4);
  assert.ok(h.warnings.some((w) => w.includes('snapshot failed')));

  failing.failCreate = null;
  assert.equal(h.manager.tick().length, 1);
  await h.manager.idle();
  assert.equal(h.manager.groupStats()[0]?.consecutiveFailures, 0);
  assert.equal(failing.compactedThrough, 100);

  // Nothing new since the snapshot: a manual trigger is a no-op that still frees its slot.
  assert.equal(await h.manager.triggerNow(failing.raftGroupId), null);
  assert.equal(h.manager.snapshotsInFlight, 0);

  // A failing upload (store error) also frees its slot and compacts nothing.
  failing.write(100);
  h.store.failWhen = (op) => (op === 'put' ? new Error('503 SlowDown') : undefined);
  await assert.rejects(h.manager.triggerNow(failing.raftGroupId), /SlowDown/);
  assert.equal(h.manager.snapshotsInFlight, 0);
  assert.equal(failing.compactedThrough, 100);
  await assertNothingLost(h, failing);
});

test('a failed compaction is retried on a later tick; retention keeps retentionCount snapshots', async () => {
  const h = harness({ retentionCount: 2 });
  const g = new FakeGroup('p-1', h.clock.now);
  h.manager.register(g);
  g.failCompact = new Error('disk busy');
  g.write(100);
  h.manager.tick();
  await h.manager.idle();
  assert.equal(h.events.compactionFailed, 1);
  assert.equal(h.manager.groupStats()[0]?.compactionPendingIndex, 100);
  g.failCompact = null;
  h.manager.tick();
  await h.manager.idle();
  assert.equal(g.compactedThrough, 100);
  assert.equal(h.manager.groupStats()[0]?.compactionPendingIndex, null);
  for (let i = 0; i < 4; i++) {
    g.write(100);
    h.manager.tick();
    await h.manager.idle();
  }
  assert.deepEqual((await h.manager.listSnapshots(g.raftGroupId)).map((s) => s.index), [400, 500]);
  assert.equal((await h.store.list('snapshots/')).length, 2);
  await assertNothingLost(h, g);
});

test('object store outage: snapshots and compaction wait, writes continue, nothing is lost, slots are freed', async () => {
  const h = harness({ maxConcurrent: 2, logThreshold: 50 });
  const groups = [new FakeGroup('o-0', h.clock.now), new FakeGroup('o-1', h.clock.now), new FakeGroup('o-2', h.clock.now)];
  for (const g of groups) h.manager.register(g);
  for (const g of groups) g.write(60);
  h.manager.tick();
  await h.manager.idle();
  h.manager.tick();
  await h.manager.idle();
  assert.equal(h.events.created, 3);

  h.store.available = false;
  for (let round = 0; round < 12; round++) {
    for (const g of groups) g.write(30);
    h.manager.tick();
    await h.manager.idle();
    assert.equal(h.manager.snapshotsInFlight, 0);
    h.clock.advance(2000);
  }
  assert.ok((h.events.failed ?? 0) >= 3);
  for (const g of groups) assert.equal(g.compactedThrough, 60, 'no compaction while the store is down');

  h.store.available = true;
  h.clock.advance(10_000); // past the capped backoff
  for (let round = 0; round < 3; round++) {
    h.manager.tick();
    await h.manager.idle();
  }
  for (const g of groups) {
    assert.equal(g.compactedThrough, 420);
    await assertNothingLost(h, g);
  }
  assert.ok(h.manager.groupStats().every((s) => s.consecutiveFailures === 0));
});

test('the background loop runs on its interval and stops cleanly', async () => {
  const h = harness({ intervalSecs: 0.01, nowMs: Date.now });
  const g = new FakeGroup('loop', Date.now);
  const created = deferred();
  const manager = new SnapshotManager({
    repository: h.repository,
    intervalSecs: 0.01,
    logThreshold: 10,
    timeThresholdSecs: 3600,
    maxConcurrent: 1,
    retentionCount: 1,
    metrics: { snapshotCreated: () => created.resolve() },
  });
  manager.register(g);
  g.write(10);
  manager.start();
  assert.equal(manager.loopRunning, true);
  const guard = setTimeout(() => created.resolve(), 10_000);
  await created.promise;
  clearTimeout(guard);
  await manager.stop();
  assert.equal(manager.loopRunning, false);
  assert.equal(g.compactedThrough, 10);
  assert.throws(() => manager.register(g), /already registered/);
  assert.throws(() => new SnapshotManager({ ...baseConfig(h), maxConcurrent: 0 }), RangeError);
  assert.throws(() => raftGroupId('../x'), RangeError);
});

function baseConfig(h: Harness): SnapshotManagerConfig {
  return { repository: h.repository, intervalSecs: 1, logThreshold: 1, timeThresholdSecs: 1, maxConcurrent: 1, retentionCount: 1 };
}

test('a source whose status() throws is logged and backed off; other groups still snapshot', async () => {
  const h = harness();
  const broken = new FakeGroup('broken', h.clock.now);
  broken.status = () => {
    throw new Error('group closed');
  };
  const fine = new FakeGroup('fine', h.clock.now);
  fine.write(100);
  h.manager.register(broken);
  h.manager.register(fine);
  assert.deepEqual(h.manager.tick(), [fine.raftGroupId]);
  await h.manager.idle();
  assert.equal(fine.compactedThrough, 100);
  assert.equal(h.events.failed, 1);
  assert.equal(h.manager.snapshotsInFlight, 0);
  assert.equal(h.manager.groupStats().length, 2);
});

test('a group that already has a snapshot (restored at boot) counts entries from it', async () => {
  const h = harness();
  const g = new FakeGroup('restored', h.clock.now);
  g.write(150);
  g.lastSnapshotIndex = () => 120 as never;
  h.manager.register(g);
  assert.equal(h.manager.groupStats()[0]?.entriesSinceSnapshot, 30);
  assert.deepEqual(h.manager.tick(), []);
});
