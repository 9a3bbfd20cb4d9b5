import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotError, SnapshotNotFound } from '../src/errors.js';
import { clusterId, raftGroupId } from '../src/ids.js';
import { comparePositions, manifestKey, parsePositionKey, snapshotKey } from '../src/keys.js';
import type { ObjectStore } from '../src/object-store.js';
import { SnapshotRepository } from '../src/repository.js';
import { restoreGroups, restoreLatest } from '../src/restore.js';
import { DirectoryRestoreSink } from '../src/directory-sink.js';
import { filePiece } from '../src/pieces.js';
import { LocalDirectoryObjectStore } from '../src/stores/local-store.js';
import { MemoryObjectStore } from '../src/stores/memory-store.js';
import { pseudoRandomBytes } from './helpers/fixtures.js';
import { BufferSink, content } from './helpers/memory-group.js';

const cluster = clusterId('test-cluster');
const group = raftGroupId('orders-0');

function repo(store: ObjectStore): SnapshotRepository {
  return new SnapshotRepository({ store, cluster, nowMs: () => 1_700_000_000_000 });
}

test('key layout: zero-padded index, numeric order, parse round trip', () => {
  const key = snapshotKey(cluster, group, { index: 42 as never, term: 3 as never });
  assert.equal(key, 'snapshots/test-cluster/orders-0/00000000000000000042-3.snap');
  assert.equal(manifestKey(cluster, group, { index: 42 as never, term: 3 as never }), 'manifests/test-cluster/orders-0/00000000000000000042-3.json');
  const parsed = ['00000000000000000010-1.json', '00000000000000000009-1.json', '00000000000000000100-2.json'].map((k) => parsePositionKey(`x/${k}`)!);
  assert.deepEqual(parsed.sort(comparePositions).map((p) => p.index), [9, 10, 100]);
  assert.equal(parsePositionKey('x/9-1.json'), null);
  assert.equal(parsePositionKey('x/00000000000000000009-1.json.tmp'), null);
});

