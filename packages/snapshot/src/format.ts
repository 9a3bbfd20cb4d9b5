/**
 * The snapshot file format (one framed object, written and read as a stream).
 *
 *   header   0  magic "TRSN"                       4 bytes
 *            4  format version (uint16 BE) = 1
 *            6  flags (uint16 BE) = 0               reserved, must be zero
 *            8  header JSON length L (uint32 BE)
 *           12  header JSON (UTF-8, L bytes)        raftGroupId, lastIncludedIndex/Term, membership (base64),
 *                                                   createdAtMs, compression
 *         12+L  header CRC32 (uint32 BE)            over bytes [0, 12+L)
 *   payload      stored bytes (gzip member or raw)
 *   trailer  0  magic "TRSE"                        4 bytes
 *            4  uncompressed length (uint64 BE)
 *           12  stored length (uint64 BE)
 *           20  CRC32 of the stored payload bytes (uint32 BE)
 *
 * Why a trailer: lengths and the CRC are only known after the whole (possibly multi-GiB) payload has
 * streamed through the compressor, and S3 uploads cannot seek back to patch a header. Everything known up
 * front is in the header (so listing/restore can read it from the first bytes); everything known only at
 * the end is in the trailer, and the manifest + object metadata repeat the trailer's values.
 *
 * CRC32 is zlib's (IEEE), from node:zlib, not CRC-32C.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, createGzip, crc32 } from 'node:zlib';
import { ChecksumMismatch, CorruptedSnapshot, IncompatibleVersion, LengthMismatch, SnapshotError } from './errors.js';
import type { RaftGroupId, RaftIndex, RaftTerm } from './ids.js';
import { raftGroupId, raftIndex, raftTerm } from './ids.js';

export const SNAPSHOT_MAGIC = Buffer.from('TRSN', 'ascii');
export const TRAILER_MAGIC = Buffer.from('TRSE', 'ascii');
export const FORMAT_VERSION = 1;
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1];
export const HEADER_PREFIX_BYTES = 12;
export const TRAILER_BYTES = 24;
export const HEADER_JSON_MAX_BYTES = 16 * 1024 * 1024;

export type Compression = 'gzip' | 'none';

export interface SnapshotHeader {
  readonly raftGroupId: RaftGroupId;
  readonly lastIncludedIndex: RaftIndex;
  readonly lastIncludedTerm: RaftTerm;
  /** Opaque to this package (the Raft layer's configuration encoding). */
  readonly membership: Buffer;
  readonly createdAtMs: number;
  readonly compression: Compression;
}

export interface SnapshotTrailer {
  readonly uncompressedLength: number;
  readonly storedLength: number;
  /** CRC32 over the stored (possibly compressed) payload bytes. */
  readonly crc32: number;
}

export type PayloadSource = Buffer | Readable | AsyncIterable<Buffer>;

// ---------------------------------------------------------------- header / trailer codecs

