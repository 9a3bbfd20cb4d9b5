// In-process tests of the snapshot service with the metadata group: a real single-voter RaftHost (memory transport
// and storage) over a real SQLite MetadataStore, a real local-directory (or memory) object store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { MemoryNetwork, MemoryStorage, RaftHost, Role, bootstrapState, nodeId, raftGroupId, raftIndex, term, type Entry, type GroupStateMachine, type NodeId } from '@tributary/raft';
import { MemoryObjectStore, raftIndex as snapshotIndex, raftTerm as snapshotTerm, type ObjectStore } from '@tributary/snapshot';
import { clusterObjectStoreProblem, loadConfig, type BrokerConfig } from '../../src/config.js';
import { MetadataStore } from '../../src/cluster/metadata-store.js';
import { encodeCommand, type MetadataCommand } from '../../src/cluster/metadata-commands.js';
import { MetadataGroupSnapshots } from '../../src/cluster/snapshots/metadata-snapshot.js';
import { SnapshotService, snapshotGroupOf } from '../../src/cluster/snapshots/snapshot-service.js';
import { nodeEnvironment } from '../../src/cluster/local-cluster.js';
import { runCli } from '../support/broker-process.js';

const METADATA = raftGroupId(1);
const silent = pino({ level: 'silent' });

function configFor(dir: string, extra: Record<string, string> = {}): BrokerConfig {
  const loaded = loadConfig('start', {
    TRIBUTARY_DATA_DIR: join(dir, 'node-1'),
    TRIBUTARY_NODE_ID: '1',
    TRIBUTARY_PEERS: '2@127.0.0.1:1,3@127.0.0.1:2',
    TRIBUTARY_OBJECT_STORE_DIR: join(dir, 'object-store'),
    TRIBUTARY_SNAPSHOT_RETENTION_COUNT: '2',
    ...extra,
  });
  assert.ok(loaded.ok, JSON.stringify(loaded));
  return loaded.config;
}

const createTopic = (name: string): MetadataCommand => ({
  kind: 'createTopic',
  name,
  topicIdHex: Buffer.from(name.padEnd(16, '-').slice(0, 16)).toString('hex'),
  createdMs: 1_700_000_000_000,
  configs: [['retention.ms', '1000']],
  replicas: [[1, 2, 3]],
});

interface Harness {
  readonly dir: string;
  readonly service: SnapshotService;
  readonly registry: Registry;
  readonly store: MetadataStore;
  readonly snapshots: MetadataGroupSnapshots;
  readonly host: RaftHost;
  propose(command: MetadataCommand): Promise<number>;
  close(): Promise<void>;
}