for (const [name, makeStore] of [
  ['memory', async () => ({ store: new MemoryObjectStore() as ObjectStore, cleanup: async () => {} })],
  [
    'local directory',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tributary-snapshot-repo-'));
      return { store: new LocalDirectoryObjectStore(dir) as ObjectStore, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
] as const) {
  test(`write, list, restore round trip with pieces (${name} store)`, async (t) => {
    const { store, cleanup } = await makeStore();
    t.after(cleanup);
    const repository = repo(store);
    const segA = pseudoRandomBytes(50_000, 1);
    const segB = pseudoRandomBytes(70_000, 2);
    const rest = pseudoRandomBytes(20_000, 3);
    const written = await repository.write(group, content(100, 2, rest, { '00000.log': segA, '00100.log': segB }));
    assert.equal(written.piecesUploaded, 2);
    assert.equal(written.piecesReused, 0);
    assert.equal(written.manifest.index, 100);
    assert.deepEqual((await repository.list(group)).map((l) => [l.index, l.term]), [[100, 2]]);

    // Incremental: the next snapshot re-references segA and segB and uploads only the new piece.
    const segC = pseudoRandomBytes(40_000, 4);
    const second = await repository.write(group, content(250, 3, pseudoRandomBytes(1000, 5), { '00000.log': segA, '00100.log': segB, '00200.log': segC }));
    assert.equal(second.piecesUploaded, 1);
    assert.equal(second.piecesReused, 2);
    assert.ok(second.bytesUploaded < written.bytesUploaded, `${second.bytesUploaded} < ${written.bytesUploaded}`);

    const sink = new BufferSink();
    const restored = await restoreLatest(repository, group, sink);
    assert.equal(restored.index, 250);
    assert.equal(restored.term, 3);
    assert.ok(sink.committed !== null);
    assert.ok(sink.committed.pieces.get('00200.log')?.equals(segC));
    assert.ok(sink.committed.pieces.get('00000.log')?.equals(segA));
    assert.ok(sink.committed.rest.equals(pseudoRandomBytes(1000, 5)));
  });

  test(`retention keeps the newest N and deletes only unreferenced pieces (${name} store)`, async (t) => {
    const { store, cleanup } = await makeStore();
    t.after(cleanup);
    const repository = repo(store);
    const seg = (n: number) => pseudoRandomBytes(5000 + n, 100 + n);
    await repository.write(group, content(10, 1, Buffer.from('r1'), { A: seg(1), B: seg(2) }));
    await repository.write(group, content(20, 1, Buffer.from('r2'), { A: seg(1), B: seg(2), C: seg(3) }));
    await repository.write(group, content(30, 2, Buffer.from('r3'), { B: seg(2), C: seg(3), D: seg(4) }));
    await repository.write(group, content(40, 2, Buffer.from('r4'), { C: seg(3), D: seg(4), E: seg(5) }));
    // An orphan rest object from an interrupted attempt (no manifest).
    await store.put(snapshotKey(cluster, group, { index: 15 as never, term: 1 as never }), Buffer.from('orphan'));

    const result = await repository.applyRetention(group, 2);
    assert.deepEqual(result.kept.map((k) => k.index), [30, 40]);
    assert.deepEqual(result.deletedSnapshots.map((k) => k.index), [10, 20]);
    assert.equal(result.deletedPieceKeys.length, 1, 'only piece A is unreferenced');
    assert.deepEqual(result.deletedOrphanKeys, [snapshotKey(cluster, group, { index: 15 as never, term: 1 as never })]);
    assert.deepEqual((await repository.list(group)).map((l) => l.index), [30, 40]);
    assert.equal((await store.list('snapshots/')).length, 2);
    assert.equal((await store.list('segments/')).length, 4); // B, C, D, E

    // Both kept snapshots still restore completely (their shared pieces survived).
    for (const listing of await repository.list(group)) {
      const opened = await repository.open(listing);
      const sink = new BufferSink();
      await sink.restore(opened);
      assert.equal(sink.committed?.pieces.size, 3);
    }
    // Retention with fewer snapshots than N deletes nothing.
    const again = await repository.applyRetention(group, 5);
    assert.equal(again.deletedSnapshots.length + again.deletedPieceKeys.length, 0);
  });
}

test('a corrupt newest snapshot falls back to the previous one', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  await repository.write(group, content(10, 1, pseudoRandomBytes(5000, 1), { A: pseudoRandomBytes(3000, 2) }));
  await repository.write(group, content(20, 1, pseudoRandomBytes(5000, 3), { A: pseudoRandomBytes(3000, 2) }));
  const newest = snapshotKey(cluster, group, { index: 20 as never, term: 1 as never });
  const bytes = Buffer.from(store.rawBytes(newest)!);
  bytes[bytes.length - 30] ^= 0x10; // inside the stored payload
  store.setRawBytes(newest, bytes);

  const sink = new BufferSink();
  const result = await restoreLatest(repository, group, sink);
  assert.equal(result.index, 10);
  assert.equal(result.skipped.length, 1);
  assert.ok(result.skipped[0]?.error instanceof SnapshotError);
  assert.equal(sink.discards, 1);
  assert.ok(sink.committed?.rest.equals(pseudoRandomBytes(5000, 1)));
});

test('minIndex: the fallback never goes below it (an InstallSnapshot reference cannot use an older state)', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  await repository.write(group, content(10, 1, pseudoRandomBytes(2000, 1)));
  await repository.write(group, content(20, 1, pseudoRandomBytes(2000, 3)));
  const newest = snapshotKey(cluster, group, { index: 20 as never, term: 1 as never });
  const bytes = Buffer.from(store.rawBytes(newest)!);
  bytes[bytes.length - 30] ^= 0x10;
  store.setRawBytes(newest, bytes);

  const atLeast20 = await restoreLatest(repository, group, new BufferSink(), { minIndex: 20 });
  assert.equal(atLeast20.index, null, 'the corrupt 20 is skipped and 10 is below the minimum');
  assert.equal(atLeast20.skipped.length, 1);
  const atLeast10 = await restoreLatest(repository, group, new BufferSink(), { minIndex: 10 });
  assert.equal(atLeast10.index, 10);
});

test('a corrupt or missing piece, or a damaged manifest, is detected and skipped', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  await repository.write(group, content(10, 1, Buffer.from('old'), {}));
  await repository.write(group, content(20, 1, Buffer.from('mid'), { P: pseudoRandomBytes(4000, 7) }));
  await repository.write(group, content(30, 1, Buffer.from('new'), { Q: pseudoRandomBytes(4000, 8) }));
  const [, mid, newest] = await repository.list(group);
  const newestManifest = await repository.readManifest(newest!.manifestKey);
  const midManifest = await repository.readManifest(mid!.manifestKey);
  // Newest: flip a byte of its piece. Mid: damage its manifest.
  const piece = Buffer.from(store.rawBytes(newestManifest.pieces[0]!.key)!);
  piece[100] ^= 1;
  store.setRawBytes(newestManifest.pieces[0]!.key, piece);
  const manifestBytes = Buffer.from(store.rawBytes(mid!.manifestKey)!);
  manifestBytes[20] ^= 1;
  store.setRawBytes(mid!.manifestKey, manifestBytes);
  assert.ok(midManifest.pieces.length === 1);

  const result = await restoreLatest(repository, group, new BufferSink());
  assert.equal(result.index, 10);
  assert.deepEqual(result.skipped.map((s) => s.error.constructor.name), ['ChecksumMismatch', 'ChecksumMismatch']);

  // A missing piece object is SnapshotNotFound.
  await store.delete(newestManifest.pieces[0]!.key);
  const opened = await repository.open(newest!);
  await assert.rejects(opened.openPiece(newestManifest.pieces[0]!), SnapshotNotFound);
  await assert.rejects(repository.open('manifests/test-cluster/orders-0/00000000000000000099-1.json'), SnapshotNotFound);
});

