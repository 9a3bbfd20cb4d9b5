import { Readable } from 'node:stream';
import type { SnapshotHeader } from '../../src/format.js';
import { raftGroupId, raftIndex, raftTerm } from '../../src/ids.js';

export function header(overrides: Partial<SnapshotHeader> = {}): SnapshotHeader {
  return {
    raftGroupId: raftGroupId('orders-3'),
    lastIncludedIndex: raftIndex(12345),
    lastIncludedTerm: raftTerm(7),
    membership: Buffer.from(JSON.stringify({ voters: [1, 2, 3] })),
    createdAtMs: 1_700_000_000_000,
    compression: 'gzip',
    ...overrides,
  };
}

/** Deterministic pseudo-random bytes (xorshift), partly compressible. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = i % 4 === 0 ? x & 0xff : 0x61 + (x % 4);
  }
  return out;
}

/** A stream of `totalBytes` generated on the fly in `chunkBytes` chunks (never held whole). */
export function generatedStream(totalBytes: number, chunkBytes = 1024 * 1024): Readable {
  const chunk = pseudoRandomBytes(chunkBytes, 42);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= totalBytes) {
        this.push(null);
        return;
      }
      const n = Math.min(chunkBytes, totalBytes - sent);
      // A fresh copy per chunk with the position stamped in, so chunks differ.
      const out = Buffer.from(chunk.subarray(0, n));
      out.writeUInt32BE(sent >>> 0, 0);
      sent += n;
      this.push(out);
    },
  });
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
