import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import {
  decodeSnapshot,
  decodeSnapshotFromBuffer,
  encodeSnapshot,
  encodeSnapshotToBuffer,
  readSnapshotHeader,
  HEADER_PREFIX_BYTES,
  TRAILER_BYTES,
} from '../src/format.js';
import { ChecksumMismatch, CorruptedSnapshot, IncompatibleVersion, LengthMismatch, SnapshotError } from '../src/errors.js';
import { crc32 } from 'node:zlib';
import { collect, generatedStream, header, pseudoRandomBytes } from './helpers/fixtures.js';

for (const compression of ['gzip', 'none'] as const) {
  test(`round trip (${compression}): header, payload and trailer survive`, async () => {
    const payload = pseudoRandomBytes(300_000, 3);
    const h = header({ compression });
    const bytes = await encodeSnapshotToBuffer(h, payload);
    const decoded = await decodeSnapshotFromBuffer(bytes);
    assert.deepEqual(decoded.header, h);
    assert.ok(decoded.payload.equals(payload));
    assert.equal(decoded.trailer.uncompressedLength, payload.length);
    const storedLength = bytes.length - TRAILER_BYTES - (HEADER_PREFIX_BYTES + bytes.readUInt32BE(8) + 4);
    assert.equal(decoded.trailer.storedLength, storedLength);
    if (compression === 'none') assert.equal(decoded.trailer.crc32, crc32(payload));
  });

  test(`round trip (${compression}): empty payload and many tiny input chunks`, async () => {
    const empty = await decodeSnapshotFromBuffer(await encodeSnapshotToBuffer(header({ compression }), Buffer.alloc(0)));
    assert.equal(empty.payload.length, 0);
    const payload = pseudoRandomBytes(5000, 9);
    const encoded = await encodeSnapshotToBuffer(header({ compression }), Readable.from(splitInto(payload, 7), { objectMode: false }));
    // Feed the decoder 1..29-byte chunks so header, payload and trailer boundaries fall everywhere.
    const decoded = decodeSnapshot(Readable.from(splitInto(encoded, 13), { objectMode: false }));
    assert.ok((await collect(decoded.payload)).equals(payload));
    assert.equal((await decoded.header).lastIncludedIndex, 12345);
  });
}

function* splitInto(bytes: Buffer, maxChunk: number): Generator<Buffer> {
  let at = 0;
  let n = 1;
  while (at < bytes.length) {
    const size = Math.min(bytes.length - at, 1 + (n++ % maxChunk));
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

test('readSnapshotHeader reads only the header', async () => {
  const bytes = await encodeSnapshotToBuffer(header(), pseudoRandomBytes(100_000));
  let pulled = 0;
  const stream = Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 1024) {
        pulled += 1;
        yield bytes.subarray(at, at + 1024);
      }
    })(),
    { objectMode: false },
  );
  const h = await readSnapshotHeader(stream);
  assert.equal(h.raftGroupId, 'orders-3');
  assert.ok(pulled < 10, `pulled ${pulled} chunks for the header`);
});

async function decodeError(bytes: Buffer): Promise<unknown> {
  try {
    await decodeSnapshotFromBuffer(bytes);
  } catch (error) {
    return error;
  }
  return undefined;
}

