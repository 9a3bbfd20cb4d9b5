// In-process tests of the cluster pieces: replica assignment, the metadata state machine's apply invariant, and a
// Raft partition's apply / restart-replay invariant over a real PartitionLog (no Raft host needed for apply).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '@tributary/log';
import { EntryType, raftGroupId, type Entry, type RaftHost, type RaftIndex, type Term } from '@tributary/raft';
import { assignReplicas, encodeCommand, type MetadataCommand } from '../../src/cluster/metadata-commands.js';
import { MetadataStore } from '../../src/cluster/metadata-store.js';
import { RaftPartition, encodePartitionEntry } from '../../src/cluster/raft-partition.js';
import { batchOf, recordsIn } from '../support/batches.js';

const silent = pino({ level: 'silent' });
const firstProducerId = (r: ReturnType<MetadataStore['takeResult']>): number | undefined => (r?.ok ? r.firstProducerId : undefined);

function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'trib-cluster-unit-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('assignReplicas: rf distinct replicas per partition, preferred leaders round-robin', () => {
  const r = assignReplicas([3, 1, 2], 0, 6, 3, 1);
  for (const replicas of r) assert.equal(new Set(replicas).size, 3);
  assert.deepEqual(r.map((x) => x[0]), [2, 3, 1, 2, 3, 1]);
  assert.deepEqual(assignReplicas([1, 2, 3], 6, 2, 2, 0), [[1, 2], [2, 3]]);
  assert.throws(() => assignReplicas([1, 2], 0, 1, 3, 0), RangeError);
});

test('MetadataStore: applied_index makes a replay after reopen a no-op; results per entry; newer leader terms win', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'meta.sqlite');
    let index = 0;
    const entry = (c: MetadataCommand | null): Entry => ({ index: ++index as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: c === null ? new Uint8Array(0) : encodeCommand(c) });
    const create: MetadataCommand = { kind: 'createTopic', name: 't', topicIdHex: '11'.repeat(16), createdMs: 5, configs: [['retention.ms', '1000']], replicas: [[1, 2], [2, 3]] };
    const entries = [
      entry(null),
      entry({ kind: 'initCluster', clusterId: 'first' }),
      entry({ kind: 'initCluster', clusterId: 'second' }),
      entry({ kind: 'registerBroker', broker: { nodeId: 1, host: 'h', port: 1 } }),
      entry(create),
      entry(create),
      entry({ kind: 'allocateProducerIds', count: 10 }),
      entry({ kind: 'allocateProducerIds', count: 10 }),
      entry({ kind: 'partitionLeader', topic: 't', partition: 0, raftGroup: 2, leaderId: 2, term: 4 }),
      entry({ kind: 'partitionLeader', topic: 't', partition: 0, raftGroup: 2, leaderId: 1, term: 3 }),
    ];
    let store = new MetadataStore(path);
    store.apply(entries);
    assert.equal(store.clusterId, 'first');
    assert.deepEqual(store.takeResult(3), { ok: true, clusterId: 'first' });
    assert.equal(store.takeResult(6)?.ok, false);
    assert.equal(firstProducerId(store.takeResult(7)), 0);
    assert.equal(firstProducerId(store.takeResult(8)), 10);
    const t = store.getTopic('t')!;
    assert.equal(t.partitionCount, 2);
    assert.deepEqual(t.assignments.map((a) => a.raftGroup), [2, 3]);
    assert.deepEqual([t.assignments[0]!.leader, t.assignments[0]!.leaderTerm], [2, 4]);
    assert.equal(t.configs.get('retention.ms'), '1000');
    store.close();

    store = new MetadataStore(path);
    assert.equal(store.appliedIndex, entries.length);
    store.apply(entries); // the host replays from index 1 after a restart
    assert.equal(store.takeResult(8), undefined, 'entries at or below applied_index are not applied again');
    store.apply([entry({ kind: 'allocateProducerIds', count: 10 })]);
    assert.equal(firstProducerId(store.takeResult(index)), 20);
    assert.equal(store.listTopics().length, 1);
    store.close();
  } finally {
    cleanup();
  }
});

test('RaftPartition: apply-time idempotence, and a replay after reopen appends nothing twice', async () => {
  const { dir, cleanup } = tempDir();
  const host = { nodeId: 1, group: () => undefined } as unknown as RaftHost;
  const fail = (err: Error): void => assert.fail(err);
  try {
    const logDir = join(dir, 'p0');
    const idem = (seq: number, value: string): Buffer =>
      Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }], { producerId: 7, producerEpoch: 0, baseSequence: seq }));
    const plain = (value: string): Buffer => Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }]));
    const datas = [plain('a'), idem(0, 'b'), idem(0, 'b'), plain('c'), idem(5, 'gap'), idem(1, 'd')];
    const entries: Entry[] = [{ index: 1 as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: new Uint8Array(0) }];
    datas.forEach((d, i) => entries.push({ index: (i + 2) as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: encodePartitionEntry(d, false, 1000 + i) }));

    let log = await PartitionLog.open(logDir, DEFAULT_LOG_CONFIG);
    let p = new RaftPartition('t', 0, raftGroupId(2), log, host, await RaftPartition.recover(log), silent, fail);
    p.apply(entries.slice(0, 5)); // up to the duplicate and 'c'
    const read = async (): Promise<string[]> => {
      const r = await p.read(0 as never, 1 << 20, true);
      assert.equal(r.kind, 'ok');
      return recordsIn(r.kind === 'ok' ? r.result.records : null).map((x) => x.value!.toString());
    };
    assert.deepEqual(await read(), ['a', 'b', 'c']);
    await p.close();

    // Restart: the host replays every committed entry from index 1; the log already holds a, b, c.
    log = await PartitionLog.open(logDir, DEFAULT_LOG_CONFIG);
    const recovered = await RaftPartition.recover(log);
    assert.equal(recovered.batches.length, 3);
    p = new RaftPartition('t', 0, raftGroupId(2), log, host, recovered, silent, fail);
    p.apply(entries);
    assert.equal(p.replayPending, 0);
    assert.deepEqual(await read(), ['a', 'b', 'c', 'd'], 'the gap stays rejected, d follows b in sequence');
    assert.equal(p.highWatermark, 4);
    await p.close();
  } finally {
    cleanup();
  }
});
