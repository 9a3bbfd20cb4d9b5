import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { TcpTransport } from '../src/transport/tcp-transport.js';
import { EntryType, MessageType, emptyMessage, type NodeId, type RaftIndex, type RaftGroupId, type Term } from '../src/core/types.js';
import { encodeBatch, type GroupMessage } from '../src/transport/codec.js';

const msg = (from: number, to: number, t: number): GroupMessage => ({ groupId: 5 as RaftGroupId, message: emptyMessage(MessageType.Heartbeat, from as NodeId, to as NodeId, t as Term) });

function receiver(t: TcpTransport): { got: { from: NodeId; batch: GroupMessage[] }[]; next: () => Promise<void> } {
  const got: { from: NodeId; batch: GroupMessage[] }[] = [];
  let wake: (() => void) | null = null;
  t.setHandler((from, batch) => { got.push({ from, batch }); wake?.(); });
  return { got, next: () => new Promise((r) => { wake = r; }) };
}

test('tcp transport: batches arrive framed and decoded; a peer restart is survived by reconnecting', { timeout: 20_000 }, async () => {
  let b = new TcpTransport({ nodeId: 2 as NodeId, peers: new Map() });
  const portB = await b.listen();
  const a = new TcpTransport({ nodeId: 1 as NodeId, peers: new Map([[2 as NodeId, { host: '127.0.0.1', port: portB }]]) });
  await a.listen();
  try {
    let rb = receiver(b);
    const arrived = rb.next();
    assert.equal(a.send(2 as NodeId, [msg(1, 2, 7), msg(1, 2, 8)]), true);
    await arrived;
    assert.equal(rb.got[0]!.from, 1);
    assert.deepEqual(rb.got[0]!.batch.map((m) => m.message.term), [7, 8]);

    await b.close();
    b = new TcpTransport({ nodeId: 2 as NodeId, port: portB, peers: new Map() });
    await b.listen();
    rb = receiver(b);
    // keep sending (like heartbeats would) until the reconnect succeeds
    const deadline = Date.now() + 10_000;
    while (rb.got.length === 0 && Date.now() < deadline) {
      a.send(2 as NodeId, [msg(1, 2, 9)]);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(rb.got.length > 0, 'no delivery after the peer restarted');
    assert.ok(a.stats.reconnects > 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test('tcp transport: a peer heard from in a new process is reported as restarted, once; a reconnect of the same process is not', { timeout: 20_000 }, async () => {
  const b = new TcpTransport({ nodeId: 2 as NodeId, peers: new Map() });
  const portB = await b.listen();
  const restarts: NodeId[] = [];
  b.setPeerRestartHandler((peer) => restarts.push(peer));
  const rb = receiver(b);
  let a = new TcpTransport({ nodeId: 1 as NodeId, peers: new Map([[2 as NodeId, { host: '127.0.0.1', port: portB }]]) });
  const sendUntilDelivered = async (from: TcpTransport, count: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (rb.got.length < count && Date.now() < deadline) {
      from.send(2 as NodeId, [msg(1, 2, 1)]);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(rb.got.length >= count, 'no delivery');
  };
  try {
    await sendUntilDelivered(a, 1);
    assert.deepEqual(restarts, [], 'the first process heard from is no restart');

    // the same process reconnects (b drops every inbound connection): same incarnation, no restart
    for (const sock of (b as unknown as { inbound: Set<import('node:net').Socket> }).inbound) sock.destroy();
    await sendUntilDelivered(a, rb.got.length + 1);
    assert.ok(a.stats.reconnects > 0, 'the link reconnected');
    assert.deepEqual(restarts, []);

    // node 1 restarts: a new transport (a new incarnation) under the same node id
    await a.close();
    a = new TcpTransport({ nodeId: 1 as NodeId, peers: new Map([[2 as NodeId, { host: '127.0.0.1', port: portB }]]) });
    const before = rb.got.length;
    await sendUntilDelivered(a, before + 1);
    assert.deepEqual(restarts, [1]);
    assert.equal(b.stats.peerRestarts, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('tcp transport: garbage from a connection is counted and the connection dropped, the process keeps running', { timeout: 10_000 }, async () => {
  const errors: Error[] = [];
  const t = new TcpTransport({ nodeId: 1 as NodeId, peers: new Map(), onError: (e) => errors.push(e) });
  const port = await t.listen();
  try {
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        const hello = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 9]);
        const junk = Buffer.from([0, 0, 0, 6, 2, 0, 0, 0, 9, 9]); // batch claiming 9 messages in 4 bytes
        s.write(Buffer.concat([hello, junk]));
      });
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    assert.equal(t.stats.badFrames, 1);
    assert.equal(errors[0]?.name, 'CodecError');
  } finally { await t.close(); }
});

test('tcp transport: frames split across writes at every kind of boundary, and several frames in one write, decode', { timeout: 10_000 }, async () => {
  const b = new TcpTransport({ nodeId: 2 as NodeId, peers: new Map() });
  const port = await b.listen();
  const r = receiver(b);
  const frame = (kind: number, body: Buffer) => { const f = Buffer.allocUnsafe(5 + body.length); f.writeUInt32BE(body.length + 1, 0); f.writeUInt8(kind, 4); body.copy(f, 5); return f; };
  const hello = Buffer.alloc(4); hello.writeUInt32BE(9, 0);
  const big = { groupId: 5 as RaftGroupId, message: { ...emptyMessage(MessageType.Append, 9 as NodeId, 2 as NodeId, 3 as Term), entries: [{ index: 1 as RaftIndex, term: 3 as Term, type: EntryType.Normal, data: Buffer.alloc(300_000, 7) }] } } as GroupMessage;
  const stream = Buffer.concat([frame(1, hello), frame(2, encodeBatch([msg(9, 2, 1)])), frame(2, encodeBatch([big])), frame(2, encodeBatch([msg(9, 2, 2), msg(9, 2, 3)]))]);
  const sock = connect({ host: '127.0.0.1', port });
  try {
    await new Promise<void>((res) => sock.once('connect', () => res()));
    // cuts inside a length prefix, inside a body, right after a prefix, and a large frame in many pieces
    const cuts = [2, 7, 9, 20, 40, 5000, 70_000, 140_000, 210_000, 280_000, stream.length - 30, stream.length];
    let at = 0;
    for (const c of cuts) {
      sock.write(stream.subarray(at, c));
      at = c;
      await new Promise((res) => setTimeout(res, 5)); // separate TCP segments (ordering, not timing, is asserted)
    }
    while (r.got.length < 3) await r.next();
    assert.deepEqual(r.got.map((x) => x.batch.map((m) => m.message.term)), [[1], [3], [2, 3]]);
    const e = r.got[1]!.batch[0]!.message.entries[0]!;
    assert.equal(e.data.length, 300_000);
    assert.equal(e.data[299_999], 7);
  } finally { sock.destroy(); await b.close(); }
});
