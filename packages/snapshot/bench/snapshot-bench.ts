/**
 * Snapshot benchmark: creation time and size, and restore time, for a synthetic state of N entries of
 * 1 KiB (default 100,000 = ~98 MiB), against the local-directory store and a real SeaweedFS (if installed).
 * Also measures an incremental snapshot: the same state as sealed 16 MiB pieces, snapshotted twice with a
 * few new entries, to show what a later snapshot uploads.
 *
 *   npx tsc -b packages/snapshot && node packages/snapshot/dist/bench/snapshot-bench.js [--entries 100000] [--store local|s3|both]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { clusterId, raftGroupId, raftIndex, raftTerm } from '../src/ids.js';
import type { ObjectStore } from '../src/object-store.js';
import type { SnapshotContent, SnapshotPiece } from '../src/repository.js';
import { SnapshotRepository } from '../src/repository.js';
import type { RestoreReader, SnapshotSink } from '../src/restore.js';
import { restoreLatest } from '../src/restore.js';
import { LocalDirectoryObjectStore } from '../src/stores/local-store.js';
import { S3ObjectStore } from '../src/stores/s3-store.js';
import { SeaweedServer, WEED_INSTALL_HINT, findWeed } from '../test/helpers/seaweedfs.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ENTRY_BYTES = 1024;
const args = process.argv.slice(2);
const entries = Number(argValue('--entries') ?? 100_000);
const which = argValue('--store') ?? 'both';

function argValue(name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

/** 1 MiB of pseudo-random bytes; entries take half their bytes from it (so gzip has real work). */
const pool = (() => {
  const out = Buffer.alloc(1 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out;
})();
const text = Buffer.from('{"user":"u-000000","event":"page_view","path":"/products/42","ua":"Mozilla/5.0"}'.repeat(8)).subarray(0, ENTRY_BYTES / 2 - 8);

function entry(index: number): Buffer {
  const out = Buffer.allocUnsafe(ENTRY_BYTES);
  out.writeBigUInt64BE(BigInt(index), 0);
  text.copy(out, 8);
  const from = (index * 7919) % (pool.length - ENTRY_BYTES);
  pool.copy(out, 8 + text.length, from, from + (ENTRY_BYTES - 8 - text.length));
  return out;
}

/** Streams entries [from, to) in 256-entry chunks. */
function entryStream(from: number, to: number): Readable {
  let next = from;
  return new Readable({
    read() {
      if (next >= to) {
        this.push(null);
        return;
      }
      const n = Math.min(256, to - next);
      const chunk = Buffer.allocUnsafe(n * ENTRY_BYTES);
      for (let i = 0; i < n; i++) entry(next + i).copy(chunk, i * ENTRY_BYTES);
      next += n;
      this.push(chunk);
    },
  });
}

/** Restores by parsing every entry and checking the index sequence (what a real sink would do). */
class CountingSink implements SnapshotSink {
  entries = 0;
  async restore(reader: RestoreReader): Promise<void> {
    let expected = 0;
    let carry = Buffer.alloc(0);
    const consume = async (stream: Readable) => {
      await pipeline(
        stream,
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
            let at = 0;
            for (; at + ENTRY_BYTES <= buf.length; at += ENTRY_BYTES) {
              if (Number(buf.readBigUInt64BE(at)) !== expected) {
                callback(new Error(`entry ${expected} out of order`));
                return;
              }
              expected += 1;
            }
            buf = buf.subarray(at);
            carry = Buffer.from(buf);
            callback();
          },
        }),
      );
    };
    for (const piece of reader.manifest.pieces) await consume(await reader.openPiece(piece));
    await consume(await reader.openRest());
    this.entries = expected;
  }
}

function pieces(count: number, perPiece: number): SnapshotPiece[] {
  const out: SnapshotPiece[] = [];
  for (let from = 0; from + perPiece <= count; from += perPiece) {
    out.push({ name: `segment-${from}`, contentId: `seg-${from}-${perPiece}`, lengthBytes: perPiece * ENTRY_BYTES, open: () => entryStream(from, from + perPiece) });
  }
  return out;
}

interface Row {
  store: string;
  scenario: string;
  entries: number;
  createMs: number;
  uploadedMiB: number;
  storedMiB: number;
  restoreMs: number;
}

