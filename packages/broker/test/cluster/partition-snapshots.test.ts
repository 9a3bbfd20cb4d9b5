// Partition snapshots in process: the source -> object store -> restore round trip, Raft log compaction behind a
// verified snapshot, restart after compaction (only the tail is replayed, nothing appended twice), and a follower
// that was away while the others compacted catching up through InstallSnapshot from the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '@tributary/log';
import { EntryType, MemoryNetwork, nodeId, raftGroupId, type Entry, type RaftHost, type RaftIndex, type Term } from '@tributary/raft';
import { MemoryObjectStore } from '@tributary/snapshot';
import { RaftPartition } from '../../src/cluster/raft-partition.js';
import { readCheckpoint } from '../../src/cluster/snapshots/partition-checkpoint.js';
import { stageNewest, swapIn } from '../../src/cluster/snapshots/partition-restore.js';
import { decodePartitionRest, encodePartitionRest, parseActiveChunkPieceName, type PartitionSnapshotMeta } from '../../src/cluster/snapshots/partition-snapshot-format.js';
import { snapshotGroupOf } from '../../src/cluster/snapshots/snapshot-service.js';
import { recordsIn } from '../support/batches.js';
import {
  RAFT_GROUP, SMALL_SEGMENTS, entryData, idempotentBatch, logBytes, plainBatch, propose, repositoryOf, segmentFiles, servicesFor, silent, startReplica, waitFor,
  type Replica,
} from './partition-snapshot-support.js';

const group = raftGroupId(RAFT_GROUP);
const snapshotGroup = snapshotGroupOf(RAFT_GROUP);

function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'trib-partition-snap-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const value = (i: number): string => `record-${i}-${'x'.repeat(80)}`;

/** Snapshot with the replica's own source into its own prefix, then compact its Raft log (what the manager does). */
async function snapshotAndCompact(store: MemoryObjectStore, r: Replica): Promise<number> {
  const content = await r.source.createSnapshot();
  await repositoryOf(store, r.node).write(snapshotGroup, content);
  await r.source.compactLog(content.index);
  return content.index;
}

async function allRecords(dir: string): Promise<string[]> {
  const log = await PartitionLog.open(dir, SMALL_SEGMENTS);
  try {
    const out: string[] = [];
    let offset = log.logStartOffset as number;
    while (offset < log.logEndOffset) {
      const r = await log.read(offset, 1 << 20);
      assert.equal(r.kind, 'records');
      if (r.kind !== 'records') break;
      for (const rec of recordsIn(r.records)) out.push(rec.value!.toString());
      offset = r.nextOffset;
    }
    return out;
  } finally {
    await log.close();
  }
}

