// Safety checkers fed by the simulator. Each records the first violation it sees.
import type { Entry, NodeId, RaftIndex } from '../core/types.js';

export function entryKey(e: Entry): string {
  return `${e.term}:${e.type}:${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('hex')}`;
}

export class Checker {
  readonly violations: string[] = [];
  /** term -> leader elected in it */
  private leaders = new Map<number, NodeId>();
  /** index -> key of the entry committed there */
  readonly committed = new Map<number, string>();
  maxCommitted = 0;
  /** index -> state-machine hash after applying it */
  private appliedHash = new Map<number, number>();
  /** acknowledged proposals: index -> key */
  readonly acknowledged = new Map<number, string>();

  fail(msg: string): void { if (this.violations.length < 10) this.violations.push(msg); }

  leaderElected(id: NodeId, t: number, log: { term(i: number): number | undefined; entry(i: number): Entry | undefined; snapshotIndex: number; lastIndex(): number }): void {
    const prev = this.leaders.get(t);
    if (prev !== undefined && prev !== id) this.fail(`election safety: term ${t} has leaders ${prev} and ${id}`);
    this.leaders.set(t, id);
    // leader completeness: every committed entry is in the new leader's log
    for (const [index, key] of this.committed) {
      if (index <= log.snapshotIndex) continue;
      const e = log.entry(index);
      if (e === undefined || entryKey(e) !== key) {
        this.fail(`leader completeness: leader ${id} of term ${t} lacks committed entry ${index} (${key}); has ${e === undefined ? 'nothing' : entryKey(e)}`);
        return;
      }
    }
  }

  /** A node's commit index covers `e`. */
  entryCommitted(node: NodeId, e: Entry): void {
    const key = entryKey(e);
    const prev = this.committed.get(e.index);
    if (prev === undefined) {
      this.committed.set(e.index, key);
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
    } else if (prev !== key) {
      this.fail(`committed entry changed: node ${node} has ${key} committed at ${e.index}, previously ${prev}`);
    }
  }

  applied(node: NodeId, index: RaftIndex, hash: number): void {
    const prev = this.appliedHash.get(index);
    if (prev === undefined) this.appliedHash.set(index, hash);
    else if (prev !== hash) this.fail(`state machine safety: node ${node} state after index ${index} differs from another node's`);
  }

  acknowledge(index: number, key: string): void {
    this.acknowledged.set(index, key);
  }

  /** Final check: every acknowledged proposal is committed at its index. */
  finish(): void {
    for (const [index, key] of this.acknowledged) {
      const c = this.committed.get(index);
      if (c !== undefined && c !== key) this.fail(`acknowledged proposal at ${index} (${key}) replaced by ${c}`);
    }
  }
}

/** 32-bit FNV-1a style rolling hash of the applied sequence. */
export function mixHash(h: number, e: Entry): number {
  let x = (h ^ e.term) >>> 0;
  x = Math.imul(x, 16777619) >>> 0;
  x = (x ^ e.type) >>> 0;
  for (let i = 0; i < e.data.length; i++) x = Math.imul(x ^ e.data[i]!, 16777619) >>> 0;
  return Math.imul(x ^ e.index, 16777619) >>> 0;
}