test('no snapshot at all: restore reports null (replay from the leader); a store outage is not corruption', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  const empty = await restoreLatest(repository, group, new BufferSink());
  assert.equal(empty.index, null);
  await repository.write(group, content(10, 1, Buffer.from('x')));
  store.available = false;
  await assert.rejects(restoreLatest(repository, group, new BufferSink()), (error: unknown) => !(error instanceof SnapshotError));
});

test('a manifest whose rest object was swapped for another snapshot is rejected', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  await repository.write(group, content(10, 1, Buffer.from('ten')));
  await repository.write(group, content(20, 1, Buffer.from('twenty')));
  const k10 = snapshotKey(cluster, group, { index: 10 as never, term: 1 as never });
  const k20 = snapshotKey(cluster, group, { index: 20 as never, term: 1 as never });
  store.setRawBytes(k20, Buffer.from(store.rawBytes(k10)!));
  const result = await restoreLatest(repository, group, new BufferSink());
  assert.equal(result.index, 10);
  assert.equal(result.skipped.length, 1);
  assert.ok(result.skipped[0]?.error instanceof SnapshotError);
});

test('restoreGroups restores many groups in parallel, never more than the bound', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  const groups = Array.from({ length: 9 }, (_, i) => raftGroupId(`t-${i}`));
  for (const [i, g] of groups.entries()) await repository.write(g, content(10 + i, 1, Buffer.from(`state ${i}`)));
  let active = 0;
  let maxActive = 0;
  const sinks = groups.map(() => {
    const sink = new BufferSink();
    const restore = sink.restore.bind(sink);
    sink.restore = async (reader) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        await new Promise((resolve) => setImmediate(resolve));
        await restore(reader);
      } finally {
        active -= 1;
      }
    };
    return sink;
  });
  store.failWhen = (operation, key) => (operation === 'list' && key.includes('/t-4/') ? new Error('injected') : undefined);
  const outcomes = await restoreGroups(repository, groups.map((g, i) => ({ raftGroupId: g, sink: sinks[i]! })), 3);
  assert.equal(maxActive, 3);
  assert.equal(outcomes.filter((o) => o.ok).length, 8);
  assert.equal(outcomes[4]?.ok, false);
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.ok) assert.equal(outcome.result.index, 10 + i);
  }
  assert.equal(sinks[2]?.committed?.rest.toString(), 'state 2');
});

test('DirectoryRestoreSink stages, verifies and swaps in files; a corrupt snapshot leaves nothing behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-snapshot-sink-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new LocalDirectoryObjectStore(join(dir, 'store'));
  const repository = repo(store);
  const seg = pseudoRandomBytes(100_000, 21);
  await repository.write(group, content(10, 1, Buffer.from('rest ten'), { '00000000.log': seg }));
  await repository.write(group, content(20, 2, Buffer.from('rest twenty'), { '00000000.log': seg, '00000100.log': Buffer.from('tail') }));
  const target = join(dir, 'restored', 'orders-0');
  await mkdir(target, { recursive: true });
  await writeFile(join(target, 'stale'), 'from an older life');

  // Corrupt the newest rest object on disk: the sink must fall back to snapshot 10.
  const newestFile = join(dir, 'store', 'data', snapshotKey(cluster, group, { index: 20 as never, term: 2 as never }));
  const bytes = await readFile(newestFile);
  bytes[bytes.length - 26] ^= 0x04;
  await writeFile(newestFile, bytes);

  const sink = new DirectoryRestoreSink(target);
  const result = await restoreLatest(repository, group, sink);
  assert.equal(result.index, 10);
  assert.equal(result.skipped.length, 1);
  assert.equal(sink.restored?.index, 10);
  assert.equal((await readFile(join(target, 'rest.bin'))).toString(), 'rest ten');
  assert.ok((await readFile(join(target, 'pieces', '00000000.log'))).equals(seg));
  assert.deepEqual(JSON.parse(await readFile(join(target, 'snapshot.json'), 'utf8')).pieces, ['00000000.log']);
  assert.deepEqual((await readdir(join(dir, 'restored'))).sort(), ['orders-0'], 'no staging or replaced directories left');
  assert.deepEqual(await readdir(target).then((names) => names.sort()), ['pieces', 'rest.bin', 'snapshot.json']);
});