async function harness(objectStore?: ObjectStore): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-snapsvc-'));
  const config = configFor(dir);
  const registry = new Registry();
  const service = new SnapshotService({ config, logger: silent, registry, ...(objectStore ? { store: objectStore } : {}), retryBaseMs: 1, retryMaxMs: 1 });
  const store = new MetadataStore(join(dir, 'a.sqlite'));
  const snapshots = new MetadataGroupSnapshots(METADATA, store, service, join(dir, 'work-a'), silent);
  const storage = new MemoryStorage(bootstrapState([nodeId(1)]));
  const host = new RaftHost({ nodeId: nodeId(1), transport: new MemoryNetwork(1).endpoint(nodeId(1)), syncAll: () => storage.sync(), tickMs: 5 });
  const machine: GroupStateMachine = { apply: (e) => snapshots.apply(e), restore: (s) => snapshots.restore(s), snapshotData: (m) => snapshots.snapshotData(m) };
  snapshots.attachHost(host);
  host.addGroup(METADATA, storage, machine);
  host.start();
  const deadline = Date.now() + 5_000;
  while (host.group(METADATA)!.role !== Role.Leader) {
    assert.ok(Date.now() < deadline, 'single voter never became leader');
    await new Promise((r) => setTimeout(r, 10));
  }
  service.register(snapshots);
  service.start('unitcluster');
  return {
    dir,
    service,
    registry,
    store,
    snapshots,
    host,
    async propose(command) {
      const r = await host.propose(METADATA, encodeCommand(command));
      assert.ok(r.ok, JSON.stringify(r));
      return r.index;
    },
    async close() {
      await service.stop();
      await host.close();
      snapshots.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const metricValue = (text: string, line: RegExp): number | undefined => {
  const m = line.exec(text);
  return m ? Number(m[1]) : undefined;
};

test('cluster mode with snapshots and a local store needs an explicit shared TRIBUTARY_OBJECT_STORE_DIR (exit 2)', async () => {
  const base = { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '1', TRIBUTARY_PEERS: '2@127.0.0.1:9' };
  const check = (env: Record<string, string>): string | null => {
    const loaded = loadConfig('start', env);
    assert.ok(loaded.ok);
    return clusterObjectStoreProblem(loaded.config);
  };
  assert.match(check(base) ?? '', /TRIBUTARY_OBJECT_STORE_DIR: required in cluster mode/);
  assert.equal(check({ ...base, TRIBUTARY_OBJECT_STORE_DIR: '/shared' }), null);
  assert.equal(check({ ...base, TRIBUTARY_OBJECT_STORE: 's3', TRIBUTARY_S3_BUCKET: 'b' }), null);
  assert.equal(check({ ...base, TRIBUTARY_SNAPSHOT_ENABLED: 'false' }), null);
  assert.equal(check({ TRIBUTARY_DATA_DIR: '/d' }), null, 'a single node keeps its per-node default store');

  const refused = await runCli(['start', '--experimental-cluster'], { ...base, TRIBUTARY_DATA_DIR: '/tmp/never-created' });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /TRIBUTARY_OBJECT_STORE_DIR: required in cluster mode when snapshots are enabled/);
});

test('metadata snapshot: VACUUM INTO copy uploaded and verified, Raft log compacted, retention, metrics and admin report', async () => {
  const h = await harness();
  try {
    await h.propose({ kind: 'initCluster', clusterId: 'unitcluster' });
    for (const name of ['a', 'b', 'c']) await h.propose(createTopic(name));
    const [first] = await h.service.trigger(1);
    assert.equal(first?.status, 'created', JSON.stringify(first));
    assert.ok(first?.status === 'created');
    assert.equal(first.index, h.store.appliedIndex);
    // The log is compacted behind the verified snapshot: Raft holds only what follows it.
    assert.equal(h.host.group(METADATA)!.firstIndex, first.index + 1);

    const nothing = await h.service.trigger(1);
    assert.deepEqual(nothing, [{ raftGroup: 1, status: 'nothing-new', lastSnapshotIndex: first.index }]);
    for (const round of [1, 2, 3]) {
      await h.propose(createTopic(`more-${round}`));
      const [o] = await h.service.trigger(1);
      assert.equal(o?.status, 'created');
    }
    const [report] = await h.service.report();
    assert.ok(report);
    assert.equal(report.kind, 'metadata');
    assert.equal(report.snapshots?.length, 2, 'TRIBUTARY_SNAPSHOT_RETENTION_COUNT=2 keeps two');
    assert.equal(report.lastSnapshotIndex, h.store.appliedIndex);
    assert.equal(report.entriesSinceSnapshot, 0);
    assert.deepEqual(report.raftLog, { firstIndex: h.store.appliedIndex + 1, lastIndex: h.store.appliedIndex });
    assert.match(report.snapshots?.[1]?.key ?? "", /^manifests\/unitcluster\.node-1\/1\//);

    const text = await h.registry.metrics();
    assert.equal(metricValue(text, /^tributary_snapshot_created_total\{kind="metadata"\} (\d+)$/m), 4);
    assert.equal(metricValue(text, /^tributary_snapshot_last_index\{raft_group="1",kind="metadata"\} (\d+)$/m), h.store.appliedIndex);
    assert.ok((metricValue(text, /^tributary_snapshot_uploaded_bytes_total\{kind="metadata"\} (\d+)$/m) ?? 0) > 4096);
    assert.equal(metricValue(text, /^tributary_snapshot_duration_seconds_count\{kind="metadata"\} (\d+)$/m), 4);
    assert.equal(metricValue(text, /^tributary_snapshot_loop_running (\d+)$/m), 1);
    assert.equal(metricValue(text, /^tributary_snapshot_entries_since\{raft_group="1",kind="metadata"\} (\d+)$/m), 0);
  } finally {
    await h.close();
  }
});

test('metadata restore: a lagging store downloads the snapshot, swaps it in, and applies queued entries after it only', async () => {
  const h = await harness();
  const laggingPath = join(h.dir, 'lagging.sqlite');
  const lagging = new MetadataStore(laggingPath);
  const restorer = new MetadataGroupSnapshots(METADATA, lagging, h.service, join(h.dir, 'work-b'), silent);
  try {
    await h.propose({ kind: 'initCluster', clusterId: 'unitcluster' });
    await h.propose({ kind: 'registerBroker', broker: { nodeId: 1, host: 'h1', port: 1 } });
    for (const name of ['x', 'y', 'z']) await h.propose(createTopic(name));
    const [o] = await h.service.trigger(1);
    assert.ok(o?.status === 'created');
    const raft = h.host.group(METADATA)!;
    const meta = { index: raftIndex(o.index), term: term(o.term), conf: { voters: [1 as NodeId], learners: [] } };
    const image = h.snapshots.snapshotData(meta);
    assert.ok(image !== null, 'the leader serves the reference image for its snapshot');
    assert.equal(raft.firstIndex, o.index + 1);

    // InstallSnapshot: the host hands the reference over, then keeps applying committed entries.
    restorer.restore({ meta, data: image });
    assert.equal(restorer.isCaughtUp(), false, 'restoring: not caught up');
    const entry = (index: number, command: MetadataCommand): Entry => ({ index: raftIndex(index), term: term(o.term), type: 0, data: encodeCommand(command) }) as Entry;
    // An entry at the snapshot's index is in the snapshot already: applying it again would create "ghost".
    restorer.apply([entry(o.index, createTopic('ghost')), entry(o.index + 1, createTopic('after'))]);
    assert.equal(lagging.getTopic('after'), undefined, 'queued, not applied, while restoring');
    await restorer.whenCaughtUp();

    assert.equal(restorer.isCaughtUp(), true);
    assert.equal(lagging.appliedIndex, o.index + 1);
    assert.deepEqual(lagging.listTopics().map((t) => t.name).sort(), ['after', 'x', 'y', 'z']);
    assert.deepEqual(lagging.brokers(), h.store.brokers());
    assert.equal(lagging.clusterId, 'unitcluster');
    assert.deepEqual([...(lagging.getTopic('x')?.configs ?? [])], [['retention.ms', '1000']]);
    assert.deepEqual(lagging.getTopic('y')?.assignments, h.store.getTopic('y')?.assignments);
    // The swapped-in file is the live database: a reopen sees the same state.
    lagging.close();
    const reopened = new MetadataStore(laggingPath);
    assert.equal(reopened.appliedIndex, o.index + 1);
    assert.equal(reopened.getTopic('ghost'), undefined);
    reopened.close();
    const text = await h.registry.metrics();
    assert.equal(metricValue(text, /^tributary_snapshot_bootstrap_total\{kind="metadata",outcome="restored"\} (\d+)$/m), 1);
  } finally {
    restorer.close();
    await h.close();
  }
});

test('an object-store outage fails snapshots (counted), never compacts the log, and snapshots resume afterwards', async () => {
  const objects = new MemoryObjectStore();
  const h = await harness(objects);
  try {
    await h.propose({ kind: 'initCluster', clusterId: 'unitcluster' });
    await h.propose(createTopic('t'));
    objects.available = false;
    const [failed] = await h.service.trigger(1);
    assert.equal(failed?.status, 'failed');
    assert.equal(h.host.group(METADATA)!.firstIndex, 1, 'nothing compacted without a verified snapshot');
    let text = await h.registry.metrics();
    assert.equal(metricValue(text, /^tributary_snapshot_failed_total\{kind="metadata"\} (\d+)$/m), 1);
    assert.ok((metricValue(text, /^tributary_snapshot_object_store_errors_total\{operation="head"\} (\d+)$/m) ?? 0) >= 1);

    objects.available = true;
    await h.propose(createTopic('u'));
    const [created] = await h.service.trigger(1);
    assert.equal(created?.status, 'created', JSON.stringify(created));
    assert.ok(created?.status === 'created');
    assert.equal(h.host.group(METADATA)!.firstIndex, created.index + 1);
    text = await h.registry.metrics();
    assert.equal(metricValue(text, /^tributary_snapshot_created_total\{kind="metadata"\} (\d+)$/m), 1);
  } finally {
    await h.close();
  }
});

test('readiness: not caught up while a hosted group restores or a tracked restore runs; tributary cluster shares one store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-snapready-'));
  try {
    const service = new SnapshotService({ config: configFor(dir), logger: silent, registry: new Registry(), store: new MemoryObjectStore() });
    assert.equal(service.isCaughtUp(), true, 'nothing hosted');
    let restoring = true;
    service.register({
      raftGroupId: snapshotGroupOf(5),
      isCaughtUp: () => !restoring,
      status: () => ({ appliedIndex: snapshotIndex(0), appliedTerm: snapshotTerm(0), lastWriteAtMs: null }),
      createSnapshot: () => Promise.reject(new Error('not used')),
      compactLog: () => Promise.resolve(),
    });
    assert.equal(service.isCaughtUp(), false);
    assert.deepEqual(service.restoringGroups(), [5]);
    restoring = false;
    assert.equal(service.isCaughtUp(), true);
    let finish: () => void = () => undefined;
    const bootstrap = service.trackRestore(6, new Promise<void>((r) => (finish = r)));
    assert.equal(service.isCaughtUp(), false, 'a bootstrap before hosting counts too');
    finish();
    await bootstrap;
    await new Promise((r) => setImmediate(r));
    assert.equal(service.isCaughtUp(), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const options = { nodes: 3, joiningNodes: 0, dataDir: '/tmp/c', kafkaBasePort: 0, httpBasePort: 0, clusterBasePort: 19000 };
  const stores = [1, 2, 3].map((id) => nodeEnvironment(options, id, 'cid').TRIBUTARY_OBJECT_STORE_DIR);
  assert.deepEqual(stores, ['/tmp/c/object-store', '/tmp/c/object-store', '/tmp/c/object-store']);
});
