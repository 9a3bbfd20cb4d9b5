/**
 * Record batches, magic v2 (the only format this project stores or serves).
 *
 * Produce/fetch paths only touch the 61-byte batch header: readBatchHeader, validateRecordBatches (framing,
 * magic, CRC-32C), setBaseOffset / setPartitionLeaderEpoch (in place; the CRC does not cover them).
 * encodeRecordBatch / decodeRecordBatch build and parse individual records and exist for tests and tools.
 *
 * Layout: baseOffset@0 int64, batchLength@8 int32 (bytes after this field), partitionLeaderEpoch@12 int32,
 * magic@16 int8, crc@17 uint32 (CRC-32C of bytes 21..end), attributes@21 int16, lastOffsetDelta@23 int32,
 * baseTimestamp@27 int64, maxTimestamp@35 int64, producerId@43 int64, producerEpoch@51 int16,
 * baseSequence@53 int32, recordCount@57 int32, records@61.
 */
import { gzipSync, gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { ErrorCode } from './error-codes.js';
import { ProtocolError } from './errors.js';
import { Reader, Writer, varintSize, varlongSize, utf8Length } from './primitives.js';

export const BATCH_HEADER_BYTES = 61;
/** Bytes before the CRC-covered region starts (baseOffset..crc). */
const CRC_COVERED_FROM = 21;
/** Smallest batch: the header with zero records. */
const BATCH_OVERHEAD_AFTER_LENGTH = BATCH_HEADER_BYTES - 12;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;
const compressionNames: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_TYPE = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/** CRC-32C (Castagnoli), native. */
export function crc32c(buf: Uint8Array, initialState?: number): number {
  return nativeCrc32c(buf, initialState) >>> 0;
}

export interface BatchInfo {
  /** Position of the batch in the buffer it was read from. */
  position: number;
  /** Whole batch size in bytes (batchLength + 12). */
  sizeBytes: number;
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: number;
  /** 0 = CreateTime, 1 = LogAppendTime. */
  timestampType: 0 | 1;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

function int64At(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

function writeInt64At(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 0x1_0000_0000, pos + 4);
}

/**
 * Parses the v2 header of the batch at `offset`. Throws ProtocolError when fewer than 61 bytes remain or
 * the magic byte is not 2 (use validateRecordBatches for a non-throwing check of a whole record set).
 */
export function readBatchHeader(buf: Buffer, offset = 0): BatchInfo {
  if (buf.length - offset < BATCH_HEADER_BYTES) {
    throw new ProtocolError(`record batch header truncated at ${offset}: ${buf.length - offset} bytes`);
  }
  const magic = buf.readInt8(offset + 16);
  if (magic !== 2) throw new ProtocolError(`unsupported record batch magic ${magic} at ${offset}`);
  const batchLength = buf.readInt32BE(offset + 8);
  const attributes = buf.readInt16BE(offset + 21);
  return {
    position: offset,
    sizeBytes: batchLength + 12,
    baseOffset: int64At(buf, offset),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(offset + 12),
    magic,
    crc: buf.readUInt32BE(offset + 17),
    attributes,
    compression: attributes & ATTR_COMPRESSION_MASK,
    timestampType: attributes & ATTR_TIMESTAMP_TYPE ? 1 : 0,
    isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTR_CONTROL) !== 0,
    lastOffsetDelta: buf.readInt32BE(offset + 23),
    baseTimestamp: int64At(buf, offset + 27),
    maxTimestamp: int64At(buf, offset + 35),
    producerId: int64At(buf, offset + 43),
    producerEpoch: buf.readInt16BE(offset + 51),
    baseSequence: buf.readInt32BE(offset + 53),
    recordCount: buf.readInt32BE(offset + 57),
  };
}

export type ValidateResult =
  | { ok: true; batches: BatchInfo[] }
  | { ok: false; errorCode: number; message: string };

/**
 * Checks a produced record set batch by batch without touching individual records:
 * - framing (each batch fits, length >= header) and partial trailing batches -> CORRUPT_MESSAGE
 * - magic 0/1 (legacy message sets) -> INVALID_RECORD (as Kafka answers Produce v3+ carrying them)
 * - any other magic -> CORRUPT_MESSAGE
 * - CRC-32C mismatch -> CORRUPT_MESSAGE
 * - compression codec 5..7 -> UNSUPPORTED_COMPRESSION_TYPE
 * - recordCount < 1 or lastOffsetDelta != recordCount - 1 -> INVALID_RECORD
 * An empty buffer yields { ok: true, batches: [] }; whether that (or more than one batch) is acceptable is
 * the caller's decision (Kafka requires exactly one batch per partition in Produce v3+).
 */
export function validateRecordBatches(records: Buffer): ValidateResult {
  const batches: BatchInfo[] = [];
  let pos = 0;
  while (pos < records.length) {
    const remaining = records.length - pos;
    if (remaining < 17) {
      return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: `truncated record batch at ${pos} (${remaining} bytes)` };
    }
    const batchLength = records.readInt32BE(pos + 8);
    const magic = records.readInt8(pos + 16);
    if (magic === 0 || magic === 1) {
      return {
        ok: false,
        errorCode: ErrorCode.INVALID_RECORD,
        message: `legacy message format (magic ${magic}) is not supported; record batches must use magic 2`,
      };
    }
    if (magic !== 2) {
      return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: `unknown record batch magic ${magic} at ${pos}` };
    }
    if (batchLength < BATCH_OVERHEAD_AFTER_LENGTH) {
      return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: `record batch length ${batchLength} at ${pos} is too small` };
    }
    if (batchLength + 12 > remaining) {
      return {
        ok: false,
        errorCode: ErrorCode.CORRUPT_MESSAGE,
        message: `record batch at ${pos} declares ${batchLength + 12} bytes but only ${remaining} remain`,
      };
    }
    const end = pos + 12 + batchLength;
    const storedCrc = records.readUInt32BE(pos + 17);
    const actualCrc = crc32c(records.subarray(pos + CRC_COVERED_FROM, end));
    if (storedCrc !== actualCrc) {
      return {
        ok: false,
        errorCode: ErrorCode.CORRUPT_MESSAGE,
        message: `record batch at ${pos} failed CRC-32C check (stored ${storedCrc}, computed ${actualCrc})`,
      };
    }
    const info = readBatchHeader(records, pos);
    if (info.compression > Compression.zstd) {
      return { ok: false, errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message: `unknown compression codec ${info.compression}` };
    }
    if (info.recordCount < 1) {
      return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: `record batch at ${pos} has no records` };
    }
    if (info.lastOffsetDelta !== info.recordCount - 1) {
      return {
        ok: false,
        errorCode: ErrorCode.INVALID_RECORD,
        message: `record batch at ${pos}: lastOffsetDelta ${info.lastOffsetDelta} does not match recordCount ${info.recordCount}`,
      };
    }
    batches.push(info);
    pos = end;
  }
  return { ok: true, batches };
}