test('listing and retention read manifests only, never rest payloads or pieces', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  for (let i = 1; i <= 4; i++) await repository.write(group, content(i * 10, 1, pseudoRandomBytes(10_000, i), { [`s${i}`]: pseudoRandomBytes(5000, 50 + i) }));
  store.failWhen = (operation, key) => (operation === 'get' && !key.startsWith('manifests/') ? new Error(`payload read: ${key}`) : undefined);
  assert.deepEqual((await repository.list(group)).map((l) => l.index), [10, 20, 30, 40]);
  const result = await repository.applyRetention(group, 2);
  assert.equal(result.deletedSnapshots.length, 2);
  assert.equal(result.deletedPieceKeys.length, 2);
});

test('a flipped bit anywhere in a manifest is detected', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  const written = await repository.write(group, content(10, 1, Buffer.from('x'), { A: Buffer.from('piece') }));
  const good = store.rawBytes(written.manifestKey)!;
  const { decodeManifest } = await import('../src/manifest.js');
  assert.equal(decodeManifest(good).index, 10);
  for (let position = 0; position < good.length; position++) {
    const bad = Buffer.from(good);
    bad[position] ^= 0x02;
    assert.throws(() => decodeManifest(bad), SnapshotError, `flip at ${position}`);
  }
});

test('a store that damages bytes on write is caught by verification; no manifest is committed', async () => {
  class DamagingStore extends MemoryObjectStore {
    damagePrefix = '';
    override async put(key: string, body: Buffer | import('node:stream').Readable, options?: import('../src/object-store.js').PutOptions): Promise<void> {
      await super.put(key, body, options);
      const bytes = this.rawBytes(key);
      if (this.damagePrefix !== '' && key.startsWith(this.damagePrefix) && bytes !== undefined && bytes.length > 100) {
        const damaged = Buffer.from(bytes);
        damaged[damaged.length - 50] ^= 0x20;
        this.setRawBytes(key, damaged);
      }
    }
  }
  const store = new DamagingStore();
  const repository = repo(store);
  store.damagePrefix = 'segments/';
  await assert.rejects(repository.write(group, content(10, 1, Buffer.from('r'), { A: pseudoRandomBytes(5000, 1) })), SnapshotError);
  store.damagePrefix = 'snapshots/';
  await assert.rejects(repository.write(group, content(20, 1, pseudoRandomBytes(5000, 2))), SnapshotError);
  assert.deepEqual(await repository.list(group), [], 'nothing committed');
  store.damagePrefix = '';
  // The retry uploads piece A again (the damaged copy was removed) and the result restores intact.
  const retry = await repository.write(group, content(30, 1, pseudoRandomBytes(5000, 3), { A: pseudoRandomBytes(5000, 1) }));
  assert.equal(retry.piecesUploaded, 1);
  assert.deepEqual((await repository.list(group)).map((l) => l.index), [30]);
  const sink = new BufferSink();
  await restoreLatest(repository, group, sink);
  assert.ok(sink.committed?.pieces.get('A')?.equals(pseudoRandomBytes(5000, 1)));
});

test('writing a position that is already committed is idempotent; duplicate piece names are rejected', async () => {
  const store = new MemoryObjectStore();
  const repository = repo(store);
  const first = await repository.write(group, content(10, 1, Buffer.from('original')));
  const before = Buffer.from(store.rawBytes(first.manifest.snapshotKey)!);
  const again = await repository.write(group, content(10, 1, Buffer.from('different bytes')));
  assert.equal(again.bytesUploaded, 0);
  assert.equal(again.manifest.crc32, first.manifest.crc32);
  assert.ok(store.rawBytes(first.manifest.snapshotKey)!.equals(before), 'committed rest object untouched');
  const duplicate = { ...content(20, 1, Buffer.from('x')), pieces: [...content(0, 0, Buffer.alloc(0), { A: Buffer.from('1') }).pieces!, ...content(0, 0, Buffer.alloc(0), { A: Buffer.from('2') }).pieces!] };
  await assert.rejects(repository.write(group, duplicate), RangeError);
});

test('filePiece: identical files share a content id and are uploaded once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-snapshot-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bytes = pseudoRandomBytes(300_000, 77);
  await writeFile(join(dir, 'a.log'), bytes);
  await writeFile(join(dir, 'b.log'), bytes);
  const a = await filePiece(join(dir, 'a.log'));
  const b = await filePiece(join(dir, 'b.log'));
  assert.equal(a.contentId, b.contentId);
  assert.equal(a.lengthBytes, bytes.length);
  assert.equal(a.name, 'a.log');
  const repository = repo(new MemoryObjectStore());
  const result = await repository.write(group, { ...content(10, 1, Buffer.from('r')), pieces: [a, b] });
  assert.equal(result.piecesUploaded, 1);
  assert.equal(result.piecesReused, 1);
  const sink = new BufferSink();
  await restoreLatest(repository, group, sink);
  assert.ok(sink.committed?.pieces.get('b.log')?.equals(bytes));
});
