/**
 * Test-only magic v2 batch encoder/decoder (uncompressed records). The log package must not import
 * @tributary/protocol, so tests build their own batches.
 */
import { crc32c } from '@node-rs/crc32';

export interface TestRecord {
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  /** Record timestamp (ms); defaults to the batch base timestamp. */
  readonly timestampMs?: number;
}

export interface TestBatchSpec {
  readonly records: readonly TestRecord[];
  readonly baseTimestampMs?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  /** attributes field (compression codec bits etc.); records are still written uncompressed. */
  readonly attributes?: number;
}

function zigzagVarint(value: number): number[] {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (raw >= 128) {
    bytes.push((raw % 128) | 0x80);
    raw = Math.floor(raw / 128);
  }
  bytes.push(raw);
  return bytes;
}

function writeInt64(buf: Buffer, at: number, value: number): void {
  buf.writeBigInt64BE(BigInt(value), at);
}

export function makeBatch(spec: TestBatchSpec): Buffer {
  const baseTimestampMs = spec.baseTimestampMs ?? 1_700_000_000_000;
  const parts: Buffer[] = [];
  let maxTimestampMs = baseTimestampMs;
  spec.records.forEach((record, index) => {
    const timestampMs = record.timestampMs ?? baseTimestampMs;
    maxTimestampMs = Math.max(maxTimestampMs, timestampMs);
    const key = record.key ?? null;
    const body = Buffer.concat([
      Buffer.from([0]),
      Buffer.from(zigzagVarint(timestampMs - baseTimestampMs)),
      Buffer.from(zigzagVarint(index)),
      Buffer.from(zigzagVarint(key === null ? -1 : key.length)),
      key ?? Buffer.alloc(0),
      Buffer.from(zigzagVarint(record.value === null ? -1 : record.value.length)),
      record.value ?? Buffer.alloc(0),
      Buffer.from(zigzagVarint(0)),
    ]);
    parts.push(Buffer.from(zigzagVarint(body.length)), body);
  });
  const recordsBytes = Buffer.concat(parts);
  const batch = Buffer.alloc(61 + recordsBytes.length);
  writeInt64(batch, 0, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(spec.attributes ?? 0, 21);
  batch.writeInt32BE(spec.records.length - 1, 23);
  writeInt64(batch, 27, baseTimestampMs);
  writeInt64(batch, 35, maxTimestampMs);
  writeInt64(batch, 43, spec.producerId ?? -1);
  batch.writeInt16BE(spec.producerEpoch ?? -1, 51);
  batch.writeInt32BE(spec.baseSequence ?? -1, 53);
  batch.writeInt32BE(spec.records.length, 57);
  recordsBytes.copy(batch, 61);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/** A batch of `count` records whose values are `${label}-${i}`. */
export function makeValuesBatch(label: string, count: number, baseTimestampMs?: number): Buffer {
  return makeBatch({ records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`${label}-${i}`) })), baseTimestampMs });
}

/** A batch of `count` records with `valueBytes`-byte values filled with `fill`. */
export function makeSizedBatch(count: number, valueBytes: number, fill = 0x61, baseTimestampMs?: number): Buffer {
  const value = Buffer.alloc(valueBytes, fill);
  return makeBatch({ records: Array.from({ length: count }, () => ({ value })), baseTimestampMs });
}

export interface DecodedBatch {
  readonly position: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly attributes: number;
  readonly maxTimestampMs: number;
  readonly crcValid: boolean;
  readonly records: { offset: number; timestampMs: number; value: string | null }[];
}

function readZigZag(buf: Buffer, cursor: { at: number }): number {
  let raw = 0;
  let multiplier = 1;
  for (;;) {
    const byte = buf[cursor.at++]!;
    raw += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

/** Decodes concatenated uncompressed batches (throws on malformed framing). */
export function decodeBatches(bytes: Buffer): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  for (let at = 0; at < bytes.length; ) {
    const total = 12 + bytes.readInt32BE(at + 8);
    if (at + total > bytes.length) throw new Error(`batch at ${at} runs past the end`);
    const batch = bytes.subarray(at, at + total);
    const baseOffset = Number(batch.readBigInt64BE(0));
    const baseTimestampMs = Number(batch.readBigInt64BE(27));
    const count = batch.readInt32BE(57);
    const cursor = { at: 61 };
    const records: DecodedBatch['records'] = [];
    for (let i = 0; i < count; i++) {
      const length = readZigZag(batch, cursor);
      const start = cursor.at;
      cursor.at += 1;
      const timestampDelta = readZigZag(batch, cursor);
      const offsetDelta = readZigZag(batch, cursor);
      const keyLength = readZigZag(batch, cursor);
      if (keyLength > 0) cursor.at += keyLength;
      const valueLength = readZigZag(batch, cursor);
      const value = valueLength < 0 ? null : batch.subarray(cursor.at, cursor.at + valueLength).toString();
      records.push({ offset: baseOffset + offsetDelta, timestampMs: baseTimestampMs + timestampDelta, value });
      cursor.at = start + length;
    }
    out.push({
      position: at,
      baseOffset,
      lastOffset: baseOffset + batch.readInt32BE(23),
      attributes: batch.readInt16BE(21),
      maxTimestampMs: Number(batch.readBigInt64BE(35)),
      crcValid: crc32c(batch.subarray(21)) === batch.readUInt32BE(17),
      records,
    });
    at += total;
  }
  return out;
}
