import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameReader, FrameSizeError } from '../src/server/frame-reader.js';

function framed(payloads: Buffer[]): Buffer {
  return Buffer.concat(
    payloads.flatMap((p) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(p.length);
      return [size, p];
    }),
  );
}

test('frames come out whole however the stream is split', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 50 }),
      (payloads, cuts) => {
        const stream = framed(payloads.map((p) => Buffer.from(p)));
        const reader = new FrameReader(1024);
        const out: Buffer[] = [];
        let pos = 0;
        let i = 0;
        while (pos < stream.length) {
          const n = cuts[i++ % cuts.length]!;
          reader.push(stream.subarray(pos, pos + n));
          pos += n;
          for (let f = reader.next(); f !== null; f = reader.next()) out.push(Buffer.from(f));
        }
        assert.deepEqual(out, payloads.map((p) => Buffer.from(p)));
        assert.equal(reader.bufferedBytes, 0);
      },
    ),
  );
});

test('a size over the limit or negative is refused before buffering the body', () => {
  const reader = new FrameReader(100);
  const big = Buffer.alloc(4);
  big.writeInt32BE(0x7fffffff);
  reader.push(big);
  assert.throws(() => reader.next(), FrameSizeError);
  const neg = new FrameReader(100);
  neg.push(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  assert.throws(() => neg.next(), /negative/);
});

test('large frames split at every boundary come out whole, followed by the next frame', () => {
  const big = Buffer.alloc(300);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const small = Buffer.from('after');
  const stream = framed([big, small, big]);
  // Every single cut point, and every pair of chunk sizes from 1 to 97 bytes.
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new FrameReader(1024);
    const out: Buffer[] = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      reader.push(part);
      for (let f = reader.next(); f !== null; f = reader.next()) out.push(Buffer.from(f));
    }
    assert.deepEqual(out, [big, small, big], `cut at ${cut}`);
    assert.equal(reader.bufferedBytes, 0);
  }
  for (let step = 1; step < 98; step++) {
    const reader = new FrameReader(1024);
    const out: Buffer[] = [];
    for (let pos = 0; pos < stream.length; pos += step) {
      reader.push(stream.subarray(pos, pos + step));
      for (let f = reader.next(); f !== null; f = reader.next()) out.push(Buffer.from(f));
    }
    assert.deepEqual(out, [big, small, big], `chunks of ${step}`);
    assert.equal(reader.bufferedBytes, 0);
  }
});

test('a large frame is assembled in one buffer of its size and counted in bufferedBytes until it is complete', () => {
  const payload = Buffer.alloc(1000, 0xab);
  const stream = framed([payload]);
  const reader = new FrameReader(4096);
  let frame: Buffer | null = null;
  for (let pos = 0; pos < stream.length; pos += 64) {
    const part = stream.subarray(pos, pos + 64);
    reader.push(part);
    frame = reader.next();
    if (pos + 64 < stream.length) {
      assert.equal(frame, null);
      assert.equal(reader.bufferedBytes, pos + part.length - 4);
    }
  }
  assert.ok(frame !== null);
  assert.equal(frame.length, 1000);
  assert.equal(frame.buffer.byteLength >= 1000, true);
  assert.deepEqual(frame, payload);
  assert.equal(reader.bufferedBytes, 0);
});

test('a size prefix alone does not allocate the frame (assembly starts after a quarter of it)', () => {
  const reader = new FrameReader(1 << 30);
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(1 << 29);
  reader.push(prefix);
  const before = process.memoryUsage().arrayBuffers;
  assert.equal(reader.next(), null);
  reader.push(Buffer.alloc(16));
  assert.equal(reader.next(), null);
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 28, 'half a GiB was allocated for a 20-byte prefix');
  assert.equal(reader.bufferedBytes, 16);
});
