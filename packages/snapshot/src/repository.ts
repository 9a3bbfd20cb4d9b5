/**
 * SnapshotRepository: snapshots of Raft groups in an ObjectStore. Writes (pieces once, then the framed
 * rest payload, verify, then the manifest as the commit point), lists (manifest keys, numeric order),
 * opens a snapshot for restore with every byte verified, and applies retention without deleting a piece
 * that a kept snapshot references.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ChecksumMismatch, CorruptedSnapshot, LengthMismatch, ObjectNotFound, SnapshotError, SnapshotNotFound } from './errors.js';
import type { Compression, EncodeOptions, PayloadSource, SnapshotTrailer } from './format.js';
import { decodeSnapshot, encodeSnapshot } from './format.js';
import type { ClusterId, RaftGroupId, RaftIndex, RaftTerm } from './ids.js';
import type { SnapshotPosition } from './keys.js';
import { comparePositions, manifestKey, manifestPrefix, parsePositionKey, pieceKey, piecePrefix, snapshotKey, snapshotPrefix } from './keys.js';
import type { SnapshotManifest, SnapshotPieceRef } from './manifest.js';
import { MANIFEST_VERSION, decodeManifest, encodeManifest, manifestObjectMetadata } from './manifest.js';
import type { ObjectStore } from './object-store.js';
import { Crc32Meter } from './verify-stream.js';

/** An immutable piece of a snapshot (e.g. a sealed segment file), uploaded once per content id. */
export interface SnapshotPiece {
  readonly name: string;
  /** Stable id of the bytes (same bytes, same id); becomes part of the object key. */
  readonly contentId: string;
  readonly lengthBytes: number;
  /** Opens the bytes; called once to checksum them and once more if they must be uploaded. */
  open(): Readable | Promise<Readable>;
}

/** What a SnapshotSource produces: the state at (index, term). */
export interface SnapshotContent {
  readonly index: RaftIndex;
  readonly term: RaftTerm;
  readonly membership: Buffer;
  readonly pieces?: readonly SnapshotPiece[];
  /** Everything not in pieces (e.g. a VACUUM INTO copy, producer state, the index<->offset map). */
  readonly rest: PayloadSource;
  /** Called after the upload finished or failed (e.g. to delete a temporary VACUUM INTO file). */
  release?(): Promise<void>;
}

export interface WriteResult {
  readonly manifest: SnapshotManifest;
  readonly manifestKey: string;
  /** Bytes actually sent (rest object + new pieces + manifest); reused pieces cost nothing. */
  readonly bytesUploaded: number;
  readonly piecesUploaded: number;
  readonly piecesReused: number;
}

export interface SnapshotListing extends SnapshotPosition {
  readonly manifestKey: string;
}

export interface RetentionResult {
  readonly kept: SnapshotListing[];
  readonly deletedSnapshots: SnapshotListing[];
  readonly deletedPieceKeys: string[];
  readonly deletedOrphanKeys: string[];
}

export interface RepositoryOptions {
  readonly store: ObjectStore;
  readonly cluster: ClusterId;
  readonly compression?: Compression;
  readonly gzipLevel?: number;
  /** 'full' (default) reads the rest object back and checks its CRC and lengths; 'head' checks sizes only. */
  readonly verify?: 'full' | 'head';
  readonly nowMs?: () => number;
}

export interface OpenedSnapshot {
  readonly manifest: SnapshotManifest;
  /** The verified, decompressed rest payload; errors (typed) if any byte is wrong, possibly at the end. */
  openRest(): Promise<Readable>;
  /** A piece's bytes; errors with LengthMismatch/ChecksumMismatch at the end if they are wrong. */
  openPiece(piece: SnapshotPieceRef): Promise<Readable>;
}

export class SnapshotRepository {
  readonly store: ObjectStore;
  readonly cluster: ClusterId;
  private readonly compression: Compression;
  private readonly encodeOptions: EncodeOptions;
  private readonly verifyMode: 'full' | 'head';
  private readonly nowMs: () => number;

