/**
 * A shared, reference-counted read handle for one segment file. The active segment keeps its handle open between
 * reads (consumers tailing the log pay no open/close per fetch); once a segment is retired (sealed or deleted)
 * its handle closes as soon as the last in-flight reader releases it, and later reads open one for themselves
 * (shared by whatever reads overlap). A handle is never closed while a read is using it.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class SegmentReadHandle {
  private readonly path: string;
  private handle: Promise<FileHandle> | null = null;
  private readers = 0;
  private retired = false;

  constructor(path: string) {
    this.path = path;
  }

  /** Opens (or shares) the handle; every successful acquire must be paired with one release(). */
  async acquire(): Promise<FileHandle> {
    this.readers++;
    if (this.handle === null) this.handle = open(this.path, 'r');
    const pending = this.handle;
    try {
      return await pending;
    } catch (error) {
      this.readers--;
      if (this.handle === pending) this.handle = null;
      throw error;
    }
  }

  release(): void {
    this.readers--;
    if (this.readers === 0 && this.retired) this.closeNow();
  }

  /** From now on the handle is not kept open between reads. */
  retire(): void {
    this.retired = true;
    if (this.readers === 0) this.closeNow();
  }

  /** Whether a handle is open or opening (for tests and fd accounting). */
  get isOpen(): boolean {
    return this.handle !== null;
  }

  /** Resolves once every handle this object opened has been closed (after retire() and the last release()). */
  whenClosed(): Promise<void> {
    return this.closing;
  }

  private closing: Promise<void> = Promise.resolve();

  private closeNow(): void {
    const pending = this.handle;
    this.handle = null;
    if (pending === null) return;
    const previous = this.closing;
    this.closing = pending
      .then((handle) => handle.close())
      .catch(() => undefined)
      .then(() => previous);
  }
}
