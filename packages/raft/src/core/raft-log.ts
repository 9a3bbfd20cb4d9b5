// The in-memory view of one node's Raft log: a snapshot boundary, the entries after it,
// which of them are not yet persisted, and the commit / apply positions.
import type { Entry } from './types.js';

export class RaftLog {
  /** Last index / term folded into the snapshot (0/0 for an empty log). */
  snapshotIndex: number;
  snapshotTerm: number;
  /** entries[i].index === snapshotIndex + 1 + i */
  entries: Entry[];
  committed: number;
  /** Highest index handed to the host for applying (in a Ready not yet advanced past). */
  applying: number;
  /** Highest index the host has applied (advance). */
  applied: number;
  /** First index not yet persisted by the host. */
  unstableFrom: number;
  /**
   * Last index handed to the host for persisting (in a Ready), durable or not. With asynchronous storage writes it
   * runs ahead of unstableFrom - 1 while writes are in flight; a new Ready carries only the entries after it.
   */
  inProgressTo: number;

  constructor(snapshotIndex: number, snapshotTerm: number, entries: readonly Entry[], committed: number) {
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    this.entries = entries.slice();
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i]!.index !== snapshotIndex + 1 + i) throw new Error(`invariant: stored entries not contiguous at ${this.entries[i]!.index}`);
    }
    this.committed = Math.max(committed, snapshotIndex);
    if (this.committed > this.lastIndex()) throw new Error(`invariant: commit ${committed} beyond last stored index ${this.lastIndex()}`);
    this.applied = snapshotIndex;
    this.applying = snapshotIndex;
    this.unstableFrom = this.lastIndex() + 1;
    this.inProgressTo = this.lastIndex();
  }

  firstIndex(): number { return this.snapshotIndex + 1; }
  lastIndex(): number { return this.snapshotIndex + this.entries.length; }
  lastTerm(): number { return this.term(this.lastIndex())!; }

  /** Term of the entry at `index`, or undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1]!.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, t: number): boolean { return this.term(index) === t; }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi], cut at maxBytes (always at least one). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo > hi) return [];
    if (lo <= this.snapshotIndex) throw new Error(`invariant: slice from compacted index ${lo}`);
    const start = lo - this.snapshotIndex - 1;
    const end = Math.min(hi, this.lastIndex()) - this.snapshotIndex;
    let bytes = 0;
    let i = start;
    for (; i < end; i++) {
      bytes += this.entries[i]!.data.length + 24;
      if (bytes > maxBytes && i > start) break;
    }
    return this.entries.slice(start, i);
  }

  /** Appends after truncating any conflicting suffix; returns the index of the first entry replaced or added (or 0 if nothing changed). */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return 0;
    const first = ents[0]!.index;
    if (first <= this.committed) throw new Error(`invariant: append at ${first} would overwrite committed ${this.committed}`);
    if (first > this.lastIndex() + 1) throw new Error(`invariant: append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.entries.length = first - this.snapshotIndex - 1;
    for (const e of ents) this.entries.push(e);
    this.unstableFrom = Math.min(this.unstableFrom, first);
    // a truncated suffix that was handed to storage is handed again (its replacement follows it in the WAL)
    this.inProgressTo = Math.min(this.inProgressTo, first - 1);
    return first;
  }

  /** Follower append: returns the last new index on success, or null when (prevIndex, prevTerm) does not match. Also returns the first changed index. */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): { lastNew: number; changedFrom: number } | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + ents.length;
    let conflictAt = -1;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.index <= this.snapshotIndex) continue;
      const existing = this.term(e.index);
      if (existing !== e.term) { conflictAt = i; break; }
    }
    let changedFrom = 0;
    if (conflictAt >= 0) changedFrom = this.append(ents.slice(conflictAt));
    this.commitTo(Math.min(leaderCommit, lastNew));
    return { lastNew, changedFrom };
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) throw new Error(`invariant: commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Index to retry from after a rejection: the largest index <= `index` whose term is <= `t`. */
  findConflictByTerm(index: number, t: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapshotIndex) {
      const it = this.term(i)!;
      if (it <= t) break;
      i--;
    }
    return i;
  }

  stableTo(index: number, t: number): void {
    if (index >= this.unstableFrom && this.term(index) === t) this.unstableFrom = index + 1;
  }

  /** Last index known to be durable here. */
  persistedIndex(): number { return this.unstableFrom - 1; }

  /** Entries not yet handed to storage; marks them handed. */
  takeUnpersisted(): Entry[] {
    const from = Math.max(this.inProgressTo + 1, this.unstableFrom, this.firstIndex());
    this.inProgressTo = this.lastIndex();
    if (from > this.lastIndex()) return [];
    return this.entries.slice(from - this.snapshotIndex - 1);
  }

  /** Drops entries up to and including `index` (which must be applied). */
  compact(index: number): void {
    if (index <= this.snapshotIndex) return;
    if (index > this.applied) throw new Error(`invariant: compact(${index}) beyond applied ${this.applied}`);
    const t = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = t;
  }

  /** Replaces the whole log by a snapshot boundary. */
  restore(index: number, t: number): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = t;
    this.committed = index;
    this.unstableFrom = index + 1;
    this.inProgressTo = index;
  }
}