  constructor(options: RepositoryOptions) {
    this.store = options.store;
    this.cluster = options.cluster;
    this.compression = options.compression ?? 'gzip';
    this.encodeOptions = options.gzipLevel === undefined ? {} : { gzipLevel: options.gzipLevel };
    this.verifyMode = options.verify ?? 'full';
    this.nowMs = options.nowMs ?? Date.now;
  }

  // ------------------------------------------------------------------ write

  async write(raftGroup: RaftGroupId, content: SnapshotContent): Promise<WriteResult> {
    try {
      return await this.writeUnguarded(raftGroup, content);
    } catch (error) {
      // Whatever failed, a streamed rest payload (e.g. an open file) must not stay open.
      if (content.rest instanceof Readable) content.rest.destroy();
      throw error;
    }
  }

  private async writeUnguarded(raftGroup: RaftGroupId, content: SnapshotContent): Promise<WriteResult> {
    const position = { index: content.index, term: content.term };
    const names = new Set<string>();
    for (const piece of content.pieces ?? []) {
      if (names.has(piece.name)) throw new RangeError(`duplicate snapshot piece name ${JSON.stringify(piece.name)}`);
      names.add(piece.name);
    }
    // Idempotent: a snapshot already committed at this position is never rewritten (rewriting its rest
    // object under the existing manifest would make it unreadable for a moment).
    const mKey = manifestKey(this.cluster, raftGroup, position);
    if ((await this.store.head(mKey)) !== null) {
      if (content.rest instanceof Readable) content.rest.destroy();
      return { manifest: await this.readManifest(mKey), manifestKey: mKey, bytesUploaded: 0, piecesUploaded: 0, piecesReused: 0 };
    }
    let bytesUploaded = 0;
    let piecesUploaded = 0;
    let piecesReused = 0;
    const pieceRefs: SnapshotPieceRef[] = [];
    const uploadedKeys = new Set<string>();
    for (const piece of content.pieces ?? []) {
      const outcome = await this.uploadPiece(raftGroup, piece);
      pieceRefs.push(outcome.ref);
      if (outcome.uploaded) {
        uploadedKeys.add(outcome.ref.key);
        piecesUploaded += 1;
        bytesUploaded += piece.lengthBytes;
      } else {
        piecesReused += 1;
      }
    }

    const createdAtMs = this.nowMs();
    const key = snapshotKey(this.cluster, raftGroup, position);
    const encoded = encodeSnapshot(
      {
        raftGroupId: raftGroup,
        lastIncludedIndex: content.index,
        lastIncludedTerm: content.term,
        membership: content.membership,
        createdAtMs,
        compression: this.compression,
      },
      content.rest,
      this.encodeOptions,
    );
    const sizeMeter = new Crc32Meter(key);
    try {
      await this.store.put(key, pipeline(encoded.stream, sizeMeter, () => {}), {
        metadata: {
          'tributary-kind': 'snapshot',
          'tributary-group': raftGroup,
          'tributary-index': String(content.index),
          'tributary-term': String(content.term),
          'tributary-compression': this.compression,
          'tributary-created-at-ms': String(createdAtMs),
        },
      });
    } catch (error) {
      // A store that gave up without draining the body must not leave the streams open.
      sizeMeter.destroy();
      encoded.stream.destroy();
      throw error;
    }
    const trailer = encoded.trailer();
    const objectBytes = sizeMeter.lengthBytes;
    bytesUploaded += objectBytes;
    await this.verifySnapshotObject(key, objectBytes, sizeMeter.crc32, trailer);
    for (const ref of pieceRefs) await this.verifyPiece(ref, uploadedKeys.has(ref.key));

    const manifest: SnapshotManifest = {
      manifestVersion: MANIFEST_VERSION,
      cluster: this.cluster,
      raftGroupId: raftGroup,
      index: content.index,
      term: content.term,
      createdAtMs,
      membership: content.membership,
      compression: this.compression,
      snapshotKey: key,
      snapshotObjectBytes: objectBytes,
      storedLength: trailer.storedLength,
      uncompressedLength: trailer.uncompressedLength,
      crc32: trailer.crc32,
      pieces: pieceRefs,
    };
    const manifestBytes = encodeManifest(manifest);
    await this.store.put(mKey, manifestBytes, { metadata: manifestObjectMetadata(manifest) });
    const head = await this.store.head(mKey);
    if (head === null) throw new SnapshotNotFound(`manifest ${mKey} not visible after upload`);
    if (head.sizeBytes !== manifestBytes.length) throw new LengthMismatch(`manifest ${mKey}`, manifestBytes.length, head.sizeBytes);
    bytesUploaded += manifestBytes.length;
    return { manifest, manifestKey: mKey, bytesUploaded, piecesUploaded, piecesReused };
  }