export function encodeHeader(header: SnapshotHeader): Buffer {
  const json = Buffer.from(
    JSON.stringify({
      raftGroupId: header.raftGroupId,
      lastIncludedIndex: header.lastIncludedIndex,
      lastIncludedTerm: header.lastIncludedTerm,
      membership: header.membership.toString('base64'),
      createdAtMs: header.createdAtMs,
      compression: header.compression,
    }),
    'utf8',
  );
  if (json.length > HEADER_JSON_MAX_BYTES) throw new RangeError(`snapshot header too large: ${json.length} bytes`);
  const out = Buffer.alloc(HEADER_PREFIX_BYTES + json.length + 4);
  SNAPSHOT_MAGIC.copy(out, 0);
  out.writeUInt16BE(FORMAT_VERSION, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(json.length, 8);
  json.copy(out, HEADER_PREFIX_BYTES);
  out.writeUInt32BE(crc32(out.subarray(0, HEADER_PREFIX_BYTES + json.length)), HEADER_PREFIX_BYTES + json.length);
  return out;
}

/** Validates the 12-byte prefix and returns the total header length (prefix + JSON + CRC). */
function headerLengthFromPrefix(prefix: Buffer): number {
  if (!prefix.subarray(0, 4).equals(SNAPSHOT_MAGIC)) {
    throw new CorruptedSnapshot(`bad magic ${prefix.subarray(0, 4).toString('hex')} (expected ${SNAPSHOT_MAGIC.toString('hex')})`);
  }
  const version = prefix.readUInt16BE(4);
  if (!SUPPORTED_FORMAT_VERSIONS.includes(version)) throw new IncompatibleVersion(version, SUPPORTED_FORMAT_VERSIONS);
  const flags = prefix.readUInt16BE(6);
  if (flags !== 0) throw new CorruptedSnapshot(`unknown header flags 0x${flags.toString(16)}`);
  const jsonLength = prefix.readUInt32BE(8);
  if (jsonLength > HEADER_JSON_MAX_BYTES) throw new CorruptedSnapshot(`header length ${jsonLength} exceeds ${HEADER_JSON_MAX_BYTES}`);
  return HEADER_PREFIX_BYTES + jsonLength + 4;
}

function parseHeader(bytes: Buffer): SnapshotHeader {
  const jsonEnd = bytes.length - 4;
  const expected = bytes.readUInt32BE(jsonEnd);
  const actual = crc32(bytes.subarray(0, jsonEnd));
  if (expected !== actual) throw new ChecksumMismatch('snapshot header', expected, actual);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.subarray(HEADER_PREFIX_BYTES, jsonEnd).toString('utf8'));
  } catch (error) {
    throw new CorruptedSnapshot('snapshot header is not valid JSON', { cause: error });
  }
  const h = raw as Record<string, unknown>;
  try {
    if (typeof h !== 'object' || h === null) throw new TypeError('not an object');
    if (typeof h.raftGroupId !== 'string') throw new TypeError('raftGroupId');
    if (typeof h.membership !== 'string') throw new TypeError('membership');
    if (typeof h.createdAtMs !== 'number' || !Number.isSafeInteger(h.createdAtMs)) throw new TypeError('createdAtMs');
    if (h.compression !== 'gzip' && h.compression !== 'none') throw new TypeError('compression');
    return {
      raftGroupId: raftGroupId(h.raftGroupId),
      lastIncludedIndex: raftIndex(h.lastIncludedIndex as number),
      lastIncludedTerm: raftTerm(h.lastIncludedTerm as number),
      membership: Buffer.from(h.membership, 'base64'),
      createdAtMs: h.createdAtMs,
      compression: h.compression,
    };
  } catch (error) {
    throw new CorruptedSnapshot(`snapshot header field invalid: ${(error as Error).message}`, { cause: error });
  }
}

export function encodeTrailer(trailer: SnapshotTrailer): Buffer {
  const out = Buffer.alloc(TRAILER_BYTES);
  TRAILER_MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(trailer.uncompressedLength), 4);
  out.writeBigUInt64BE(BigInt(trailer.storedLength), 12);
  out.writeUInt32BE(trailer.crc32 >>> 0, 20);
  return out;
}

export function parseTrailer(bytes: Buffer): SnapshotTrailer {
  if (bytes.length !== TRAILER_BYTES || !bytes.subarray(0, 4).equals(TRAILER_MAGIC)) {
    throw new CorruptedSnapshot('snapshot trailer missing or damaged (truncated object?)');
  }
  const uncompressed = bytes.readBigUInt64BE(4);
  const stored = bytes.readBigUInt64BE(12);
  if (uncompressed > BigInt(Number.MAX_SAFE_INTEGER) || stored > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new LengthMismatch('snapshot trailer length', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1);
  }
  return { uncompressedLength: Number(uncompressed), storedLength: Number(stored), crc32: bytes.readUInt32BE(20) };
}

// ---------------------------------------------------------------- encoding

export interface EncodeOptions {
  /** zlib level 1..9 (default 6). */
  readonly gzipLevel?: number;
}

export interface EncodedSnapshot {
  /** The framed bytes: header, stored payload, trailer. */
  readonly stream: Readable;
  /** Available once `stream` has ended; throws before. */
  trailer(): SnapshotTrailer;
}

function toAsyncIterable(source: PayloadSource): AsyncIterable<Buffer> {
  if (Buffer.isBuffer(source)) {
    return (async function* () {
      if (source.length > 0) yield source;
    })();
  }
  return source as AsyncIterable<Buffer>;
}