test('partition snapshot: source -> store -> restore is byte-exact, keeps producer state, reuses sealed segments', async () => {
  const { dir: base, cleanup } = tempDir();
  const store = new MemoryObjectStore();
  const r = await startReplica({ node: 1, voters: [1], network: new MemoryNetwork(1), baseDir: base, store });
  try {
    let seq = 0;
    for (let i = 0; i < 150; i++) await propose([r], entryData(i % 3 === 0 ? plainBatch(value(i)) : idempotentBatch(9, seq++, value(i))));
    const content = await r.source.createSnapshot();
    const first = await repositoryOf(store, 1).write(snapshotGroup, content);
    assert.ok(first.piecesUploaded >= 2, `sealed segments are pieces (${first.piecesUploaded})`);
    assert.equal(content.index, r.partition.appliedPosition().raftIndex);

    const target = join(base, 'restored', 'partition');
    const options = { raftGroup: RAFT_GROUP, snapshotGroup, dir: target, services: servicesFor(store, 2), replicas: () => [1], logger: silent };
    const staged = await stageNewest(options, [1], 0);
    assert.ok(staged !== null);
    assert.equal(staged.raftIndex, content.index);
    await swapIn({ dir: staged.stagingDir }, target);
    assert.deepEqual(segmentFiles(target), segmentFiles(r.dir), 'every segment file is byte-identical');

    // Producer state travelled: a retry of the last idempotent batch is a duplicate, a gap is refused.
    const log = await PartitionLog.open(target, SMALL_SEGMENTS);
    const recovered = await RaftPartition.recover(log, await readCheckpoint(target));
    assert.deepEqual(recovered.checkpoint, { raftIndex: content.index, raftTerm: content.term });
    assert.equal(recovered.batches.length, 0, 'nothing after the checkpoint to replay');
    assert.deepEqual(recovered.epochs.all, r.partition.epochs.all, 'leader epochs travel with the snapshot');
    assert.ok(recovered.epochs.all.length > 0);
    const host = { nodeId: 2, group: () => undefined } as unknown as RaftHost;
    const restored = new RaftPartition('t', 0, group, log, host, recovered, silent, (err) => assert.fail(err));
    const endBefore = restored.logEndOffset;
    const at = (k: number, data: Buffer): Entry => ({ index: (content.index + k) as RaftIndex, term: content.term as number as Term, type: EntryType.Normal, data });
    restored.apply([
      at(0, entryData(plainBatch('at-the-snapshot-index'))), // at the restored index: already reflected, skipped
      at(1, entryData(idempotentBatch(9, seq - 1, 'retry of the last batch'))),
      at(2, entryData(idempotentBatch(9, seq + 5, 'gap'))),
      at(3, entryData(idempotentBatch(9, seq, 'next'))),
    ]);
    assert.equal(restored.logEndOffset, endBefore + 1, 'only the next-in-sequence batch is appended');
    await restored.close();

    // Incremental: more records, a second snapshot uploads only the new pieces.
    for (let i = 150; i < 200; i++) await propose([r], entryData(plainBatch(value(i))));
    const second = await repositoryOf(store, 1).write(snapshotGroup, await r.source.createSnapshot());
    assert.ok(second.piecesReused >= first.piecesUploaded, `sealed segments are referenced again (${second.piecesReused} reused)`);
    assert.ok(second.bytesUploaded < first.bytesUploaded + second.piecesReused * 4096, 'the second snapshot does not re-upload reused segments');

    // A corrupt newest snapshot falls back to the previous one.
    const newest = second.manifest.snapshotKey;
    const bytes = Buffer.from(store.rawBytes(newest)!);
    bytes[bytes.length - 40] ^= 0x20;
    store.setRawBytes(newest, bytes);
    const again = await stageNewest({ ...options, dir: join(base, 'restored-2', 'partition') }, [1], 0);
    assert.equal(again?.raftIndex, content.index);
    const above = await stageNewest({ ...options, dir: join(base, 'restored-3', 'partition') }, [1], second.manifest.index);
    assert.equal(above, null, 'no usable snapshot at or above the corrupt one');
  } finally {
    await r.close();
    cleanup();
  }
});

test('a large active segment is snapshotted as chunk pieces: the next snapshot uploads only new chunks and the tail; restores are byte-exact (and a version-1 snapshot still restores)', async () => {
  const chunkBytes = 8192;
  const oneSegment = { ...DEFAULT_LOG_CONFIG, segmentBytesMax: 64 << 20 };
  const { dir: base, cleanup } = tempDir();
  const store = new MemoryObjectStore();
  const r = await startReplica({ node: 1, voters: [1], network: new MemoryNetwork(1), baseDir: base, store, logConfig: oneSegment, activeChunkBytes: chunkBytes });
  // Random values: gzip cannot shrink the rest payload enough to hide a re-sent active segment.
  const values: string[] = [];
  const produce = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      values.push(randomBytes(150).toString('base64'));
      await propose([r], entryData(plainBatch(values[values.length - 1]!)));
    }
  };
  const chunkPieces = (names: readonly string[]): string[] => names.filter((n) => parseActiveChunkPieceName(n) !== null);
  const restoreInto = async (name: string, from: MemoryObjectStore): Promise<string> => {
    const target = join(base, name, 'partition');
    const staged = await stageNewest({ raftGroup: RAFT_GROUP, snapshotGroup, dir: target, services: servicesFor(from, 2), replicas: () => [1], logger: silent }, [1], 0);
    assert.ok(staged !== null);
    await swapIn({ dir: staged.stagingDir }, target);
    return target;
  };
  try {
    await produce(400);
    assert.equal(segmentFiles(r.dir).size, 1, 'all records are in the active segment');
    const firstContent = await r.source.createSnapshot();
    const first = await repositoryOf(store, 1).write(snapshotGroup, firstContent);
    const activeBytes = statSync(join(r.dir, [...segmentFiles(r.dir).keys()][0]!)).size;
    const firstChunks = chunkPieces(first.manifest.pieces.map((p) => p.name));
    assert.equal(firstChunks.length, Math.floor(activeBytes / chunkBytes), `every full chunk is a piece (${activeBytes} bytes)`);
    assert.ok(firstChunks.length >= 10);
    assert.equal(first.piecesUploaded, firstChunks.length);

    await produce(100);
    const second = await repositoryOf(store, 1).write(snapshotGroup, await r.source.createSnapshot());
    const grownBytes = statSync(join(r.dir, [...segmentFiles(r.dir).keys()][0]!)).size;
    const secondChunks = chunkPieces(second.manifest.pieces.map((p) => p.name));
    assert.equal(secondChunks.length, Math.floor(grownBytes / chunkBytes));
    assert.deepEqual(secondChunks.slice(0, firstChunks.length), firstChunks, 'the first snapshot\'s chunks keep their names');
    assert.equal(second.piecesReused, firstChunks.length, 'every chunk of the first snapshot is reused');
    assert.equal(second.piecesUploaded, secondChunks.length - firstChunks.length, 'only the new chunks are uploaded');
    assert.ok(second.piecesUploaded >= 1);
    // New chunks + at most one chunk of tail (+ header, manifest): far below the whole segment the old format re-sent.
    const bound = (second.piecesUploaded + 1) * chunkBytes + 8192;
    assert.ok(second.bytesUploaded < bound, `second snapshot uploaded ${second.bytesUploaded} bytes (bound ${bound}, segment ${grownBytes})`);

    const target = await restoreInto('restored', store);
    assert.deepEqual(segmentFiles(target), segmentFiles(r.dir), 'the active segment is rebuilt byte-exact from chunks + tail');
    assert.deepEqual(await allRecords(target), values);

    // Version 1 (before chunk pieces): the whole active segment in the rest payload, no chunk pieces.
    const current = await r.source.createSnapshot();
    let meta: PartitionSnapshotMeta | null = null;
    ({ meta } = await decodePartitionRest(Readable.from(current.rest as AsyncIterable<Buffer>), async () => {}));
    assert.ok(meta.active !== null && (meta.active.chunkCount ?? 0) > 0);
    const v1: PartitionSnapshotMeta = { ...meta, version: 1, active: { fileName: meta.active.fileName, lengthBytes: meta.active.lengthBytes } };
    const oldStore = new MemoryObjectStore();
    await repositoryOf(oldStore, 1).write(snapshotGroup, {
      index: current.index, term: current.term, membership: current.membership,
      pieces: (current.pieces ?? []).filter((p) => parseActiveChunkPieceName(p.name) === null),
      rest: Readable.from(encodePartitionRest(v1, join(r.dir, v1.active!.fileName))),
    });
    const fromV1 = await restoreInto('restored-v1', oldStore);
    assert.deepEqual(segmentFiles(fromV1), segmentFiles(r.dir), 'a version-1 snapshot restores byte-exact');
  } finally {
    await r.close();
    cleanup();
  }
});

