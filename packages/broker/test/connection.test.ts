import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { KafkaListener } from '../src/server/kafka-listener.js';
import type { FrameOutcome, FrameRouter } from '../src/server/connection.js';
import { BrokerMetrics } from '../src/observability/metrics.js';

// Frames here are [u32 id][u8 kind]: kind 0 = answer when the test says so, 1 = no response, 2 = close.
function frame(id: number, kind: number): Buffer {
  const b = Buffer.alloc(9);
  b.writeInt32BE(5, 0);
  b.writeUInt32BE(id, 4);
  b.writeUInt8(kind, 8);
  return b;
}

class ManualRouter implements FrameRouter {
  readonly pending = new Map<number, (b: Buffer) => void>();
  readonly seen: number[] = [];
  waiters: (() => void)[] = [];
  route(f: Buffer): FrameOutcome {
    const id = f.readUInt32BE(0);
    const kind = f.readUInt8(4);
    this.seen.push(id);
    for (const w of this.waiters.splice(0)) w();
    if (kind === 1) return { kind: 'noResponse' };
    if (kind === 2) return { kind: 'close', reason: 'test' };
    return {
      kind: 'respond',
      response: new Promise((r) => {
        this.pending.set(id, (body) => r(body));
      }),
    };
  }
  async waitSeen(n: number): Promise<void> {
    while (this.seen.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }
  answer(id: number): void {
    const out = Buffer.alloc(8);
    out.writeInt32BE(4, 0);
    out.writeUInt32BE(id, 4);
    this.pending.get(id)!(out);
  }
}

async function withListener(fn: (port: number, router: ManualRouter, metrics: BrokerMetrics) => Promise<void>): Promise<void> {
  const router = new ManualRouter();
  const metrics = new BrokerMetrics({ defaultMetrics: false });
  const listener = new KafkaListener(router, { maxFrameBytes: 1024, maxInFlightRequests: 100, maxBufferedWriteBytes: 1 << 20 }, metrics, pino({ level: 'silent' }));
  const { port } = await listener.listen({ host: '127.0.0.1', port: 0 });
  try {
    await fn(port, router, metrics);
  } finally {
    await listener.close(1000);
  }
}

function readIds(socket: Socket, count: number): Promise<number[]> {
  return new Promise((resolvePromise) => {
    const ids: number[] = [];
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        ids.push(buf.readUInt32BE(4));
        buf = buf.subarray(8);
      }
      if (ids.length >= count) resolvePromise(ids);
    });
  });
}

test('responses leave in request order even when handlers finish in reverse; no-response requests take no slot', async () => {
  await withListener(async (port, router) => {
    const socket = connect(port, '127.0.0.1');
    const got = readIds(socket, 3);
    socket.write(Buffer.concat([frame(1, 0), frame(2, 1), frame(3, 0), frame(4, 0)]));
    await router.waitSeen(4);
    router.answer(4);
    router.answer(3);
    router.answer(1);
    assert.deepEqual(await got, [1, 3, 4]);
    socket.destroy();
  });
});

test('an oversized frame closes that connection only', async () => {
  await withListener(async (port, router, metrics) => {
    const bad = connect(port, '127.0.0.1');
    const good = connect(port, '127.0.0.1');
    const closed = new Promise<void>((r) => bad.on('close', () => r()));
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(0x7fffffff);
    bad.write(huge);
    await closed;
    const got = readIds(good, 1);
    good.write(frame(9, 0));
    await router.waitSeen(1);
    router.answer(9);
    assert.deepEqual(await got, [9]);
    const text = await metrics.registry.getSingleMetricAsString('tributary_connections_closed_total');
    assert.match(text, /reason="frame_size"} 1/);
    good.destroy();
  });
});

test('a chunked response is written whole, then its pooled read buffers go back to the log pool', async () => {
  const { sharedReadBufferPool } = await import('@tributary/log');
  const records = sharedReadBufferPool.take(100_000);
  const freeBefore = sharedReadBufferPool.stats.free;
  for (let i = 0; i < records.length; i++) records[i] = i & 0xff;
  const expected = Buffer.from(records);
  const header = Buffer.alloc(8);
  header.writeInt32BE(4 + records.length, 0);
  header.writeUInt32BE(7, 4);
  const router: FrameRouter = { route: (): FrameOutcome => ({ kind: 'respond', response: Promise.resolve([header, records]) }) };
  const metrics = new BrokerMetrics({ defaultMetrics: false });
  const listener = new KafkaListener(router, { maxFrameBytes: 1024, maxInFlightRequests: 100, maxBufferedWriteBytes: 1 << 20 }, metrics, pino({ level: 'silent' }));
  const { port } = await listener.listen({ host: '127.0.0.1', port: 0 });
  const socket = connect(port, '127.0.0.1');
  try {
    const received = await new Promise<Buffer>((resolvePromise, reject) => {
      const parts: Buffer[] = [];
      let total = 0;
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        total += chunk.length;
        if (total >= 8 + expected.length) resolvePromise(Buffer.concat(parts));
      });
      socket.write(frame(7, 0));
    });
    assert.equal(received.readUInt32BE(4), 7);
    assert.deepEqual(received.subarray(8), expected);
    // The listener releases the buffer when the write's callback runs (at most a few event-loop turns after the
    // peer has the bytes); then a second release finds nothing lent.
    for (let turn = 0; turn < 100 && sharedReadBufferPool.stats.free === freeBefore; turn++) await new Promise((r) => setImmediate(r));
    assert.equal(sharedReadBufferPool.stats.free, freeBefore + 1);
    assert.equal(sharedReadBufferPool.release(records), false);
  } finally {
    socket.destroy();
    await listener.close(1000);
  }
});
