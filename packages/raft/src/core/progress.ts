// Per-follower replication progress kept by a leader (etcd's probe / replicate / snapshot states).

export const ProgressState = { Probe: 0, Replicate: 1, Snapshot: 2 } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/** Ring of the last index of each in-flight append, bounding how far replication runs ahead of acks. */
export class Inflights {
  /** Grows on demand up to `capacity`, so idle groups do not pay for a full window. */
  private buffer: number[] = [];
  private start = 0;
  count = 0;
  constructor(readonly capacity: number) {}
  full(): boolean { return this.count >= this.capacity; }
  add(lastIndex: number): void {
    if (this.full()) throw new Error('invariant: inflights overflow');
    if (this.count === this.buffer.length) {
      const grown = new Array<number>(Math.min(this.capacity, Math.max(4, this.buffer.length * 2)));
      for (let i = 0; i < this.count; i++) grown[i] = this.buffer[(this.start + i) % this.buffer.length]!;
      this.buffer = grown;
      this.start = 0;
    }
    this.buffer[(this.start + this.count) % this.buffer.length] = lastIndex;
    this.count++;
  }
  /** Frees every in-flight append whose last index is <= `index`. */
  freeLE(index: number): void {
    while (this.count > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.buffer.length;
      this.count--;
    }
  }
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.buffer.length;
    this.count--;
  }
  reset(): void { this.start = 0; this.count = 0; }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Probe state: one append is outstanding; wait for its answer (or a heartbeat answer) before the next. */
  probeSent = false;
  pendingSnapshot = 0;
  /** Ticks spent in the snapshot state, to retry a lost snapshot. */
  snapshotTicks = 0;
  recentActive = false;
  /** Highest commit index sent to this peer in an Append (so a commit announcement skips peers that have it). */
  sentCommit = 0;
  /** An Append went to this peer since the last heartbeat tick (see skipRedundantHeartbeats). */
  appendedSinceHeartbeat = false;
  /** This peer answered an Append since the last heartbeat tick: it is up and hosts the group (see skipRedundantHeartbeats). */
  answeredSinceHeartbeat = false;
  /** Highest read-index sequence this peer has acknowledged in the current term. */
  readAck = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
      this.pendingSnapshot = 0;
    } else {
      this.next = this.match + 1;
    }
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.inflights.reset();
  }
  /**
   * The follower lost its durable state (restarted with a wiped data directory): forget its match and probe from
   * `next`; its rejections then walk `next` down to what it really holds. Lowering `match` is safe: commit never
   * moves backwards, and a smaller match can only delay a commit.
   */
  resetForLostState(next: number): void {
    this.match = 0;
    this.next = next;
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.readAck = 0;
    this.sentCommit = 0;
    this.inflights.reset();
  }
  becomeReplicate(): void {
    this.state = ProgressState.Replicate;
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights.reset();
  }
  becomeSnapshot(snapshotIndex: number): void {
    this.state = ProgressState.Snapshot;
    this.pendingSnapshot = snapshotIndex;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  /** Accepted append up to `index`; returns whether match advanced. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Rejected append at `rejected` with the follower's hint; returns false when the rejection is stale. */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe: return this.probeSent;
      case ProgressState.Replicate: return this.inflights.full();
      case ProgressState.Snapshot: return true;
    }
  }
}
