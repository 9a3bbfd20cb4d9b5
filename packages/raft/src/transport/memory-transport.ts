// In-memory transport for tests: a shared network that can drop, delay, duplicate, reorder and partition.
import type { NodeId } from '../core/types.js';
import type { GroupMessage } from './codec.js';
import type { RaftTransport } from './transport.js';
import { Prng } from '../sim/prng.js';

export interface MemoryNetworkFaults {
  dropRate?: number;
  duplicateRate?: number;
  /** Each delivery is delayed uniformly in [minDelayMs, maxDelayMs]; different delays reorder. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class MemoryNetwork {
  private readonly endpoints = new Map<NodeId, MemoryTransport>();
  private incarnations = 0;
  private readonly rng: Prng;
  private faults: Required<MemoryNetworkFaults> = { dropRate: 0, duplicateRate: 0, minDelayMs: 0, maxDelayMs: 0 };
  private side = new Map<NodeId, number>();
  private timers = new Set<NodeJS.Timeout>();
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(seed = 1) { this.rng = new Prng(seed); }

  /** The node's endpoint; a closed one is replaced (the node restarted: a new incarnation, which receivers notice). */
  endpoint(id: NodeId): MemoryTransport {
    let t = this.endpoints.get(id);
    if (t === undefined || t.closed) { t = new MemoryTransport(this, id, ++this.incarnations); this.endpoints.set(id, t); }
    return t;
  }
  setFaults(f: MemoryNetworkFaults): void { this.faults = { ...this.faults, ...f }; }
  /** Nodes in different sets cannot talk; nodes not listed join the first set. */
  partition(...sets: NodeId[][]): void {
    this.side.clear();
    sets.forEach((set, i) => { for (const id of set) this.side.set(id, i); });
  }
  heal(): void { this.side.clear(); }

  /** @internal */ transmit(from: NodeId, fromIncarnation: number, to: NodeId, batch: readonly GroupMessage[]): boolean {
    this.stats.sent++;
    if ((this.side.get(from) ?? 0) !== (this.side.get(to) ?? 0) || this.rng.chance(this.faults.dropRate)) { this.stats.dropped++; return true; }
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      const delay = this.faults.minDelayMs + this.rng.next() * (this.faults.maxDelayMs - this.faults.minDelayMs);
      const deliver = () => {
        const target = this.endpoints.get(to);
        if (target === undefined || target.closed) return;
        this.stats.delivered++;
        target.deliver(from, fromIncarnation, batch.slice());
      };
      if (delay <= 0) queueMicrotask(deliver);
      else {
        const timer = setTimeout(() => { this.timers.delete(timer); deliver(); }, delay);
        this.timers.add(timer);
      }
    }
    return true;
  }
  close(): void { for (const t of this.timers) clearTimeout(t); this.timers.clear(); }
}

export class MemoryTransport implements RaftTransport {
  private handler: ((from: NodeId, batch: GroupMessage[]) => void) | null = null;
  private restartHandler: ((peer: NodeId) => void) | null = null;
  /** The incarnation each peer was last heard from in (like the TCP transport's HELLO). */
  private readonly peerIncarnations = new Map<NodeId, number>();
  closed = false;
  constructor(private readonly network: MemoryNetwork, readonly id: NodeId, readonly incarnation: number) {}
  send(to: NodeId, batch: readonly GroupMessage[]): boolean { return !this.closed && this.network.transmit(this.id, this.incarnation, to, batch); }
  setHandler(handler: (from: NodeId, batch: GroupMessage[]) => void): void { this.handler = handler; }
  setPeerRestartHandler(handler: (peer: NodeId) => void): void { this.restartHandler = handler; }
  /** @internal */ deliver(from: NodeId, fromIncarnation: number, batch: GroupMessage[]): void {
    if (this.closed) return;
    // a delayed batch of an earlier incarnation (sent before the restart) is still delivered, but is no restart
    const known = this.peerIncarnations.get(from);
    if (known === undefined || fromIncarnation > known) {
      this.peerIncarnations.set(from, fromIncarnation);
      if (known !== undefined) this.restartHandler?.(from);
    }
    this.handler?.(from, batch);
  }
  async close(): Promise<void> { this.closed = true; }
}