test('typed errors: bad magic, unknown version, header checksum, trailer lengths and CRC, truncation', async () => {
  const good = await encodeSnapshotToBuffer(header({ compression: 'none' }), pseudoRandomBytes(1000));
  const headerBytes = HEADER_PREFIX_BYTES + good.readUInt32BE(8) + 4;

  const badMagic = Buffer.from(good);
  badMagic.write('XXXX', 0, 'ascii');
  assert.ok((await decodeError(badMagic)) instanceof CorruptedSnapshot);

  const badVersion = Buffer.from(good);
  badVersion.writeUInt16BE(99, 4);
  const versionError = await decodeError(badVersion);
  assert.ok(versionError instanceof IncompatibleVersion);
  assert.equal((versionError as IncompatibleVersion).foundVersion, 99);

  const badHeaderJson = Buffer.from(good);
  badHeaderJson[HEADER_PREFIX_BYTES + 3] ^= 0x01;
  assert.ok((await decodeError(badHeaderJson)) instanceof ChecksumMismatch);

  const badPayload = Buffer.from(good);
  badPayload[headerBytes + 10] ^= 0x40;
  const payloadError = await decodeError(badPayload);
  assert.ok(payloadError instanceof ChecksumMismatch, String(payloadError));

  const badStoredLength = Buffer.from(good);
  badStoredLength.writeBigUInt64BE(BigInt(999), good.length - TRAILER_BYTES + 12);
  assert.ok((await decodeError(badStoredLength)) instanceof LengthMismatch);

  const badUncompressedLength = Buffer.from(good);
  badUncompressedLength.writeBigUInt64BE(BigInt(5), good.length - TRAILER_BYTES + 4);
  assert.ok((await decodeError(badUncompressedLength)) instanceof LengthMismatch);

  const badCrc = Buffer.from(good);
  badCrc[good.length - 1] ^= 0xff;
  assert.ok((await decodeError(badCrc)) instanceof ChecksumMismatch);

  assert.ok((await decodeError(good.subarray(0, 7))) instanceof CorruptedSnapshot, 'truncated header');
  assert.ok((await decodeError(good.subarray(0, good.length - 3))) instanceof SnapshotError, 'truncated trailer');
  assert.ok((await decodeError(good.subarray(0, headerBytes + 500))) instanceof SnapshotError, 'truncated payload');
  assert.ok((await decodeError(Buffer.concat([good, Buffer.from('junk')]))) instanceof SnapshotError, 'trailing junk');
});

for (const compression of ['gzip', 'none'] as const) {
  test(`a flipped bit at every byte position is detected (${compression})`, async () => {
    const good = await encodeSnapshotToBuffer(header({ compression }), pseudoRandomBytes(600, 5));
    for (let position = 0; position < good.length; position++) {
      for (const mask of [0x01, 0x80]) {
        const bad = Buffer.from(good);
        bad[position] ^= mask;
        const error = await decodeError(bad);
        assert.ok(error instanceof SnapshotError, `flip 0x${mask.toString(16)} at byte ${position} of ${good.length}: ${String(error)}`);
      }
    }
  });
}

test('a 64 MiB payload streams through encode and decode with bounded buffering', async (t) => {
  const totalBytes = 64 * 1024 * 1024;
  const expected = createHash('sha256');
  let produced = 0;
  const source = generatedStream(totalBytes).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        expected.update(chunk);
        produced += chunk.length;
        callback(null, chunk);
      },
    }),
  );
  const encoded = encodeSnapshot(header(), source, { gzipLevel: 1 });
  const decoded = decodeSnapshot(encoded.stream);
  const actual = createHash('sha256');
  const baseline = process.memoryUsage();
  let maxInFlight = 0;
  let peakGrowth = 0;
  let received = 0;
  for await (const chunk of decoded.payload) {
    actual.update(chunk as Buffer);
    received += (chunk as Buffer).length;
    // Bytes the source has produced that the consumer has not seen yet: what the pipeline buffers.
    maxInFlight = Math.max(maxInFlight, produced - received);
    const now = process.memoryUsage();
    peakGrowth = Math.max(peakGrowth, now.heapUsed + now.arrayBuffers - baseline.heapUsed - baseline.arrayBuffers);
  }
  assert.equal(received, totalBytes);
  assert.equal(actual.digest('hex'), expected.digest('hex'));
  assert.equal(decoded.trailer().uncompressedLength, totalBytes);
  assert.equal(encoded.trailer().storedLength, decoded.trailer().storedLength);
  // Backpressure holds: a few stream buffers in flight, never a large part of the 64 MiB payload.
  assert.ok(maxInFlight < 8 * 1024 * 1024, `${(maxInFlight / 1048576).toFixed(1)} MiB in flight`);
  t.diagnostic(`max in flight ${(maxInFlight / 1048576).toFixed(1)} MiB, peak heap+buffers growth ${(peakGrowth / 1048576).toFixed(1)} MiB (GC-dependent)`);
});

test('stopping a decode early releases the input stream', async () => {
  const bytes = await encodeSnapshotToBuffer(header({ compression: 'none' }), pseudoRandomBytes(1 << 20));
  const input = Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 4096) yield bytes.subarray(at, at + 4096);
    })(),
    { objectMode: false },
  );
  const decoded = decodeSnapshot(input);
  for await (const _chunk of decoded.payload) break;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(input.destroyed, true);
});
