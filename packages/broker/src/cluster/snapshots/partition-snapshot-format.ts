// What a partition snapshot holds in the object store. Pieces: the sealed segment files and their index files,
// unchanged (immutable, so a segment is uploaded once and referenced by every later snapshot), and (version 2) the
// active segment's full fixed-size chunks, aligned from the segment start: the active segment is append-only, so a
// full chunk never changes and is uploaded once too. Rest payload:
//
//   u32 JSON length | JSON PartitionSnapshotMeta | the active segment's bytes after its last full chunk, up to the
//                                                   log end at the snapshot (version 1: all of its bytes)
//
// Restore rebuilds the active segment as its chunk pieces in index order followed by that tail.
//
// The segment files are exactly what the log wrote (replicas' logs are byte-identical), so a restored directory is
// a valid partition log: the sealed segments (restored with their index files, below the recovery point) are trusted
// at open like any fsynced segment, only the active one is scanned (which also checks its batch CRCs).
import { createReadStream } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import { CorruptedSnapshot } from '@tributary/snapshot';
import type { ProducerStateSnapshot } from '../../partitions/producer-state.js';

/** Version 1 (no chunk pieces: the whole active segment in the rest payload) is still read. */
const META_VERSIONS: readonly number[] = [1, 2];
/** A JSON header larger than this is not one we wrote (producer state of thousands of producers stays far below). */
const META_BYTES_MAX = 64 << 20;

export interface PartitionSnapshotMeta {
  readonly version: 1 | 2;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly logStartOffset: number;
  readonly nextOffset: number;
  /**
   * The active segment (null: the log was empty): `lengthBytes` in all, of which `chunkCount` full chunks of
   * `chunkBytes` are pieces (version 2; absent in version 1 = 0 chunks) and the rest follow the JSON.
   */
  readonly active: { readonly fileName: string; readonly lengthBytes: number; readonly chunkBytes?: number; readonly chunkCount?: number } | null;
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
const CHUNK_PIECE = /^(\d{20}\.log)\.chunk-(\d{6})$/;

/** Whether a snapshot piece name is a file a partition snapshot holds whole (a sealed segment or one of its index files). */
export function isPartitionPieceName(name: string): boolean {
  return PIECE_FILE.test(name);
}

/** The piece name of the active segment's chunk `chunkIndex` (zero-based, from the segment start). */
export function activeChunkPieceName(segmentFileName: string, chunkIndex: number): string {
  return `${segmentFileName}.chunk-${String(chunkIndex).padStart(6, '0')}`;
}

/** The segment and chunk index an active-segment chunk piece name stands for; null for any other name. */
export function parseActiveChunkPieceName(name: string): { segmentFileName: string; chunkIndex: number } | null {
  const m = CHUNK_PIECE.exec(name);
  return m === null ? null : { segmentFileName: m[1]!, chunkIndex: Number(m[2]) };
}

/** Bytes of the active segment in the rest payload (after its chunk pieces). */
export function activeTailBytes(meta: PartitionSnapshotMeta): number {
  if (meta.active === null) return 0;
  return meta.active.lengthBytes - (meta.active.chunkCount ?? 0) * (meta.active.chunkBytes ?? 0);
}

export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_FILE.exec(name);
  if (m === null) return null;
  const base = Number(m[1]);
  return Number.isSafeInteger(base) ? base : null;
}

/** The rest payload: header, then the active segment's tail (after its chunk pieces) streamed (never whole in memory). */
export async function* encodePartitionRest(meta: PartitionSnapshotMeta, activePath: string | null): AsyncGenerator<Buffer> {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  yield Buffer.concat([head, json]);
  const tailBytes = activeTailBytes(meta);
  if (meta.active === null || tailBytes === 0 || activePath === null) return;
  const start = meta.active.lengthBytes - tailBytes;
  let sent = 0;
  for await (const chunk of createReadStream(activePath, { start, end: meta.active.lengthBytes - 1, highWaterMark: 256 * 1024 })) {
    sent += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (sent !== tailBytes) throw new Error(`active segment ${activePath} ended at ${start + sent} of ${meta.active.lengthBytes} bytes`);
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
  const expected = activeTailBytes(meta);
  if (tailBytes !== expected) throw new CorruptedSnapshot(`partition snapshot holds ${tailBytes} active-segment tail bytes, its header says ${expected}`);
  return { meta, tailBytes };
}

function parseMeta(text: string): PartitionSnapshotMeta {
  let raw: PartitionSnapshotMeta;
  try {
    raw = JSON.parse(text) as PartitionSnapshotMeta;
  } catch {
    throw new CorruptedSnapshot('partition snapshot header is not JSON');
  }
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!META_VERSIONS.includes(raw.version) || !count(raw.raftIndex) || !count(raw.raftTerm) || !count(raw.logStartOffset) || !count(raw.nextOffset)) {
    throw new CorruptedSnapshot('malformed partition snapshot header');
  }
  if (raw.active !== null && (parseSegmentFileName(raw.active.fileName) === null || !count(raw.active.lengthBytes))) {
    throw new CorruptedSnapshot('malformed partition snapshot header (active segment)');
  }
  if (raw.active !== null && raw.version >= 2) {
    const { chunkBytes, chunkCount, lengthBytes } = raw.active;
    if (!count(chunkBytes) || !count(chunkCount) || chunkBytes === 0 || chunkBytes * chunkCount > lengthBytes) {
      throw new CorruptedSnapshot('malformed partition snapshot header (active segment chunks)');
    }
  } else if (raw.active !== null && (raw.active.chunkBytes !== undefined || raw.active.chunkCount !== undefined)) {
    throw new CorruptedSnapshot('partition snapshot header of version 1 names active-segment chunks');
  }
  return raw;
}

/**
 * CRC32 of a whole (immutable) file, or of the byte range [start, end] (inclusive) of one, streamed: part of a sealed
 * segment's or an active-segment chunk's content id.
 */
export async function fileCrc32(path: string, range?: { start: number; end: number }): Promise<{ crc32: number; lengthBytes: number }> {
  let crc = 0;
  let lengthBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024, ...range })) {
    crc = crc32(chunk as Buffer, crc);
    lengthBytes += (chunk as Buffer).length;
  }
  return { crc32: crc, lengthBytes };
}