/**
 * Produce 300, snapshot at I, produce 50 more (the checkpoint then covers C = I + 50), compact, produce 150 more,
 * restart: the host must replay only from I + 1, entries <= C are skipped, the rest match the log, nothing is appended
 * twice. With small WAL segments the compaction also lets the WAL delete segments.
 */
async function compactThenRestart(walSegmentBytes: number, expectWalShrink: boolean): Promise<void> {
  const { dir: base, cleanup } = tempDir();
  const store = new MemoryObjectStore();
  const network = new MemoryNetwork(2);
  let r = await startReplica({ node: 1, voters: [1], network, baseDir: base, store, walSegmentBytes });
  try {
    for (let i = 0; i < 300; i++) await propose([r], entryData(plainBatch(value(i))));
    const content = await r.source.createSnapshot();
    await repositoryOf(store, 1).write(snapshotGroup, content);
    for (let i = 300; i < 350; i++) await propose([r], entryData(plainBatch(value(i))));
    const walDir = join(base, 'node-1', 'raft');
    const walBytes = (): number => readdirSync(walDir).reduce((sum, n) => sum + statSync(join(walDir, n)).size, 0);
    const walBefore = walBytes();
    await r.source.compactLog(content.index);
    assert.equal(r.host.group(group)!.firstIndex, content.index + 1, 'the in-memory Raft log starts after the snapshot');
    for (let i = 350; i < 500; i++) await propose([r], entryData(plainBatch(value(i))));
    if (expectWalShrink) {
      assert.ok(r.wal.stats.segmentsDeleted > 0, 'WAL segments holding only compacted entries are deleted');
      const walAfter = walBytes();
      assert.ok(walAfter < walBefore, `the WAL shrank (${walBefore} -> ${walAfter} bytes) though 150 more entries were written`);
    }
    const checkpoint = await readCheckpoint(r.dir);
    assert.ok(checkpoint !== null && checkpoint.raftIndex >= content.index + 50, 'the checkpoint covers what was applied at compaction');
    const lastIndex = r.partition.appliedPosition().raftIndex;
    const bytesBefore = logBytes(r.dir);
    const epochsBefore = [...r.partition.epochs.all];
    await r.close();

    const events = { bootstraps: 0, failures: 0 };
    r = await startReplica({ node: 1, voters: [1], network, baseDir: base, store, walSegmentBytes, events });
    const restarted = r;
    await waitFor('the replay of the tail', () => restarted.partition.appliedPosition().raftIndex >= lastIndex);
    assert.equal(r.appliedEntries[0]!.index, content.index + 1, 'the host replays from the compaction point, not from index 1');
    assert.equal(r.partition.replayPending, 0);
    assert.equal(events.bootstraps + events.failures, 0, 'the local checkpoint covers the Raft snapshot: nothing is downloaded');
    assert.deepEqual(r.partition.epochs.all, epochsBefore, 'leader epochs from the checkpoint plus the tail equal the ones before');
    assert.ok(logBytes(r.dir).equals(bytesBefore), 'the replay appended nothing (entries <= checkpoint skipped, the rest matched)');
    await propose([r], entryData(plainBatch('after restart')));
    await waitFor('apply', () => restarted.partition.logEndOffset === 501);
    await r.close();
    assert.deepEqual(await allRecords(r.dir), [...Array.from({ length: 500 }, (_, i) => value(i)), 'after restart'], 'every record exactly once, in order');
  } finally {
    await r.close().catch(() => undefined);
    cleanup();
  }
}

