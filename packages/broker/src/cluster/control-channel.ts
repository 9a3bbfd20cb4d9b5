// A request/response channel between broker nodes multiplexed on the Raft transport: messages of a reserved Raft
// group id (never hosted by RaftHost) carry one opaque payload each and are taken out of every batch before the
// rest reaches the host. Delivery is best effort (the TCP transport drops while a peer is unreachable), so every
// request has a timeout and callers treat a timeout as retriable.
import { MessageType, raftGroupId, type Message, type NodeId, type RaftIndex, type RaftTransport, type Term, type GroupMessage } from '@tributary/raft';

/** Reserved: no Raft group of a broker ever uses this id. */
export const CONTROL_RAFT_GROUP = raftGroupId(0xffffffff);

export type ControlRequestHandler = (from: NodeId, payload: Buffer) => Promise<Buffer>;

interface PendingRequest {
  resolve: (payload: Buffer | null) => void;
  timer: NodeJS.Timeout;
}

function controlMessage(type: MessageType, from: NodeId, to: NodeId, requestId: number, payload: Uint8Array): Message {
  return {
    type, from, to, term: 0 as Term, logTerm: 0 as Term, index: 0 as RaftIndex, commit: 0 as RaftIndex, reject: false,
    rejectHint: 0 as RaftIndex, context: requestId, snapshot: null,
    entries: [{ index: 1 as RaftIndex, term: 0 as Term, type: 0, data: payload }],
  };
}

/** Wraps the node's real transport; the RaftHost is given this object as its transport. */
export class ControlChannelTransport implements RaftTransport {
  private hostHandler: ((from: NodeId, batch: GroupMessage[]) => void) | null = null;
  private requestHandler: ControlRequestHandler | null = null;
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  /** When each peer node last sent anything (Raft traffic, its per-tick liveness ping, control messages). */
  private readonly heardAtMs = new Map<NodeId, number>();

  constructor(private readonly inner: RaftTransport, private readonly selfId: NodeId) {
    inner.setHandler((from, batch) => this.receive(from, batch));
  }

  send(to: NodeId, batch: readonly GroupMessage[]): boolean {
    return this.inner.send(to, batch);
  }

  setHandler(handler: (from: NodeId, batch: GroupMessage[]) => void): void {
    this.hostHandler = handler;
  }

  setPeerRestartHandler(handler: (peer: NodeId) => void): void {
    this.inner.setPeerRestartHandler(handler);
  }

  onRequest(handler: ControlRequestHandler): void {
    this.requestHandler = handler;
  }

  /** Resolves with the peer's answer, or null when none arrived within `timeoutMs` (lost, peer down). */
  request(to: NodeId, payload: Buffer, timeoutMs: number): Promise<Buffer | null> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve(null);
      }, timeoutMs);
      this.pending.set(requestId, { resolve, timer });
      const sent = this.inner.send(to, [{ groupId: CONTROL_RAFT_GROUP, message: controlMessage(MessageType.Append, this.selfId, to, requestId, payload) }]);
      if (!sent) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        resolve(null);
      }
    });
  }

  /** Wall-clock ms of the last batch received from `peer` (undefined: none since start); used for ISR liveness. */
  lastHeardMs(peer: NodeId): number | undefined {
    return this.heardAtMs.get(peer);
  }

  private receive(from: NodeId, batch: GroupMessage[]): void {
    this.heardAtMs.set(from, Date.now());
    let raftMessages: GroupMessage[] | null = null;
    for (let i = 0; i < batch.length; i++) {
      const gm = batch[i]!;
      if (gm.groupId !== CONTROL_RAFT_GROUP) {
        if (raftMessages !== null) raftMessages.push(gm);
        continue;
      }
      if (raftMessages === null) raftMessages = batch.slice(0, i);
      this.receiveControl(from, gm.message);
    }
    // An empty batch is the host's node-level liveness ping: it must reach the host too. A batch that held only
    // control messages is not a ping (control traffic is not Raft liveness).
    if (raftMessages === null) this.hostHandler?.(from, batch);
    else if (raftMessages.length > 0) this.hostHandler?.(from, raftMessages);
  }

  private receiveControl(from: NodeId, message: Message): void {
    const payload = message.entries[0]?.data;
    if (payload === undefined) return;
    const requestId = message.context;
    if (message.type === MessageType.AppendResponse) {
      const p = this.pending.get(requestId);
      if (p === undefined) return; // timed out already
      this.pending.delete(requestId);
      clearTimeout(p.timer);
      p.resolve(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
      return;
    }
    if (message.type !== MessageType.Append || this.requestHandler === null) return;
    const handler = this.requestHandler;
    // Copy: the payload is a view into the transport's receive buffer.
    void handler(from, Buffer.from(payload)).then(
      (answer) => {
        this.inner.send(from, [{ groupId: CONTROL_RAFT_GROUP, message: controlMessage(MessageType.AppendResponse, this.selfId, from, requestId, answer) }]);
      },
      () => undefined, // the handler answers its own failures; a throw means no answer (the caller times out)
    );
  }

  async close(): Promise<void> {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.pending.clear();
    await this.inner.close();
  }
}