  private async uploadPiece(raftGroup: RaftGroupId, piece: SnapshotPiece): Promise<{ ref: SnapshotPieceRef; uploaded: boolean }> {
    const key = pieceKey(this.cluster, raftGroup, piece.contentId);
    const existing = await this.store.head(key);
    const recordedCrc = existing?.metadata['tributary-crc32'];
    if (existing !== null && existing.sizeBytes === piece.lengthBytes && recordedCrc !== undefined && /^\d+$/.test(recordedCrc)) {
      return { ref: { name: piece.name, contentId: piece.contentId, key, lengthBytes: piece.lengthBytes, crc32: Number(recordedCrc) }, uploaded: false };
    }
    // Pass 1: checksum the (local, immutable) bytes so the CRC can travel as object metadata.
    const probe = new Crc32Meter(`piece ${piece.name}`);
    await finished(pipeline(await piece.open(), probe, () => {}).resume());
    if (probe.lengthBytes !== piece.lengthBytes) throw new LengthMismatch(`piece ${piece.name} (source)`, piece.lengthBytes, probe.lengthBytes);
    const crc = probe.crc32;
    // Pass 2: upload; the meter fails the upload if the bytes changed in between.
    const meter = new Crc32Meter(`piece ${piece.name} (upload)`, { lengthBytes: piece.lengthBytes, crc32: crc });
    await this.store.put(key, pipeline(await piece.open(), meter, () => {}), {
      metadata: {
        'tributary-kind': 'piece',
        'tributary-group': raftGroup,
        'tributary-crc32': String(crc),
        'tributary-length': String(piece.lengthBytes),
      },
    });
    return { ref: { name: piece.name, contentId: piece.contentId, key, lengthBytes: piece.lengthBytes, crc32: crc }, uploaded: true };
  }

  private async verifySnapshotObject(key: string, objectBytes: number, objectCrc: number, trailer: SnapshotTrailer): Promise<void> {
    const head = await this.store.head(key);
    if (head === null) throw new SnapshotNotFound(`snapshot ${key} not visible after upload`);
    if (head.sizeBytes !== objectBytes) throw new LengthMismatch(`snapshot ${key} in store`, objectBytes, head.sizeBytes);
    if (this.verifyMode === 'head') return;
    // Read the stored bytes back: CRC of the whole object against what was sent, and the trailer's own
    // checks (payload CRC and lengths) against the bytes the store holds, not the ones we computed.
    const readBack = new Crc32Meter(`snapshot ${key} read back`, { lengthBytes: objectBytes, crc32: objectCrc });
    const decoded = decodeSnapshot(pipeline(await this.store.get(key), readBack, () => {}));
    await finished(decoded.payload.resume());
    const stored = decoded.trailer();
    if (stored.crc32 !== trailer.crc32) throw new ChecksumMismatch(`snapshot ${key} trailer`, trailer.crc32, stored.crc32);
  }

