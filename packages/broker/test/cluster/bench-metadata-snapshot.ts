// Metadata-group snapshot cost for a catalogue of N topics: the VACUUM INTO copy (it runs on the event loop, between
// applies), its size, the upload + verified write to a local-directory store, and a restore into a staged file.
// Not a test (no .test suffix): run it by hand.
//
//   npx tsc -b packages/broker && node packages/broker/dist/test/cluster/bench-metadata-snapshot.js [topics] [partitionsPerTopic]
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectoryObjectStore, SnapshotRepository, clusterId, nodeWriterCluster, raftIndex, raftTerm } from '@tributary/snapshot';
import type { Entry } from '@tributary/raft';
import { MetadataStore } from '../../src/cluster/metadata-store.js';
import { encodeCommand } from '../../src/cluster/metadata-commands.js';
import { SqliteFileSink } from '../../src/cluster/snapshots/metadata-snapshot.js';
import { snapshotGroupOf } from '../../src/cluster/snapshots/snapshot-service.js';

const topics = Number(process.argv[2] ?? 2000);
const partitionsPerTopic = Number(process.argv[3] ?? 6);
const dir = mkdtempSync(join(tmpdir(), 'trib-metasnap-bench-'));
const ms = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;
try {
  const store = new MetadataStore(join(dir, 'catalogue.sqlite'));
  const entries: Entry[] = [];
  for (let t = 0; t < topics; t++) {
    const replicas = Array.from({ length: partitionsPerTopic }, (_, p) => [1 + (p % 3), 1 + ((p + 1) % 3), 1 + ((p + 2) % 3)]);
    const command = encodeCommand({ kind: 'createTopic', name: `topic-${t}`, topicIdHex: t.toString(16).padStart(32, '0'), createdMs: 1, configs: [['retention.ms', '1000']], replicas });
    entries.push({ index: raftIndex(t + 1), term: raftTerm(1), type: 0, data: command } as unknown as Entry);
  }
  // One apply call per 1,000 entries (the host hands over whole rounds; the store reloads its views once per call).
  for (let i = 0; i < entries.length; i += 1000) store.apply(entries.slice(i, i + 1000));

  const copy = join(dir, 'copy.sqlite');
  const vacuumTimes: number[] = [];
  for (let r = 0; r < 3; r++) {
    rmSync(copy, { force: true });
    const t0 = performance.now();
    store.vacuumInto(copy);
    vacuumTimes.push(ms(t0));
  }
  const copyBytes = statSync(copy).size;
  const repository = new SnapshotRepository({ store: new LocalDirectoryObjectStore(join(dir, 'store')), cluster: nodeWriterCluster(clusterId('bench'), 1) });
  const t1 = performance.now();
  const written = await repository.write(snapshotGroupOf(1), { index: raftIndex(store.appliedIndex), term: raftTerm(store.appliedTerm), membership: Buffer.alloc(0), rest: createReadStream(copy) });
  const writeMs = ms(t1);
  const t2 = performance.now();
  await new SqliteFileSink(join(dir, 'restored.sqlite')).restore(await repository.open(written.manifestKey));
  const restoreMs = ms(t2);
  const restored = new MetadataStore(join(dir, 'restored.sqlite'));
  if (restored.listTopics().length !== topics || restored.appliedIndex !== store.appliedIndex) throw new Error('restored catalogue differs');
  restored.close();
  store.close();
  console.log(JSON.stringify({ topics, partitionsPerTopic, copyBytes, vacuumIntoMs: vacuumTimes, uploadAndVerifyMs: writeMs, bytesUploaded: written.bytesUploaded, restoreMs }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
