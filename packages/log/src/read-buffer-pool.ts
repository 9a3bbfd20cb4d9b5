/**
 * Recycled read windows for the fetch path. A consumer catching up reads about 1 MiB per fetch; a fresh buffer
 * per read makes V8 collect often (the large external allocations drive its GC heuristics). Reads take their window
 * from this pool; whoever finally consumes the returned records (the broker, once the socket write that sent them
 * completed) may hand them back with `releaseReadBuffer`. Records never released are simply garbage collected, so
 * a caller that keeps them (or does not know about the pool) is always safe: only an explicit release makes a
 * buffer reusable, and releasing is a promise that nothing reads that view (or any other view of its memory) again.
 */

/** Reads below this size are not worth pooling (small allocations come from Node's own slab). */
const POOLED_MIN_BYTES = 64 * 1024;

export class ReadBufferPool {
  private readonly free: ArrayBuffer[] = [];
  /** Buffers handed out and not yet released (weak: an unreleased one is garbage collected as usual). */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private created = 0;

  constructor(
    /** Size of every pooled buffer; larger reads get a buffer of their own. */
    readonly bufferBytes: number,
    /** Free buffers kept for reuse; releases beyond this are dropped. */
    readonly freeBuffersMax: number,
  ) {}

  /** A buffer of exactly `length` bytes, a view of a pooled buffer when `length` fits one. */
  take(length: number): Buffer {
    if (length < POOLED_MIN_BYTES || length > this.bufferBytes) return Buffer.allocUnsafe(length);
    let memory = this.free.pop();
    if (memory === undefined) {
      memory = new ArrayBuffer(this.bufferBytes);
      this.created++;
    }
    this.lent.add(memory);
    return Buffer.from(memory, 0, length);
  }

  /**
   * Returns the pooled buffer `view` belongs to. True when it was lent by this pool and not yet released; any
   * other view (a pool-less buffer, a second release of the same memory) is ignored.
   */
  release(view: Uint8Array): boolean {
    const memory = view.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.lent.has(memory)) return false;
    this.lent.delete(memory);
    if (this.free.length < this.freeBuffersMax) this.free.push(memory);
    return true;
  }

  /** For tests and metrics: buffers ready for reuse, and how many the pool ever allocated. */
  get stats(): { free: number; created: number } {
    return { free: this.free.length, created: this.created };
  }
}

/**
 * The process-wide pool used by PartitionLog reads: buffers of 1.5 MiB (a 1 MiB partition fetch plus the index
 * interval and read slack fits), at most 16 kept free (24 MiB).
 */
export const sharedReadBufferPool = new ReadBufferPool(1536 * 1024, 16);

/**
 * Hands back records returned by `PartitionLog.read` once nothing will read them again (e.g. after the socket
 * write that sent them completed). Every view of the same read shares one buffer: release once per read.
 * Returns whether a pooled buffer was freed.
 */
export function releaseReadBuffer(records: Uint8Array): boolean {
  return sharedReadBufferPool.release(records);
}
