// TCP transport between hosts. Frames: u32 length, u8 kind, body.
//   kind 1 HELLO  body u32 nodeId, u64 incarnation (first frame on every outbound connection; a 4-byte body, without
//                 the incarnation, is accepted too). The incarnation is random per transport (per process): a HELLO
//                 from a known node with a new one means that node restarted, which the host is told at once.
//   kind 2 BATCH  body = codec batch
// One outbound connection per peer (we send on it), inbound connections are read-only; reconnect with
// exponential backoff (50 ms doubling to 2 s). Backpressure: each peer has a bounded queue of encoded bytes;
// when the socket is slow or down and the queue is full, new batches are DROPPED (Raft retransmits), so a slow
// peer never blocks the host loop or grows memory without bound.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { NodeId } from '../core/types.js';
import { CodecError, decodeBatch, encodeBatchInto, encodedBatchSize, type GroupMessage } from './codec.js';
import type { RaftTransport } from './transport.js';

const KIND_HELLO = 1;
const KIND_BATCH = 2;
const MAX_FRAME_BYTES = 256 << 20;

export interface TcpTransportOptions {
  readonly nodeId: NodeId;
  readonly host?: string;
  /** 0 = ephemeral (read `port` after listen()). */
  readonly port?: number;
  readonly peers: ReadonlyMap<NodeId, { host: string; port: number }>;
  readonly maxQueueBytes?: number;
  readonly onError?: (err: Error) => void;
}

class PeerLink {
  socket: Socket | null = null;
  connected = false;
  queue: Buffer[] = [];
  queueBytes = 0;
  backoffMs = 50;
  timer: NodeJS.Timeout | null = null;
  constructor(readonly id: NodeId, public addr: { host: string; port: number }) {}
}

export class TcpTransport implements RaftTransport {
  private server: Server | null = null;
  private handler: ((from: NodeId, batch: GroupMessage[]) => void) | null = null;
  private restartHandler: ((peer: NodeId) => void) | null = null;
  /** This process's incarnation, sent in every HELLO. */
  readonly incarnation: bigint = randomBytes(8).readBigUInt64BE(0);
  /** The incarnation each peer last said HELLO with. */
  private readonly peerIncarnations = new Map<NodeId, bigint>();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<Socket>();
  private closed = false;
  private readonly maxQueueBytes: number;
  port = 0;
  readonly stats = { batchesSent: 0, batchesDropped: 0, bytesSent: 0, batchesReceived: 0, badFrames: 0, reconnects: 0, peerRestarts: 0 };

  constructor(private readonly opts: TcpTransportOptions) {
    this.maxQueueBytes = opts.maxQueueBytes ?? 64 << 20;
    for (const [id, addr] of opts.peers) if (id !== opts.nodeId) this.links.set(id, new PeerLink(id, addr));
  }

  async listen(): Promise<number> {
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return this.port;
  }

  setPeer(id: NodeId, addr: { host: string; port: number }): void {
    const link = this.links.get(id);
    if (link === undefined) this.links.set(id, new PeerLink(id, addr));
    else link.addr = addr;
  }

  setHandler(handler: (from: NodeId, batch: GroupMessage[]) => void): void { this.handler = handler; }

  setPeerRestartHandler(handler: (peer: NodeId) => void): void { this.restartHandler = handler; }

  send(to: NodeId, batch: readonly GroupMessage[]): boolean {
    const link = this.links.get(to);
    if (link === undefined || this.closed) return false;
    const size = encodedBatchSize(batch);
    const frame = Buffer.allocUnsafe(5 + size);
    frame.writeUInt32BE(size + 1, 0);
    frame.writeUInt8(KIND_BATCH, 4);
    encodeBatchInto(batch, frame, 5);
    if (link.connected && link.queue.length === 0 && link.socket !== null) {
      link.socket.write(frame);
      this.stats.batchesSent++; this.stats.bytesSent += frame.length;
      if (link.socket.writableLength > this.maxQueueBytes) link.connected = false; // queue (and drop when full) until 'drain'
      return true;
    }
    if (link.queueBytes + frame.length > this.maxQueueBytes) { this.stats.batchesDropped++; return false; }
    link.queue.push(frame);
    link.queueBytes += frame.length;
    if (link.socket === null && link.timer === null) this.connectLink(link);
    return true;
  }

