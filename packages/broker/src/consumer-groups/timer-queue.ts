// One min-heap of deadlines for every timer of every group (sessions, join phases, pending syncs, retention).
// Re-arming a key replaces its deadline; stale heap entries are skipped when they surface (lazy deletion)
// and the heap is rebuilt when they outnumber the live ones.

interface HeapEntry {
  deadlineMs: number;
  key: string;
  /** Matches `armed.get(key).sequence` only while this entry is the live one for its key. */
  sequence: number;
}

export class TimerQueue {
  private heap: HeapEntry[] = [];
  private readonly armed = new Map<string, { deadlineMs: number; sequence: number }>();
  private nextSequence = 0;

  get size(): number {
    return this.armed.size;
  }

  arm(key: string, deadlineMs: number): void {
    const sequence = this.nextSequence++;
    this.armed.set(key, { deadlineMs, sequence });
    this.push({ deadlineMs, key, sequence });
    if (this.heap.length > 64 && this.heap.length > 2 * this.armed.size) this.rebuild();
  }

  cancel(key: string): void {
    this.armed.delete(key);
  }

  isArmed(key: string): boolean {
    return this.armed.has(key);
  }

  /** Earliest live deadline, or null when nothing is armed. */
  nextDeadlineMs(): number | null {
    this.dropStaleTop();
    return this.heap[0]?.deadlineMs ?? null;
  }

  /** Removes and returns the keys due at `nowMs`, earliest first. */
  popDue(nowMs: number): string[] {
    const due: string[] = [];
    for (;;) {
      this.dropStaleTop();
      const top = this.heap[0];
      if (top === undefined || top.deadlineMs > nowMs) return due;
      this.pop();
      this.armed.delete(top.key);
      due.push(top.key);
    }
  }

  clear(): void {
    this.heap = [];
    this.armed.clear();
  }

  private isLive(entry: HeapEntry): boolean {
    return this.armed.get(entry.key)?.sequence === entry.sequence;
  }

  private dropStaleTop(): void {
    while (this.heap.length > 0 && !this.isLive(this.heap[0]!)) this.pop();
  }

  private rebuild(): void {
    const live = this.heap.filter((e) => this.isLive(e));
    this.heap = [];
    for (const e of live) this.push(e);
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.sequence < b.sequence);
}
