import type { Readable } from 'node:stream';
import type { ListedObject, ObjectInfo, ObjectStore, PutOptions } from '../../src/object-store.js';

/** Wraps a store and reports every operation's start and end (debugging flaky integration runs). */
export class TracingStore implements ObjectStore {
  readonly description: string;
  constructor(
    private readonly inner: ObjectStore,
    private readonly log: (line: string) => void,
  ) {
    this.description = inner.description;
  }

  private async trace<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    this.log(`> ${what}`);
    try {
      const result = await fn();
      this.log(`< ${what} ok ${Date.now() - t0}ms`);
      return result;
    } catch (error) {
      this.log(`< ${what} FAILED ${Date.now() - t0}ms ${String(error)}`);
      throw error;
    }
  }

  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void> {
    return this.trace(`put ${key}`, () => this.inner.put(key, body, options));
  }
  get(key: string): Promise<Readable> {
    return this.trace(`get ${key}`, () => this.inner.get(key));
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.trace(`head ${key}`, () => this.inner.head(key));
  }
  list(prefix: string): Promise<ListedObject[]> {
    return this.trace(`list ${prefix}`, () => this.inner.list(prefix));
  }
  delete(key: string): Promise<void> {
    return this.trace(`delete ${key}`, () => this.inner.delete(key));
  }
}