  private connectLink(link: PeerLink): void {
    if (this.closed) return;
    const sock = connect({ host: link.addr.host, port: link.addr.port });
    sock.setNoDelay(true);
    link.socket = sock;
    sock.on('connect', () => {
      link.backoffMs = 50;
      const hello = Buffer.allocUnsafe(17);
      hello.writeUInt32BE(13, 0); hello.writeUInt8(KIND_HELLO, 4); hello.writeUInt32BE(this.opts.nodeId, 5);
      hello.writeBigUInt64BE(this.incarnation, 9);
      sock.write(hello);
      link.connected = true;
      this.drain(link);
    });
    sock.on('drain', () => { link.connected = true; this.drain(link); });
    sock.on('data', () => { /* outbound links carry no replies */ });
    sock.on('error', () => { /* handled on close */ });
    sock.on('close', () => {
      link.connected = false;
      link.socket = null;
      // frames of a dead connection are stale by the time we reconnect: Raft will resend what matters
      link.queue = []; link.queueBytes = 0;
      if (this.closed) return;
      this.stats.reconnects++;
      link.timer = setTimeout(() => { link.timer = null; if (link.socket === null) this.connectLink(link); }, link.backoffMs);
      link.backoffMs = Math.min(link.backoffMs * 2, 2000);
    });
  }

  private drain(link: PeerLink): void {
    const sock = link.socket;
    if (sock === null || !link.connected) return;
    while (link.queue.length > 0) {
      const frame = link.queue.shift()!;
      link.queueBytes -= frame.length;
      this.stats.batchesSent++; this.stats.bytesSent += frame.length;
      if (!sock.write(frame) && sock.writableLength > this.maxQueueBytes) { link.connected = false; return; }
    }
  }

  private accept(sock: Socket): void {
    if (this.closed) { sock.destroy(); return; }
    this.inbound.add(sock);
    sock.setNoDelay(true);
    let from: NodeId | null = null;
    let chunks: Buffer[] = [];
    let buffered = 0;
    // bytes needed before parsing is worth it: a length prefix, then the whole frame it announces, so a large frame
    // arriving in many chunks is concatenated once (not once per chunk: that copied O(frame^2) bytes)
    let need = 4;
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered < need) return;
      let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      let pos = 0;
      while (buf.length - pos >= 4) {
        const len = buf.readUInt32BE(pos);
        if (len < 1 || len > MAX_FRAME_BYTES) { this.bad(sock, new CodecError(`bad frame length ${len}`)); return; }
        if (buf.length - pos - 4 < len) break;
        const kind = buf.readUInt8(pos + 4);
        const body = buf.subarray(pos + 5, pos + 4 + len);
        pos += 4 + len;
        if (kind === KIND_HELLO && (body.length === 4 || body.length === 12)) {
          from = body.readUInt32BE(0) as NodeId;
          if (body.length === 12) this.heardIncarnation(from, body.readBigUInt64BE(4));
        }
        else if (kind === KIND_BATCH && from !== null) {
          let batch: GroupMessage[];
          try { batch = decodeBatch(body); } catch (err) { this.bad(sock, err as Error); return; }
          this.stats.batchesReceived++;
          this.handler?.(from, batch);
        } else { this.bad(sock, new CodecError(`unexpected frame kind ${kind}`)); return; }
      }
      buf = buf.subarray(pos);
      chunks = buf.length > 0 ? [buf] : [];
      buffered = buf.length;
      need = buf.length >= 4 ? 4 + buf.readUInt32BE(0) : 4; // a leftover length prefix was validated by the loop
    });
    sock.on('error', () => { /* peer vanished */ });
    sock.on('close', () => this.inbound.delete(sock));
  }

  private heardIncarnation(peer: NodeId, incarnation: bigint): void {
    const known = this.peerIncarnations.get(peer);
    this.peerIncarnations.set(peer, incarnation);
    if (known === undefined || known === incarnation) return;
    this.stats.peerRestarts++;
    this.restartHandler?.(peer);
  }

  private bad(sock: Socket, err: Error): void {
    this.stats.badFrames++;
    this.opts.onError?.(err);
    sock.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) {
      if (link.timer !== null) clearTimeout(link.timer);
      link.socket?.destroy();
    }
    for (const s of this.inbound) s.destroy();
    if (this.server !== null) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