/** Streams `payload` into the snapshot format. Memory stays bounded by stream buffers, whatever the size. */
export function encodeSnapshot(header: SnapshotHeader, payload: PayloadSource, options: EncodeOptions = {}): EncodedSnapshot {
  let result: SnapshotTrailer | undefined;
  const headerBytes = encodeHeader(header);
  async function* generate(): AsyncGenerator<Buffer> {
    yield headerBytes;
    let uncompressedLength = 0;
    let storedLength = 0;
    let crc = 0;
    const counted = (async function* () {
      for await (const chunk of toAsyncIterable(payload)) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        uncompressedLength += buffer.length;
        yield buffer;
      }
    })();
    let stored: AsyncIterable<Buffer>;
    if (header.compression === 'none') {
      stored = counted;
    } else {
      const gzip = createGzip({ level: options.gzipLevel ?? 6 });
      // pipeline destroys gzip with the source's error, so the loop below rethrows it.
      stored = pipeline(Readable.from(counted, { objectMode: false }), gzip, () => {});
    }
    for await (const chunk of stored) {
      crc = crc32(chunk, crc);
      storedLength += chunk.length;
      yield chunk;
    }
    result = { uncompressedLength, storedLength, crc32: crc >>> 0 };
    yield encodeTrailer(result);
  }
  return {
    stream: Readable.from(generate(), { objectMode: false, highWaterMark: 64 * 1024 }),
    trailer(): SnapshotTrailer {
      if (result === undefined) throw new Error('snapshot trailer is not known before the stream has ended');
      return result;
    },
  };
}

// ---------------------------------------------------------------- decoding

export interface DecodedSnapshot {
  /** Resolves once the header has been read (that is, once the payload is being consumed). */
  readonly header: Promise<SnapshotHeader>;
  /**
   * The uncompressed payload. It errors with a SnapshotError if anything is wrong, possibly only at the
   * very end (the CRC and lengths live in the trailer): consumers must treat what they received as
   * tentative until the stream has ended without error.
   */
  readonly payload: Readable;
  /** Available once `payload` has ended successfully; throws before. */
  trailer(): SnapshotTrailer;
}

/** Pulls exactly the header off an async iterator; returns it and whatever bytes followed it. */
async function readHeaderFrom(iterator: AsyncIterator<Buffer>): Promise<{ header: SnapshotHeader; rest: Buffer }> {
  let buffered: Buffer = Buffer.alloc(0);
  let needed = HEADER_PREFIX_BYTES;
  let total: number | undefined;
  for (;;) {
    if (buffered.length >= needed) {
      if (total === undefined) {
        total = headerLengthFromPrefix(buffered.subarray(0, HEADER_PREFIX_BYTES));
        needed = total;
        continue;
      }
      return { header: parseHeader(buffered.subarray(0, total)), rest: buffered.subarray(total) };
    }
    const next = await iterator.next();
    if (next.done === true) {
      throw new CorruptedSnapshot(`snapshot truncated inside the header (${buffered.length} of ${needed} bytes)`);
    }
    buffered = buffered.length === 0 ? next.value : Buffer.concat([buffered, next.value]);
  }
}

/** Reads only the header from the start of a stream, then destroys the stream (no payload download). */
export async function readSnapshotHeader(input: Readable): Promise<SnapshotHeader> {
  try {
    return (await readHeaderFrom(input[Symbol.asyncIterator]())).header;
  } finally {
    input.destroy();
  }
}

