/**
 * One process-wide timer that flushes every log with fsyncPolicy 'interval' when its interval is due, so
 * thousands of partitions do not each hold a timer. The timer is unref'd (it never keeps the process alive)
 * and stops when no log is registered.
 */
export interface IntervalFlushable {
  readonly flushIntervalMs: number;
  /** Flushes if there is anything not yet durable; must not throw (errors are the log's to report). */
  backgroundFlush(): void;
}

interface Registration {
  nextDueMs: number;
}

const TICK_FLOOR_MS = 5;

export class FlushScheduler {
  private readonly registered = new Map<IntervalFlushable, Registration>();
  private timer: NodeJS.Timeout | null = null;
  private tickMs = Number.POSITIVE_INFINITY;
  private readonly nowMs: () => number;

  constructor(nowMs: () => number = Date.now) {
    this.nowMs = nowMs;
  }

  register(log: IntervalFlushable): void {
    this.registered.set(log, { nextDueMs: this.nowMs() + log.flushIntervalMs });
    this.reschedule();
  }

  unregister(log: IntervalFlushable): void {
    this.registered.delete(log);
    this.reschedule();
  }

  get size(): number {
    return this.registered.size;
  }

  /** Flushes every due log now (the timer calls this; tests may too). */
  tick(): void {
    const now = this.nowMs();
    for (const [log, registration] of this.registered) {
      if (registration.nextDueMs <= now) {
        registration.nextDueMs = now + log.flushIntervalMs;
        log.backgroundFlush();
      }
    }
  }

  private reschedule(): void {
    let tickMs = Number.POSITIVE_INFINITY;
    for (const log of this.registered.keys()) tickMs = Math.min(tickMs, log.flushIntervalMs);
    if (tickMs === this.tickMs) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.tickMs = tickMs;
    if (Number.isFinite(tickMs)) {
      // Ticking at the shortest interval bounds every log's flush delay by twice its interval at worst.
      this.timer = setInterval(() => this.tick(), Math.max(TICK_FLOOR_MS, tickMs));
      this.timer.unref();
    }
  }
}

/** The scheduler shared by every PartitionLog of the process unless one is injected. */
export const sharedFlushScheduler = new FlushScheduler();