  /**
   * Every referenced piece must still be there with its size. A piece uploaded by this snapshot is, in
   * 'full' mode, read back and its bytes checked against the CRC computed locally before the upload (not
   * against anything the store reports). Reused pieces were verified when they were first uploaded.
   */
  private async verifyPiece(ref: SnapshotPieceRef, uploadedNow: boolean): Promise<void> {
    const head = await this.store.head(ref.key);
    if (head === null) throw new SnapshotNotFound(`piece ${ref.key} not visible after upload`);
    if (head.sizeBytes !== ref.lengthBytes) throw new LengthMismatch(`piece ${ref.key} in store`, ref.lengthBytes, head.sizeBytes);
    if (!uploadedNow || this.verifyMode !== 'full') return;
    const readBack = new Crc32Meter(`piece ${ref.key} read back`, { lengthBytes: ref.lengthBytes, crc32: ref.crc32 });
    try {
      await finished(pipeline(await this.store.get(ref.key), readBack, () => {}).resume());
    } catch (error) {
      // A damaged piece must not be "reused" by the next attempt: remove it so it is uploaded again.
      if (error instanceof SnapshotError) await this.store.delete(ref.key);
      throw error;
    }
  }

  // ------------------------------------------------------------------ read

  /** Committed snapshots of a group (those with a manifest), oldest first, in numeric index order. */
  async list(raftGroup: RaftGroupId): Promise<SnapshotListing[]> {
    const objects = await this.store.list(manifestPrefix(this.cluster, raftGroup));
    const out: SnapshotListing[] = [];
    for (const object of objects) {
      const position = parsePositionKey(object.key);
      if (position === null || position.kind !== 'json') continue;
      out.push({ index: position.index, term: position.term, manifestKey: object.key });
    }
    return out.sort(comparePositions);
  }

