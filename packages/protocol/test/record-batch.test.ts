import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeRecordBatch,
  decodeRecordBatch,
  validateRecordBatches,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  crc32c,
  ErrorCode,
  ProtocolError,
  BATCH_HEADER_BYTES,
} from '../src/index.js';

const sample = () =>
  encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 7,
    records: [
      { key: Buffer.from('k1'), value: Buffer.from('hello'), headers: [{ key: 'h', value: Buffer.from('v') }] },
      { key: null, value: Buffer.from('world'), timestamp: 1_700_000_000_005 },
      { value: null, headers: [{ key: 'nullv', value: null }] },
    ],
  });

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('encode/decode batch round-trip with header fields', () => {
  const batch = sample();
  const info = readBatchHeader(batch);
  assert.equal(info.magic, 2);
  assert.equal(info.recordCount, 3);
  assert.equal(info.lastOffsetDelta, 2);
  assert.equal(info.producerId, 42);
  assert.equal(info.producerEpoch, 3);
  assert.equal(info.baseSequence, 7);
  assert.equal(info.baseTimestamp, 1_700_000_000_000);
  assert.equal(info.maxTimestamp, 1_700_000_000_005);
  assert.equal(info.sizeBytes, batch.length);
  const decoded = decodeRecordBatch(batch);
  assert.deepEqual(
    decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers.length]),
    [
      [0, 1_700_000_000_000, 'k1', 'hello', 1],
      [1, 1_700_000_000_005, null, 'world', 0],
      [2, 1_700_000_000_000, null, null, 1],
    ],
  );
  assert.equal(decoded.records[2]!.headers[0]!.value, null);
});

test('validateRecordBatches accepts several valid batches', () => {
  const both = Buffer.concat([sample(), sample()]);
  const result = validateRecordBatches(both);
  assert.ok(result.ok);
  assert.equal(result.batches.length, 2);
  assert.equal(result.batches[1]!.position, both.length / 2);
});

test('CRC detects any flipped byte in the covered region', () => {
  const batch = sample();
  fc.assert(
    fc.property(fc.integer({ min: 21, max: batch.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, mask) => {
      const copy = Buffer.from(batch);
      copy[pos]! ^= mask;
      const result = validateRecordBatches(copy);
      assert.equal(result.ok, false);
      if (!result.ok) assert.ok([ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_RECORD, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE].includes(result.errorCode as never));
    }),
    { numRuns: 200, seed: 7 },
  );
});

test('patching baseOffset and leader epoch keeps the CRC valid', () => {
  const batch = sample();
  setBaseOffset(batch, 0, 123_456_789_012);
  setPartitionLeaderEpoch(batch, 0, 9);
  const result = validateRecordBatches(batch);
  assert.ok(result.ok);
  assert.equal(result.batches[0]!.baseOffset, 123_456_789_012);
  assert.equal(result.batches[0]!.partitionLeaderEpoch, 9);
  assert.equal(decodeRecordBatch(batch).records[2]!.offset, 123_456_789_014);
});

test('gzip round-trip', () => {
  const records = Array.from({ length: 50 }, (_, i) => ({ key: Buffer.from(`key-${i}`), value: Buffer.alloc(100, i) }));
  const batch = encodeRecordBatch({ compression: 'gzip', baseTimestamp: 5, records });
  assert.ok(batch.length < 50 * 100, 'compressed');
  assert.ok(validateRecordBatches(batch).ok);
  const decoded = decodeRecordBatch(batch);
  assert.equal(decoded.compression, 1);
  assert.deepEqual(
    decoded.records.map((r) => r.value),
    records.map((r) => r.value),
  );
});

test('snappy and lz4 report unsupported clearly', () => {
  assert.throws(() => encodeRecordBatch({ compression: 'snappy', records: [{ value: Buffer.from('x') }] }), ProtocolError);
  const batch = sample();
  batch.writeInt16BE(3, 21); // lz4 attribute (CRC not re-checked by decode)
  assert.throws(() => decodeRecordBatch(batch), /not supported/);
});

test('framing errors are CORRUPT_MESSAGE; legacy magic is INVALID_RECORD', () => {
  const batch = sample();
  const truncated = validateRecordBatches(batch.subarray(0, batch.length - 1));
  assert.deepEqual(truncated.ok ? null : truncated.errorCode, ErrorCode.CORRUPT_MESSAGE);
  const short = validateRecordBatches(batch.subarray(0, 10));
  assert.deepEqual(short.ok ? null : short.errorCode, ErrorCode.CORRUPT_MESSAGE);
  const tiny = Buffer.from(batch);
  tiny.writeInt32BE(10, 8);
  assert.equal((validateRecordBatches(tiny) as { errorCode: number }).errorCode, ErrorCode.CORRUPT_MESSAGE);
  const legacy = Buffer.from(batch);
  legacy.writeInt8(1, 16);
  assert.equal((validateRecordBatches(legacy) as { errorCode: number }).errorCode, ErrorCode.INVALID_RECORD);
  const magic3 = Buffer.from(batch);
  magic3.writeInt8(3, 16);
  assert.equal((validateRecordBatches(magic3) as { errorCode: number }).errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.throws(() => readBatchHeader(batch.subarray(0, BATCH_HEADER_BYTES - 1)), ProtocolError);
  assert.deepEqual(validateRecordBatches(Buffer.alloc(0)), { ok: true, batches: [] });
});