export function decodeSnapshot(input: Readable | AsyncIterable<Buffer>): DecodedSnapshot {
  let resolveHeader!: (header: SnapshotHeader) => void;
  let rejectHeader!: (error: unknown) => void;
  const header = new Promise<SnapshotHeader>((resolve, reject) => {
    resolveHeader = resolve;
    rejectHeader = reject;
  });
  header.catch(() => {}); // the payload stream carries the same error
  let result: SnapshotTrailer | undefined;

  async function* generate(): AsyncGenerator<Buffer> {
    try {
      yield* decodeAll();
    } finally {
      // Early stop or failure: release the source (e.g. an S3 socket or a file descriptor).
      if (input instanceof Readable) input.destroy();
    }
  }

  async function* decodeAll(): AsyncGenerator<Buffer> {
    const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let parsed: { header: SnapshotHeader; rest: Buffer };
    try {
      parsed = await readHeaderFrom(iterator);
    } catch (error) {
      rejectHeader(error);
      throw error;
    }
    resolveHeader(parsed.header);

    let storedLength = 0;
    let crc = 0;
    let trailerBytes: Buffer | undefined;
    // Yields stored payload bytes, holding back the last TRAILER_BYTES (the trailer) until the input ends.
    const storedPayload = (async function* () {
      let tail = parsed.rest;
      const emit = (bytes: Buffer): Buffer => {
        crc = crc32(bytes, crc);
        storedLength += bytes.length;
        return bytes;
      };
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        const chunk = next.value;
        if (chunk.length >= TRAILER_BYTES) {
          if (tail.length > 0) yield emit(tail);
          if (chunk.length > TRAILER_BYTES) yield emit(chunk.subarray(0, chunk.length - TRAILER_BYTES));
          tail = chunk.subarray(chunk.length - TRAILER_BYTES);
        } else {
          const combined = Buffer.concat([tail, chunk]);
          if (combined.length > TRAILER_BYTES) yield emit(combined.subarray(0, combined.length - TRAILER_BYTES));
          tail = combined.subarray(Math.max(0, combined.length - TRAILER_BYTES));
        }
      }
      if (tail.length > TRAILER_BYTES) {
        yield emit(tail.subarray(0, tail.length - TRAILER_BYTES));
        tail = tail.subarray(tail.length - TRAILER_BYTES);
      }
      trailerBytes = tail;
    })();

    let uncompressedLength = 0;
    if (parsed.header.compression === 'none') {
      for await (const chunk of storedPayload) {
        uncompressedLength += chunk.length;
        yield chunk;
      }
    } else {
      const gunzip = createGunzip();
      const out = pipeline(Readable.from(storedPayload, { objectMode: false }), gunzip, () => {});
      try {
        for await (const chunk of out) {
          uncompressedLength += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      } catch (error) {
        if (error instanceof SnapshotError) throw error;
        throw new CorruptedSnapshot(`snapshot payload does not decompress: ${(error as Error).message}`, { cause: error });
      }
    }
    if (trailerBytes === undefined) throw new CorruptedSnapshot('snapshot payload did not reach its trailer');
    const trailer = parseTrailer(trailerBytes);
    if (trailer.storedLength !== storedLength) throw new LengthMismatch('stored payload', trailer.storedLength, storedLength);
    if (trailer.crc32 !== crc >>> 0) throw new ChecksumMismatch('stored payload', trailer.crc32, crc >>> 0);
    if (trailer.uncompressedLength !== uncompressedLength) {
      throw new LengthMismatch('uncompressed payload', trailer.uncompressedLength, uncompressedLength);
    }
    result = trailer;
  }

  return {
    header,
    payload: Readable.from(generate(), { objectMode: false, highWaterMark: 64 * 1024 }),
    trailer(): SnapshotTrailer {
      if (result === undefined) throw new Error('snapshot trailer is not known before the payload has ended');
      return result;
    },
  };
}

/** Convenience for small snapshots and tests: encode a whole buffer. */
export async function encodeSnapshotToBuffer(header: SnapshotHeader, payload: PayloadSource, options?: EncodeOptions): Promise<Buffer> {
  const encoded = encodeSnapshot(header, payload, options);
  const chunks: Buffer[] = [];
  for await (const chunk of encoded.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Convenience for small snapshots and tests: decode a whole buffer. */
export async function decodeSnapshotFromBuffer(bytes: Buffer): Promise<{ header: SnapshotHeader; payload: Buffer; trailer: SnapshotTrailer }> {
  const decoded = decodeSnapshot(Readable.from([bytes], { objectMode: false }));
  const chunks: Buffer[] = [];
  for await (const chunk of decoded.payload) chunks.push(chunk as Buffer);
  return { header: await decoded.header, payload: Buffer.concat(chunks), trailer: decoded.trailer() };
}
