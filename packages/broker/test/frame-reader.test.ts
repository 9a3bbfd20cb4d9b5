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
