// In-sync replicas of a partition, as its Raft leader sees them. Kafka's rule, in Raft terms: a follower is in sync
// when it holds everything the leader held `lagTimeMs` ago (its Raft match index has reached the leader's last
// index of then) and its node has been heard from within `lagTimeMs`. The leader is always in sync.
//
// The leader samples its last index over time (the leadership service every few hundred ms, produce on the way);
// samples older than the window are dropped but one, the reference point. A follower whose match equals the
// leader's last index right now is in sync whatever the samples say (an idle partition needs no history).
// Before a leader has a sample older than the window (just elected), every follower heard from recently counts as
// in sync, as Kafka gives each ISR member a fresh caught-up time at election.

export interface LeaderProgress {
  readonly selfId: number;
  readonly term: number;
  readonly lastIndex: number;
  /** Raft match index of every voter, leader included. */
  readonly match: ReadonlyMap<number, number>;
}

interface Sample {
  readonly atMs: number;
  readonly lastIndex: number;
}

/** At most one sample per this interval: produce can observe on every request without growing the list. */
const SAMPLE_SPACING_MS = 100;

export class IsrTracker {
  private samples: Sample[] = [];
  private term = -1;

  /** Records the leader's last index at `nowMs` (a new term starts a new history). */
  observe(term: number, lastIndex: number, nowMs: number, lagTimeMs: number): void {
    if (term !== this.term) {
      this.term = term;
      this.samples = [];
    }
    const newest = this.samples[this.samples.length - 1];
    if (newest !== undefined && nowMs - newest.atMs < SAMPLE_SPACING_MS) return;
    this.samples.push({ atMs: nowMs, lastIndex });
    // keep one sample at or before the window's start: it is the reference the followers must have reached
    let drop = 0;
    while (drop + 1 < this.samples.length && this.samples[drop + 1]!.atMs <= nowMs - lagTimeMs) drop++;
    if (drop > 0) this.samples = this.samples.slice(drop);
  }

  /** The index every in-sync follower must have reached: the leader's last index `lagTimeMs` ago (0: no history). */
  requiredIndex(nowMs: number, lagTimeMs: number): number {
    let required = 0;
    for (const s of this.samples) {
      if (s.atMs > nowMs - lagTimeMs) break;
      required = s.lastIndex;
    }
    return required;
  }

  /**
   * The in-sync voters, leader first then ascending ids. `heardAtMs(peer)` is when the peer's node last sent this
   * node anything (undefined: never).
   */
  inSync(progress: LeaderProgress, nowMs: number, lagTimeMs: number, heardAtMs: (peer: number) => number | undefined): number[] {
    this.observe(progress.term, progress.lastIndex, nowMs, lagTimeMs);
    const required = this.requiredIndex(nowMs, lagTimeMs);
    const out = [progress.selfId];
    const peers = [...progress.match.keys()].filter((p) => p !== progress.selfId).sort((a, b) => a - b);
    for (const peer of peers) {
      const heard = heardAtMs(peer);
      if (heard === undefined || nowMs - heard > lagTimeMs) continue;
      const match = progress.match.get(peer)!;
      if (match >= progress.lastIndex || match >= required) out.push(peer);
    }
    return out;
  }
}
