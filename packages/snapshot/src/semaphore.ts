/** A counting semaphore. Every acquire is paired with exactly one release (callers use try/finally). */
export class Semaphore {
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`semaphore capacity must be >= 1, got ${capacity}`);
  }

  get inUse(): number {
    return this.used;
  }

  get available(): number {
    return this.capacity - this.used;
  }

  tryAcquire(): boolean {
    if (this.used >= this.capacity || this.waiters.length > 0) return false;
    this.used += 1;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    if (this.used <= 0) throw new Error('semaphore released more often than acquired');
    const next = this.waiters.shift();
    if (next !== undefined) next(); // the slot passes straight to the waiter
    else this.used -= 1;
  }

  /** Runs fn holding one slot; the slot is released however fn ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