  async readManifest(key: string): Promise<SnapshotManifest> {
    let stream: Readable;
    try {
      stream = await this.store.get(key);
    } catch (error) {
      if (error instanceof ObjectNotFound) throw new SnapshotNotFound(`manifest ${key} not found`, { cause: error });
      throw error;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > 64 * 1024 * 1024) {
        stream.destroy();
        throw new LengthMismatch(`manifest ${key}`, 64 * 1024 * 1024, total);
      }
      chunks.push(chunk as Buffer);
    }
    return decodeManifest(Buffer.concat(chunks));
  }

  /** Opens a committed snapshot; every byte handed out is checked against the manifest and trailer. */
  async open(listing: SnapshotListing | string): Promise<OpenedSnapshot> {
    const manifest = await this.readManifest(typeof listing === 'string' ? listing : listing.manifestKey);
    const store = this.store;
    return {
      manifest,
      async openRest(): Promise<Readable> {
        let raw: Readable;
        try {
          raw = await store.get(manifest.snapshotKey);
        } catch (error) {
          if (error instanceof ObjectNotFound) throw new SnapshotNotFound(`snapshot object ${manifest.snapshotKey} missing`, { cause: error });
          throw error;
        }
        const whole = new Crc32Meter(`snapshot ${manifest.snapshotKey}`);
        const decoded = decodeSnapshot(pipeline(raw, whole, () => {}));
        // Cross-check header and trailer against the manifest that names them.
        const checked = async function* () {
          const header = decoded.header;
          let first = true;
          for await (const chunk of decoded.payload) {
            if (first) {
              first = false;
              checkHeader(await header, manifest);
            }
            yield chunk as Buffer;
          }
          if (first) checkHeader(await header, manifest);
          const trailer = decoded.trailer();
          if (trailer.crc32 !== manifest.crc32) throw new ChecksumMismatch(`snapshot ${manifest.snapshotKey} vs manifest`, manifest.crc32, trailer.crc32);
          if (trailer.storedLength !== manifest.storedLength) throw new LengthMismatch(`snapshot ${manifest.snapshotKey} vs manifest`, manifest.storedLength, trailer.storedLength);
          if (whole.lengthBytes !== manifest.snapshotObjectBytes) throw new LengthMismatch(`snapshot ${manifest.snapshotKey} object`, manifest.snapshotObjectBytes, whole.lengthBytes);
        };
        return Readable.from(checked(), { objectMode: false });
      },
      async openPiece(piece: SnapshotPieceRef): Promise<Readable> {
        let raw: Readable;
        try {
          raw = await store.get(piece.key);
        } catch (error) {
          if (error instanceof ObjectNotFound) throw new SnapshotNotFound(`piece ${piece.key} missing`, { cause: error });
          throw error;
        }
        return pipeline(raw, new Crc32Meter(`piece ${piece.key}`, { lengthBytes: piece.lengthBytes, crc32: piece.crc32 }), () => {});
      },
    };
  }

  // ------------------------------------------------------------------ retention

  /**
   * Keeps the newest `keepCount` committed snapshots of a group. Deletes older manifests first (so a
   * snapshot disappears atomically), then their rest objects, orphaned rest objects older than the newest
   * kept snapshot, and pieces no kept manifest references. If a kept manifest cannot be read, no piece is
   * deleted in this pass (its references are unknown).
   */
  async applyRetention(raftGroup: RaftGroupId, keepCount: number): Promise<RetentionResult> {
    if (!Number.isInteger(keepCount) || keepCount < 1) throw new RangeError(`retention count must be >= 1, got ${keepCount}`);
    const all = await this.list(raftGroup);
    const kept = all.slice(Math.max(0, all.length - keepCount));
    const dropped = all.slice(0, Math.max(0, all.length - keepCount));
    const referenced = new Set<string>();
    const keptSnapshotKeys = new Set<string>();
    let referencesKnown = true;
    for (const listing of kept) {
      keptSnapshotKeys.add(snapshotKey(this.cluster, raftGroup, listing));
      try {
        const manifest = await this.readManifest(listing.manifestKey);
        keptSnapshotKeys.add(manifest.snapshotKey);
        for (const piece of manifest.pieces) referenced.add(piece.key);
      } catch (error) {
        if (!(error instanceof SnapshotError)) throw error;
        referencesKnown = false;
      }
    }
    for (const listing of dropped) {
      await this.store.delete(listing.manifestKey);
      await this.store.delete(snapshotKey(this.cluster, raftGroup, listing));
    }
    const deletedOrphanKeys: string[] = [];
    const newestKept = kept[kept.length - 1];
    if (newestKept !== undefined) {
      for (const object of await this.store.list(snapshotPrefix(this.cluster, raftGroup))) {
        const position = parsePositionKey(object.key);
        if (position === null || keptSnapshotKeys.has(object.key)) continue;
        if (comparePositions(position, newestKept) < 0) {
          await this.store.delete(object.key);
          deletedOrphanKeys.push(object.key);
        }
      }
    }
    const deletedPieceKeys: string[] = [];
    if (referencesKnown && kept.length > 0) {
      for (const object of await this.store.list(piecePrefix(this.cluster, raftGroup))) {
        if (!referenced.has(object.key)) {
          await this.store.delete(object.key);
          deletedPieceKeys.push(object.key);
        }
      }
    }
    return { kept, deletedSnapshots: dropped, deletedPieceKeys, deletedOrphanKeys };
  }
}

function checkHeader(header: { raftGroupId: string; lastIncludedIndex: number; lastIncludedTerm: number }, manifest: SnapshotManifest): void {
  if (
    header.raftGroupId !== manifest.raftGroupId ||
    header.lastIncludedIndex !== manifest.index ||
    header.lastIncludedTerm !== manifest.term
  ) {
    throw new CorruptedSnapshot(
      `snapshot ${manifest.snapshotKey} header (${header.raftGroupId} ${header.lastIncludedIndex}/${header.lastIncludedTerm}) does not match its manifest`,
    );
  }
}