/** Overwrites the baseOffset of the batch at batchPosition (not covered by the CRC). */
export function setBaseOffset(buf: Buffer, batchPosition: number, offset: number): void {
  writeInt64At(buf, batchPosition, offset);
}

/** Overwrites the partitionLeaderEpoch of the batch at batchPosition (not covered by the CRC). */
export function setPartitionLeaderEpoch(buf: Buffer, batchPosition: number, epoch: number): void {
  buf.writeInt32BE(epoch, batchPosition + 12);
}

// ---------------------------------------------------------------- records (tests and tools)

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Absolute timestamp in ms (default: the batch's baseTimestamp). */
  timestamp?: number;
}

export interface EncodeBatchOptions {
  records: RecordInput[];
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: CompressionName;
  timestampType?: 0 | 1;
  isTransactional?: boolean;
  isControl?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Default: first record's timestamp, else now. */
  baseTimestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedBatch extends BatchInfo {
  records: DecodedRecord[];
}

interface ZstdZlib {
  zstdCompressSync?: (buf: Buffer) => Buffer;
  zstdDecompressSync?: (buf: Buffer) => Buffer;
}

function compress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return gzipSync(data);
    case Compression.zstd: {
      const z = zlib as unknown as ZstdZlib;
      if (z.zstdCompressSync) return z.zstdCompressSync(data);
      break;
    }
  }
  throw new ProtocolError(`compression '${compressionNames[codec] ?? codec}' is not supported by this build`);
}

function decompress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case Compression.none:
      return data;
    case Compression.gzip:
      try {
        return gunzipSync(data);
      } catch (err) {
        throw new ProtocolError(`gzip decompression failed: ${(err as Error).message}`);
      }
    case Compression.zstd: {
      const z = zlib as unknown as ZstdZlib;
      if (z.zstdDecompressSync) {
        try {
          return z.zstdDecompressSync(data);
        } catch (err) {
          throw new ProtocolError(`zstd decompression failed: ${(err as Error).message}`);
        }
      }
      break;
    }
  }
  throw new ProtocolError(`decompression of '${compressionNames[codec] ?? codec}' is not supported by this build`);
}

function recordBodySize(rec: RecordInput, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta);
  size += rec.key ? varintSize(rec.key.length) + rec.key.length : 1;
  size += rec.value ? varintSize(rec.value.length) + rec.value.length : 1;
  const headers = rec.headers ?? [];
  size += varintSize(headers.length);
  for (const h of headers) {
    const keyLen = utf8Length(h.key);
    size += varintSize(keyLen) + keyLen;
    size += h.value ? varintSize(h.value.length) + h.value.length : 1;
  }
  return size;
}