async function runOn(storeName: string, store: ObjectStore): Promise<Row[]> {
  const rows: Row[] = [];
  const repository = new SnapshotRepository({ store, cluster: clusterId('bench') });
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;

  // 1) Whole state in one gzip-compressed payload.
  const full = raftGroupId('full');
  let t0 = performance.now();
  const written = await repository.write(full, { index: raftIndex(entries), term: raftTerm(1), membership: Buffer.from('1,2,3'), rest: entryStream(0, entries) });
  const createMs = performance.now() - t0;
  t0 = performance.now();
  const sink = new CountingSink();
  await restoreLatest(repository, full, sink);
  const restoreMs = performance.now() - t0;
  if (sink.entries !== entries) throw new Error(`restored ${sink.entries} of ${entries} entries`);
  rows.push({ store: storeName, scenario: 'full (gzip)', entries, createMs, uploadedMiB: mib(written.bytesUploaded), storedMiB: mib(written.manifest.snapshotObjectBytes), restoreMs });

  // 2) Incremental: sealed 16 MiB pieces + a small rest; then a second snapshot after 1,000 more entries.
  const inc = raftGroupId('incremental');
  const perPiece = 16 * 1024;
  const sealed = Math.floor(entries / perPiece) * perPiece;
  const contentAt = (total: number): SnapshotContent => ({
    index: raftIndex(total),
    term: raftTerm(1),
    membership: Buffer.from('1,2,3'),
    pieces: pieces(total, perPiece),
    rest: entryStream(Math.floor(total / perPiece) * perPiece, total),
  });
  t0 = performance.now();
  const first = await repository.write(inc, contentAt(entries));
  const firstMs = performance.now() - t0;
  rows.push({ store: storeName, scenario: `incremental #1 (${first.piecesUploaded} pieces)`, entries, createMs: firstMs, uploadedMiB: mib(first.bytesUploaded), storedMiB: mib(first.bytesUploaded), restoreMs: NaN });
  t0 = performance.now();
  const second = await repository.write(inc, contentAt(entries + 1000));
  const secondMs = performance.now() - t0;
  t0 = performance.now();
  const incSink = new CountingSink();
  await restoreLatest(repository, inc, incSink);
  const incRestoreMs = performance.now() - t0;
  if (incSink.entries !== entries + 1000) throw new Error(`restored ${incSink.entries} of ${entries + 1000} entries`);
  rows.push({
    store: storeName,
    scenario: `incremental #2 (+1000 entries, ${second.piecesReused} reused)`,
    entries: entries + 1000,
    createMs: secondMs,
    uploadedMiB: mib(second.bytesUploaded),
    storedMiB: mib(second.manifest.snapshotObjectBytes + sealed * ENTRY_BYTES),
    restoreMs: incRestoreMs,
  });
  return rows;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'tributary-snapshot-bench-'));
  try {
    if (which === 'local' || which === 'both') rows.push(...(await runOn('local dir', new LocalDirectoryObjectStore(join(dir, 'store')))));
    if (which === 's3' || which === 'both') {
      const weed = findWeed();
      if (weed === null) {
        console.error(`skipping SeaweedFS: ${WEED_INSTALL_HINT}`);
      } else {
        const server = await SeaweedServer.start(weed, join(dir, 'seaweedfs'));
        const store = new S3ObjectStore({
          bucket: 'snapshot-bench',
          endpoint: server.endpoint,
          credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
        });
        try {
          for (let attempt = 0; ; attempt++) {
            try {
              await store.ensureBucket();
              break;
            } catch (error) {
              if (attempt > 100) throw error;
              await new Promise((resolve) => setTimeout(resolve, 200));
            }
          }
          rows.push(...(await runOn('SeaweedFS (S3)', store)));
        } finally {
          store.close();
          await server.stop();
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`snapshot benchmark: ${entries} entries x ${ENTRY_BYTES} B = ${((entries * ENTRY_BYTES) / 1048576).toFixed(1)} MiB state, node ${process.version}`);
  console.log('| store | scenario | entries | create (s) | uploaded (MiB) | stored (MiB) | restore (s) |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const restore = Number.isNaN(r.restoreMs) ? '-' : (r.restoreMs / 1000).toFixed(2);
    console.log(`| ${r.store} | ${r.scenario} | ${r.entries} | ${(r.createMs / 1000).toFixed(2)} | ${r.uploadedMiB} | ${r.storedMiB} | ${restore} |`);
  }
}

await main();
