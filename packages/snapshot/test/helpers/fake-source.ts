import type { RaftGroupId, RaftIndex } from '../../src/ids.js';
import { raftGroupId, raftIndex, raftTerm } from '../../src/ids.js';
import type { SnapshotSource, SnapshotSourceStatus } from '../../src/manager.js';
import type { SnapshotContent } from '../../src/repository.js';

/**
 * A Raft group in memory: a log of entries (index -> bytes) and an applied state that is the list of all
 * applied entries. compactLog drops log entries; the state is what a snapshot captures.
 */
export class FakeGroup implements SnapshotSource {
  readonly raftGroupId: RaftGroupId;
  applied = 0;
  readonly log = new Map<number, Buffer>();
  /** Every entry ever applied (the state machine), for "nothing lost" checks. */
  readonly state: Buffer[] = [];
  lastWriteAtMs: number | null = null;
  compactedThrough = 0;
  createCalls = 0;
  failCreate: Error | null = null;
  failCompact: Error | null = null;
  gate: Promise<void> | null = null;
  lastSnapshotIndex?: () => RaftIndex;

  constructor(
    name: string,
    private readonly nowMs: () => number,
  ) {
    this.raftGroupId = raftGroupId(name);
  }

  write(count: number): void {
    for (let i = 0; i < count; i++) {
      this.applied += 1;
      const entry = Buffer.from(`${this.raftGroupId}:${this.applied};`);
      this.log.set(this.applied, entry);
      this.state.push(entry);
    }
    this.lastWriteAtMs = this.nowMs();
  }

  status(): SnapshotSourceStatus {
    return { appliedIndex: raftIndex(this.applied), appliedTerm: raftTerm(1), lastWriteAtMs: this.lastWriteAtMs };
  }

  async createSnapshot(): Promise<SnapshotContent> {
    this.createCalls += 1;
    const index = this.applied;
    const rest = Buffer.concat(this.state.slice(0, index));
    if (this.gate !== null) await this.gate;
    if (this.failCreate !== null) throw this.failCreate;
    return { index: raftIndex(index), term: raftTerm(1), membership: Buffer.from('1'), rest };
  }

  async compactLog(upToIndex: RaftIndex): Promise<void> {
    if (this.failCompact !== null) throw this.failCompact;
    for (const index of [...this.log.keys()]) if (index <= upToIndex) this.log.delete(index);
    this.compactedThrough = Math.max(this.compactedThrough, upToIndex);
  }
}

export class ManualClock {
  constructor(public ms = 1_000_000) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