/** Builds one v2 record batch (with a valid CRC-32C). */
export function encodeRecordBatch(options: EncodeBatchOptions): Buffer {
  const { records } = options;
  if (records.length === 0) throw new ProtocolError('a record batch needs at least one record');
  const baseTimestamp = options.baseTimestamp ?? records[0]!.timestamp ?? Date.now();
  let maxTimestamp = -Infinity;
  const sizes: number[] = [];
  let total = 0;
  records.forEach((rec, i) => {
    const ts = rec.timestamp ?? baseTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const body = recordBodySize(rec, ts - baseTimestamp, i);
    sizes.push(body);
    total += varintSize(body) + body;
  });
  const plain = new Writer(Buffer.alloc(total));
  records.forEach((rec, i) => {
    plain.varint(sizes[i]!);
    plain.int8(0);
    plain.varlong((rec.timestamp ?? baseTimestamp) - baseTimestamp);
    plain.varint(i);
    if (rec.key) {
      plain.varint(rec.key.length);
      plain.raw(rec.key);
    } else plain.varint(-1);
    if (rec.value) {
      plain.varint(rec.value.length);
      plain.raw(rec.value);
    } else plain.varint(-1);
    const headers = rec.headers ?? [];
    plain.varint(headers.length);
    for (const h of headers) {
      const key = Buffer.from(h.key, 'utf8');
      plain.varint(key.length);
      plain.raw(key);
      if (h.value) {
        plain.varint(h.value.length);
        plain.raw(h.value);
      } else plain.varint(-1);
    }
  });
  const codec = Compression[options.compression ?? 'none'];
  const payload = compress(codec, plain.buf);
  const attributes =
    codec |
    (options.timestampType === 1 ? ATTR_TIMESTAMP_TYPE : 0) |
    (options.isTransactional ? ATTR_TRANSACTIONAL : 0) |
    (options.isControl ? ATTR_CONTROL : 0);
  const out = Buffer.alloc(BATCH_HEADER_BYTES + payload.length);
  writeInt64At(out, 0, options.baseOffset ?? 0);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt32BE(options.partitionLeaderEpoch ?? -1, 12);
  out.writeInt8(2, 16);
  out.writeInt16BE(attributes, 21);
  out.writeInt32BE(records.length - 1, 23);
  writeInt64At(out, 27, baseTimestamp);
  writeInt64At(out, 35, maxTimestamp);
  writeInt64At(out, 43, options.producerId ?? -1);
  out.writeInt16BE(options.producerEpoch ?? -1, 51);
  out.writeInt32BE(options.baseSequence ?? -1, 53);
  out.writeInt32BE(records.length, 57);
  payload.copy(out, BATCH_HEADER_BYTES);
  out.writeUInt32BE(crc32c(out.subarray(CRC_COVERED_FROM)), 17);
  return out;
}

/**
 * Decodes the batch at `offset` including every record (decompressing gzip; zstd when the runtime has it;
 * snappy/lz4 throw ProtocolError "not supported"). Does not verify the CRC (use validateRecordBatches).
 */
export function decodeRecordBatch(buf: Buffer, offset = 0): DecodedBatch {
  const info = readBatchHeader(buf, offset);
  const end = offset + info.sizeBytes;
  if (info.batchLength < BATCH_OVERHEAD_AFTER_LENGTH || end > buf.length) {
    throw new ProtocolError(`record batch at ${offset} declares ${info.sizeBytes} bytes, ${buf.length - offset} available`);
  }
  const payload = decompress(info.compression, buf.subarray(offset + BATCH_HEADER_BYTES, end));
  const r = new Reader(payload);
  const records: DecodedRecord[] = [];
  for (let i = 0; i < info.recordCount; i++) {
    const length = r.varint();
    if (length < 0) throw new ProtocolError(`negative record length ${length}`);
    r.need(length);
    const recordEnd = r.pos + length;
    r.int8(); // record attributes (unused)
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const keyLength = r.varint();
    const key = keyLength < 0 ? null : readSlice(r, keyLength);
    const valueLength = r.varint();
    const value = valueLength < 0 ? null : readSlice(r, valueLength);
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > r.remaining) throw new ProtocolError(`invalid header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hk = r.varint();
      if (hk < 0) throw new ProtocolError('null record header key');
      const headerKey = readSlice(r, hk).toString('utf8');
      const hv = r.varint();
      headers.push({ key: headerKey, value: hv < 0 ? null : readSlice(r, hv) });
    }
    if (r.pos !== recordEnd) throw new ProtocolError(`record ${i} length ${length} does not match its contents`);
    records.push({
      offset: info.baseOffset + offsetDelta,
      timestamp: info.timestampType === 1 ? info.maxTimestamp : info.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
  return { ...info, records };
}

function readSlice(r: Reader, length: number): Buffer {
  r.need(length);
  const v = r.buf.subarray(r.pos, r.pos + length);
  r.pos += length;
  return v;
}