test('compaction shrinks the Raft log; a restart after it replays only the tail and appends nothing twice', async () => {
  await compactThenRestart(64 << 20, false);
});

test('compaction lets the WAL delete segments, and a restart after that replays only the tail', async () => {
  await compactThenRestart(16 * 1024, true);
});

test('a follower away while the others compacted catches up via InstallSnapshot from the store (corrupt newest skipped) and ends byte-identical', async () => {
  const { dir: base, cleanup } = tempDir();
  const store = new MemoryObjectStore();
  const network = new MemoryNetwork(3);
  const voters = [1, 2, 3];
  const events3 = { bootstraps: 0, failures: 0 };
  const replicas: Replica[] = [];
  try {
    for (const node of voters) replicas.push(await startReplica({ node, voters, network, baseDir: base, store, events: node === 3 ? events3 : undefined }));
    const [r1, r2, r3] = replicas as [Replica, Replica, Replica];
    await propose(replicas, entryData(plainBatch('before the partition')));
    await waitFor('node 3 applied the first entry', () => r3.partition.logEndOffset === 1);
    network.partition([nodeId(1), nodeId(2)], [nodeId(3)]);
    let seq = 0;
    for (let i = 0; i < 200; i++) await propose([r1, r2], entryData(i % 2 === 0 ? plainBatch(value(i)) : idempotentBatch(4, seq++, value(i))));
    await waitFor('nodes 1 and 2 applied everything', () => r1.partition.logEndOffset === 201 && r2.partition.logEndOffset === 201);
    // Node 1: an early snapshot, then one it compacts to; node 2 snapshots later (a higher index).
    const early = await r1.source.createSnapshot();
    await repositoryOf(store, 1).write(snapshotGroup, early);
    for (let i = 200; i < 230; i++) await propose([r1, r2], entryData(plainBatch(value(i))));
    await waitFor('nodes 1 and 2 applied the second batch', () => r1.partition.logEndOffset === 231 && r2.partition.logEndOffset === 231);
    const compacted1 = await snapshotAndCompact(store, r1);
    await snapshotAndCompact(store, r2);
    // Node 1's newest snapshot is damaged: node 3 must not take node 1's older one (below the reference) but node 2's.
    const newest1 = (await repositoryOf(store, 1).list(snapshotGroup)).at(-1)!;
    const manifest = await repositoryOf(store, 1).readManifest(newest1.manifestKey);
    assert.equal(manifest.index, compacted1);
    const raw = Buffer.from(store.rawBytes(manifest.snapshotKey)!);
    raw[raw.length - 40] ^= 0x01;
    store.setRawBytes(manifest.snapshotKey, raw);

    for (let i = 230; i < 240; i++) await propose([r1, r2], entryData(plainBatch(value(i))));
    network.heal();
    await waitFor('node 3 restored and caught up', () => r3.partition.isCaughtUp() && r3.partition.logEndOffset === 241, 60_000);
    assert.ok(events3.bootstraps >= 1, 'node 3 restored from the object store');
    assert.ok(!r3.appliedEntries.some((e) => e.index > 2 && e.index <= compacted1), 'node 3 never received the compacted entries');
    await propose(replicas, entryData(idempotentBatch(4, seq, 'after the catch-up')));
    await waitFor('every replica applied the last entry', () => replicas.every((r) => r.partition.logEndOffset === 242));
    const reference = logBytes(r1.dir);
    assert.ok(logBytes(r2.dir).equals(reference) && logBytes(r3.dir).equals(reference), 'the three replicas are byte-identical');
    assert.deepEqual(r3.partition.epochs.all, r1.partition.epochs.all, 'the restored replica holds the same leader epochs');
  } finally {
    for (const r of replicas) await r.close().catch(() => undefined);
    cleanup();
  }
});
