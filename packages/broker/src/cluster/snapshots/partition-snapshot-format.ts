// What a partition snapshot holds in the object store. Pieces: the sealed segment files and their index files,
// unchanged (immutable, so a segment is uploaded once and referenced by every later snapshot). Rest payload:
//
//   u32 JSON length | JSON PartitionSnapshotMeta | the active segment's bytes up to the log end at the snapshot
//
// The segment files are exactly what the log wrote (replicas' logs are byte-identical), so a restored directory is
// a valid partition log: the sealed segments (restored with their index files, below the recovery point) are trusted
// at open like any fsynced segment, only the active one is scanned (which also checks its batch CRCs).
import { createReadStream } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import { CorruptedSnapshot } from '@tributary/snapshot';
import type { ProducerStateSnapshot } from '../../partitions/producer-state.js';

const META_VERSION = 1;
/** A JSON header larger than this is not one we wrote (producer state of thousands of producers stays far below). */
const META_BYTES_MAX = 64 << 20;

export interface PartitionSnapshotMeta {
  readonly version: 1;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly logStartOffset: number;
  readonly nextOffset: number;
  /** The segment whose bytes follow the JSON (null: the log was empty). */
  readonly active: { readonly fileName: string; readonly lengthBytes: number } | null;
  readonly producers: ProducerStateSnapshot;
  /** Leader epoch -> first offset of the log below nextOffset. */
  readonly epochs?: readonly { readonly epoch: number; readonly startOffset: number }[];
}

const SEGMENT_FILE = /^(\d{20})\.log$/;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

/** A sealed segment's index files (written when it is sealed, never changed after). */
export function segmentIndexFileNames(baseOffset: number): [string, string] {
  const stem = String(baseOffset).padStart(20, '0');
  return [`${stem}.index`, `${stem}.timeindex`];
}

const PIECE_FILE = /^\d{20}\.(log|index|timeindex)$/;

/** Whether a snapshot piece name is one a partition snapshot holds (a segment or one of its index files). */
export function isPartitionPieceName(name: string): boolean {
  return PIECE_FILE.test(name);
}

export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_FILE.exec(name);
  if (m === null) return null;
  const base = Number(m[1]);
  return Number.isSafeInteger(base) ? base : null;
}

/** The rest payload: header, then `activeBytes` streamed (never whole in memory). */
export async function* encodePartitionRest(meta: PartitionSnapshotMeta, activePath: string | null): AsyncGenerator<Buffer> {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  yield Buffer.concat([head, json]);
  if (meta.active === null || meta.active.lengthBytes === 0 || activePath === null) return;
  let sent = 0;
  for await (const chunk of createReadStream(activePath, { start: 0, end: meta.active.lengthBytes - 1, highWaterMark: 256 * 1024 })) {
    sent += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (sent !== meta.active.lengthBytes) throw new Error(`active segment ${activePath} ended at ${sent} of ${meta.active.lengthBytes} bytes`);
}

/**
 * Splits a rest payload: resolves the meta once its header is read, and hands every following byte to `onTail`
 * (awaited, so the caller can write it out with backpressure). Resolves when the stream ended cleanly.
 */
export async function decodePartitionRest(stream: Readable, onTail: (meta: PartitionSnapshotMeta, chunk: Buffer) => Promise<void>): Promise<{ meta: PartitionSnapshotMeta; tailBytes: number }> {
  let pending = Buffer.alloc(0);
  let meta: PartitionSnapshotMeta | null = null;
  let tailBytes = 0;
  for await (const raw of stream) {
    let chunk = raw as Buffer;
    if (meta === null) {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 4) continue;
      const jsonBytes = pending.readUInt32BE(0);
      if (jsonBytes > META_BYTES_MAX) throw new CorruptedSnapshot(`partition snapshot header of ${jsonBytes} bytes`);
      if (pending.length < 4 + jsonBytes) continue;
      meta = parseMeta(pending.subarray(4, 4 + jsonBytes).toString('utf8'));
      chunk = pending.subarray(4 + jsonBytes);
      pending = Buffer.alloc(0);
    }
    if (chunk.length > 0) {
      tailBytes += chunk.length;
      await onTail(meta, chunk);
    }
  }
  if (meta === null) throw new CorruptedSnapshot('partition snapshot payload ended inside its header');
  const expected = meta.active?.lengthBytes ?? 0;
  if (tailBytes !== expected) throw new CorruptedSnapshot(`partition snapshot holds ${tailBytes} active-segment bytes, its header says ${expected}`);
  return { meta, tailBytes };
}

function parseMeta(text: string): PartitionSnapshotMeta {
  let raw: PartitionSnapshotMeta;
  try {
    raw = JSON.parse(text) as PartitionSnapshotMeta;
  } catch {
    throw new CorruptedSnapshot('partition snapshot header is not JSON');
  }
  const count = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (raw.version !== META_VERSION || !count(raw.raftIndex) || !count(raw.raftTerm) || !count(raw.logStartOffset) || !count(raw.nextOffset)) {
    throw new CorruptedSnapshot('malformed partition snapshot header');
  }
  if (raw.active !== null && (parseSegmentFileName(raw.active.fileName) === null || !count(raw.active.lengthBytes))) {
    throw new CorruptedSnapshot('malformed partition snapshot header (active segment)');
  }
  return raw;
}

/** CRC32 of a whole (immutable) file, streamed: part of a sealed segment's content id. */
export async function fileCrc32(path: string): Promise<{ crc32: number; lengthBytes: number }> {
  let crc = 0;
  let lengthBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    crc = crc32(chunk as Buffer, crc);
    lengthBytes += (chunk as Buffer).length;
  }
  return { crc32: crc, lengthBytes };
}
