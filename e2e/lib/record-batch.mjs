// Kafka record batches (magic v2, uncompressed), written here from the protocol description rather than imported
// from @tributary/protocol: the checker reads the broker's files with its own parser, so it cannot share the broker's
// bugs. Used to parse replica segment files (checker) and to build idempotent batches (raw-protocol tests).
//
// Batch: baseOffset i64, batchLength i32 (bytes after this field), partitionLeaderEpoch i32, magic i8, crc u32
// (CRC-32C of everything from attributes to the end), attributes i16, lastOffsetDelta i32, baseTimestamp i64,
// maxTimestamp i64, producerId i64, producerEpoch i16, baseSequence i32, recordCount i32, records.
// Record: length varint, attributes i8, timestampDelta varlong, offsetDelta varint, key (varint length, -1 = null),
// value (same), headers: count varint, each name (varint length + bytes) and value (varint length, -1 = null).

export const BATCH_HEADER_BYTES = 61;
const CRC_FROM = 21;
const COMPRESSION_MASK = 0x07;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), the checksum of v2 record batches. */
export function crc32c(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC32C_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function zigzagVarint(n) {
  let v = BigInt.asUintN(64, (BigInt(n) << 1n) ^ (BigInt(n) >> 63n));
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

class Reader {
  constructor(buf, at = 0) {
    this.buf = buf;
    this.at = at;
  }
  need(n) {
    if (this.at + n > this.buf.length) throw new Error(`record truncated at byte ${this.at} (need ${n})`);
  }
  varint() {
    let shift = 0n;
    let v = 0n;
    for (;;) {
      this.need(1);
      const b = this.buf[this.at++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
    return Number((v >> 1n) ^ -(v & 1n));
  }
  bytes(n) {
    if (n < 0) return null;
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}

/**
 * Encodes one uncompressed v2 batch. records: [{ key: Buffer|null, value: Buffer|null, headers?: [{name, value}] }].
 * producer: { producerId, producerEpoch, baseSequence } for an idempotent batch (default: none, -1).
 */
export function encodeBatch(records, { baseOffset = 0, partitionLeaderEpoch = -1, timestampMs = Date.now(), producerId = -1, producerEpoch = -1, baseSequence = -1 } = {}) {
  const bodies = records.map((r, i) => {
    const parts = [Buffer.from([0]), zigzagVarint(0), zigzagVarint(i)];
    for (const b of [r.key, r.value]) parts.push(zigzagVarint(b === null ? -1 : b.length), ...(b === null ? [] : [b]));
    const headers = r.headers ?? [];
    parts.push(zigzagVarint(headers.length));
    for (const h of headers) {
      parts.push(zigzagVarint(h.name.length), h.name, zigzagVarint(h.value === null ? -1 : h.value.length));
      if (h.value !== null) parts.push(h.value);
    }
    const body = Buffer.concat(parts);
    return Buffer.concat([zigzagVarint(body.length), body]);
  });
  const recordBytes = Buffer.concat(bodies);
  const header = Buffer.alloc(BATCH_HEADER_BYTES);
  header.writeBigInt64BE(BigInt(baseOffset), 0);
  header.writeInt32BE(BATCH_HEADER_BYTES - 12 + recordBytes.length, 8);
  header.writeInt32BE(partitionLeaderEpoch, 12);
  header.writeInt8(2, 16);
  header.writeInt16BE(0, 21);
  header.writeInt32BE(records.length - 1, 23);
  header.writeBigInt64BE(BigInt(timestampMs), 27);
  header.writeBigInt64BE(BigInt(timestampMs), 35);
  header.writeBigInt64BE(BigInt(producerId), 43);
  header.writeInt16BE(producerEpoch, 51);
  header.writeInt32BE(baseSequence, 53);
  header.writeInt32BE(records.length, 57);
  const batch = Buffer.concat([header, recordBytes]);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_FROM)), 17);
  return batch;
}

/**
 * Parses a sequence of batches as stored in a segment file (or a Fetch response).
 * Returns { batches, error }: `error` describes the first malformed byte (torn tail, bad CRC, bad magic,
 * compressed batch, record count mismatch); the batches before it are returned.
 * Each batch: { baseOffset, lastOffset, partitionLeaderEpoch, producerId, producerEpoch, baseSequence, position,
 * records: [{ offset, key, value, headers }] }.
 */
export function parseBatches(buf) {
  const batches = [];
  let at = 0;
  const fail = (why) => ({ batches, error: `at byte ${at}: ${why}` });
  while (at < buf.length) {
    if (buf.length - at < BATCH_HEADER_BYTES) return fail(`${buf.length - at} trailing bytes, less than a batch header`);
    const baseOffset = Number(buf.readBigInt64BE(at));
    const batchLength = buf.readInt32BE(at + 8);
    const size = 12 + batchLength;
    if (batchLength < BATCH_HEADER_BYTES - 12 || at + size > buf.length) return fail(`batch length ${batchLength} runs past the end (${buf.length - at} bytes left)`);
    const b = buf.subarray(at, at + size);
    const magic = b.readInt8(16);
    if (magic !== 2) return fail(`magic ${magic}, expected 2`);
    const storedCrc = b.readUInt32BE(17);
    const actualCrc = crc32c(b.subarray(CRC_FROM));
    if (storedCrc !== actualCrc) return fail(`CRC-32C mismatch (stored ${storedCrc.toString(16)}, computed ${actualCrc.toString(16)})`);
    const attributes = b.readInt16BE(21);
    if ((attributes & COMPRESSION_MASK) !== 0) return fail(`compressed batch (codec ${attributes & COMPRESSION_MASK}): the checker reads uncompressed batches only`);
    const lastOffsetDelta = b.readInt32BE(23);
    const count = b.readInt32BE(57);
    const batch = {
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      partitionLeaderEpoch: b.readInt32BE(12),
      producerId: Number(b.readBigInt64BE(43)),
      producerEpoch: b.readInt16BE(51),
      baseSequence: b.readInt32BE(53),
      position: at,
      records: [],
    };
    const r = new Reader(b, BATCH_HEADER_BYTES);
    try {
      for (let i = 0; i < count; i++) {
        const length = r.varint();
        const end = r.at + length;
        r.bytes(1); // attributes
        r.varint(); // timestamp delta
        const offsetDelta = r.varint();
        const key = r.bytes(r.varint());
        const value = r.bytes(r.varint());
        const headerCount = r.varint();
        const headers = [];
        for (let h = 0; h < headerCount; h++) {
          const name = r.bytes(r.varint());
          const hv = r.bytes(r.varint());
          headers.push({ name: Buffer.from(name), value: hv === null ? null : Buffer.from(hv) });
        }
        if (r.at !== end) throw new Error(`record ${i} length ${length} does not match its fields`);
        batch.records.push({ offset: baseOffset + offsetDelta, key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), headers });
      }
    } catch (e) {
      return fail(`batch at offset ${baseOffset}: ${e.message}`);
    }
    if (r.at !== b.length) return fail(`batch at offset ${baseOffset}: ${b.length - r.at} bytes after its ${count} records`);
    batches.push(batch);
    at += size;
  }
  return { batches, error: null };
}
