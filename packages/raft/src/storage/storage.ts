// The storage contract of one Raft group, and an in-memory implementation.
// Writes are staged; sync() makes everything staged durable (one fsync). A crash loses staged writes.
import type { Entry, HardState, InitialState, NodeId, RaftIndex, Snapshot, SnapshotMeta, Term } from '../core/types.js';

export interface RaftStorage {
  /** Everything needed to construct a RaftNode after a restart. */
  load(): InitialState;
  /** Latest durable snapshot (metadata + opaque host data), if any besides the empty bootstrap one. */
  loadSnapshot(): Snapshot | null;
  setHardState(hs: HardState): void;
  /** Appends entries, first truncating every stored entry at or after entries[0].index. */
  append(entries: readonly Entry[]): void;
  /** Installs a snapshot received from a leader: drops every stored entry, records its metadata and data. */
  applySnapshot(snapshot: Snapshot): void;
  /** Log compaction: records the snapshot (taken by the host at meta.index) and drops entries up to meta.index. */
  compact(snapshot: Snapshot): void;
  /**
   * The group is no longer hosted here (e.g. its topic was deleted): forget it — its records are no longer needed and
   * it must not come back at restart. Durable with the next sync; the storage accepts no writes afterwards.
   */
  remove(): void;
  /** Makes every write above durable. */
  sync(): Promise<void> | void;
}

export function bootstrapState(voters: readonly NodeId[], learners: readonly NodeId[] = []): InitialState {
  return {
    hardState: { term: 0 as Term, vote: 0 as NodeId, commit: 0 as RaftIndex },
    snapshot: { index: 0 as RaftIndex, term: 0 as Term, conf: { voters: [...voters], learners: [...learners] } },
    entries: [],
  };
}

interface Durable { hardState: HardState; snapshot: Snapshot; entries: Entry[]; removed: boolean }

type Op = (d: Durable) => void;

/** In-memory storage (tests, simulator): `crash()` discards everything written since the last sync. */
export class MemoryStorage implements RaftStorage {
  private durable: Durable;
  private staged: Op[] = [];
  /** Writes staged since creation, and how many of them are durable (staged[0] is write number syncedCount). */
  private stagedTotal = 0;
  private syncedCount = 0;
  constructor(initial: InitialState, snapshotData: Uint8Array = new Uint8Array(0)) {
    this.durable = { hardState: initial.hardState, snapshot: { meta: initial.snapshot, data: snapshotData }, entries: initial.entries.slice(), removed: false };
  }
  load(): InitialState {
    return { hardState: this.durable.hardState, snapshot: this.durable.snapshot.meta, entries: this.durable.entries.slice() };
  }
  loadSnapshot(): Snapshot | null { return this.durable.snapshot.meta.index > 0 ? this.durable.snapshot : null; }
  private removing = false;
  private stage(op: Op): void {
    if (this.removing) throw new Error('raft storage of a removed group');
    this.staged.push(op);
    this.stagedTotal++;
  }
  remove(): void {
    this.stage((d) => { d.removed = true; d.entries = []; });
    this.removing = true;
  }
  /** The removal is durable. */
  get removed(): boolean { return this.durable.removed; }
  setHardState(hs: HardState): void { this.stage((d) => { d.hardState = hs; }); }
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const copy = entries.slice();
    this.stage((d) => {
      const first = copy[0]!.index;
      const base = d.snapshot.meta.index;
      if (first <= base) throw new Error(`invariant: append at ${first} at or below snapshot ${base}`);
      if (first > base + d.entries.length + 1) throw new Error(`invariant: append at ${first} leaves a gap after ${base + d.entries.length}`);
      d.entries.length = first - base - 1;
      for (const e of copy) d.entries.push(e);
    });
  }
  applySnapshot(snapshot: Snapshot): void {
    this.stage((d) => { d.snapshot = snapshot; d.entries = []; });
  }
  compact(snapshot: Snapshot): void {
    this.stage((d) => {
      const base = d.snapshot.meta.index;
      if (snapshot.meta.index <= base) return;
      d.entries = d.entries.slice(snapshot.meta.index - base);
      d.snapshot = snapshot;
    });
  }
  sync(): void { this.syncTo(this.stagedTotal); }
  /** A position in the write sequence: syncTo(writeMark()) makes exactly the writes staged so far durable. */
  writeMark(): number { return this.stagedTotal; }
  /** Makes the writes before `mark` durable (an fsync that started when `mark` was taken); later ones stay staged. */
  syncTo(mark: number): void {
    const n = Math.min(mark, this.stagedTotal) - this.syncedCount;
    if (n <= 0) return;
    for (let i = 0; i < n; i++) this.staged[i]!(this.durable);
    this.staged.splice(0, n);
    this.syncedCount += n;
  }
  /** Simulated power loss: staged writes vanish. */
  crash(): void { this.staged = []; this.stagedTotal = this.syncedCount; }
  get stagedCount(): number { return this.staged.length; }
}

export type { SnapshotMeta };
