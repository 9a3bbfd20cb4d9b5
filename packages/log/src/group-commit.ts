/**
 * Group commit: coalesces concurrent durability requests into as few sync rounds as possible.
 *
 * - No round running: a request starts one.
 * - A round running that already covers what the caller needs: the caller joins it.
 * - Otherwise the caller joins the single follow-up round, which starts when the running one settles; every
 *   request made meanwhile shares that same follow-up (so N callers during one fsync cost one more fsync).
 *
 * `startRound` must capture what it will make durable synchronously, before its first await.
 */
export class GroupCommit<T> {
  private inFlight: Promise<T> | null = null;
  private queued: Promise<T> | null = null;
  private readonly startRound: () => Promise<T>;

  constructor(startRound: () => Promise<T>) {
    this.startRound = startRound;
  }

  /** Whether a round is running or queued. */
  get busy(): boolean {
    return this.inFlight !== null || this.queued !== null;
  }

  /** A round that will cover everything requested before this call; `coveredByInFlight` lets callers join the running one. */
  request(coveredByInFlight: boolean): Promise<T> {
    if (this.queued !== null) return this.queued;
    if (this.inFlight === null) return this.start();
    if (coveredByInFlight) return this.inFlight;
    const queued = this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.start();
      });
    this.queued = queued;
    return queued;
  }

  /** Waits until no round is running or queued (errors are the requesters' to handle). */
  async drain(): Promise<void> {
    while (this.queued !== null || this.inFlight !== null) {
      await (this.queued ?? this.inFlight)!.catch(() => undefined);
    }
  }

  private start(): Promise<T> {
    const round = this.startRound().finally(() => {
      if (this.inFlight === round) this.inFlight = null;
    });
    this.inFlight = round;
    return round;
  }
}
