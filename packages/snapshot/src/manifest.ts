/**
 * Manifest: the small JSON object that commits a snapshot. It names the framed ".snap" object (the
 * "rest" payload) and every immutable piece (e.g. a sealed segment) the snapshot references, with lengths
 * and CRC32s, so listing, verification and retention never touch payloads. It is written last: a snapshot
 * without a manifest does not exist (it is an orphan from an interrupted attempt).
 *
 * Encoding: one line of JSON, a newline, the CRC32 (decimal) of that JSON line, a newline.
 */
import { crc32 } from 'node:zlib';
import { ChecksumMismatch, CorruptedSnapshot, IncompatibleVersion } from './errors.js';
import type { Compression } from './format.js';
import type { ClusterId, RaftGroupId, RaftIndex, RaftTerm } from './ids.js';
import { clusterId, raftGroupId, raftIndex, raftTerm } from './ids.js';
import type { ObjectMetadata } from './object-store.js';

export const MANIFEST_VERSION = 1;

export interface SnapshotPieceRef {
  /** The source's name for the piece (e.g. a segment file name); used on restore. */
  readonly name: string;
  readonly contentId: string;
  readonly key: string;
  readonly lengthBytes: number;
  readonly crc32: number;
}

export interface SnapshotManifest {
  readonly manifestVersion: number;
  readonly cluster: ClusterId;
  readonly raftGroupId: RaftGroupId;
  readonly index: RaftIndex;
  readonly term: RaftTerm;
  readonly createdAtMs: number;
  readonly membership: Buffer;
  readonly compression: Compression;
  /** The framed rest payload and its trailer values. */
  readonly snapshotKey: string;
  readonly snapshotObjectBytes: number;
  readonly storedLength: number;
  readonly uncompressedLength: number;
  readonly crc32: number;
  readonly pieces: readonly SnapshotPieceRef[];
}

export function encodeManifest(manifest: SnapshotManifest): Buffer {
  const line = JSON.stringify({ ...manifest, membership: manifest.membership.toString('base64') });
  return Buffer.from(`${line}\n${crc32(line)}\n`, 'utf8');
}

export function decodeManifest(bytes: Buffer): SnapshotManifest {
  const text = bytes.toString('utf8');
  const match = /^([^\n]*)\n(\d{1,10})\n$/.exec(text);
  if (match === null) throw new CorruptedSnapshot('manifest framing is damaged');
  const line = match[1] as string;
  const expected = Number(match[2]);
  const actual = crc32(line);
  if (expected !== actual) throw new ChecksumMismatch('manifest', expected, actual);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch (error) {
    throw new CorruptedSnapshot('manifest is not valid JSON', { cause: error });
  }
  if (raw.manifestVersion !== MANIFEST_VERSION) throw new IncompatibleVersion(Number(raw.manifestVersion), [MANIFEST_VERSION]);
  try {
    const num = (v: unknown, what: string): number => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(what);
      return v;
    };
    const str = (v: unknown, what: string): string => {
      if (typeof v !== 'string') throw new TypeError(what);
      return v;
    };
    if (raw.compression !== 'gzip' && raw.compression !== 'none') throw new TypeError('compression');
    if (!Array.isArray(raw.pieces)) throw new TypeError('pieces');
    return {
      manifestVersion: MANIFEST_VERSION,
      cluster: clusterId(str(raw.cluster, 'cluster')),
      raftGroupId: raftGroupId(str(raw.raftGroupId, 'raftGroupId')),
      index: raftIndex(num(raw.index, 'index')),
      term: raftTerm(num(raw.term, 'term')),
      createdAtMs: num(raw.createdAtMs, 'createdAtMs'),
      membership: Buffer.from(str(raw.membership, 'membership'), 'base64'),
      compression: raw.compression,
      snapshotKey: str(raw.snapshotKey, 'snapshotKey'),
      snapshotObjectBytes: num(raw.snapshotObjectBytes, 'snapshotObjectBytes'),
      storedLength: num(raw.storedLength, 'storedLength'),
      uncompressedLength: num(raw.uncompressedLength, 'uncompressedLength'),
      crc32: num(raw.crc32, 'crc32'),
      pieces: (raw.pieces as Record<string, unknown>[]).map((p) => ({
        name: str(p.name, 'piece.name'),
        contentId: str(p.contentId, 'piece.contentId'),
        key: str(p.key, 'piece.key'),
        lengthBytes: num(p.lengthBytes, 'piece.lengthBytes'),
        crc32: num(p.crc32, 'piece.crc32'),
      })),
    };
  } catch (error) {
    throw new CorruptedSnapshot(`manifest field invalid: ${(error as Error).message}`, { cause: error });
  }
}

/** Object metadata of a manifest: what listing and retention need, readable with a HEAD. */
export function manifestObjectMetadata(manifest: SnapshotManifest): ObjectMetadata {
  return {
    'tributary-kind': 'manifest',
    'tributary-group': manifest.raftGroupId,
    'tributary-index': String(manifest.index),
    'tributary-term': String(manifest.term),
    'tributary-stored-length': String(manifest.storedLength),
    'tributary-uncompressed-length': String(manifest.uncompressedLength),
    'tributary-crc32': String(manifest.crc32),
    'tributary-pieces': String(manifest.pieces.length),
    'tributary-pieces-bytes': String(manifest.pieces.reduce((sum, p) => sum + p.lengthBytes, 0)),
    'tributary-created-at-ms': String(manifest.createdAtMs),
  };
}
