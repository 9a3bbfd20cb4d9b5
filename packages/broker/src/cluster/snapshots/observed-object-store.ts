// An ObjectStore decorator that reports every failed store call (an S3 outage, a refused request, a full disk) to
// a callback, for the tributary_snapshot_object_store_errors_total metric. "Not found" on get is an answer, not an
// error. The wrapped store's behaviour is otherwise unchanged (errors are rethrown as they are).
import { ObjectNotFound, type ObjectStore, type PutOptions } from '@tributary/snapshot';
import type { Readable } from 'node:stream';

export type ObjectStoreOperation = 'put' | 'get' | 'head' | 'list' | 'delete';

export class ObservedObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly onError: (operation: ObjectStoreOperation, error: unknown) => void,
  ) {}

  get description(): string {
    return this.inner.description;
  }

  private async observe<T>(operation: ObjectStoreOperation, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(operation === 'get' && error instanceof ObjectNotFound)) this.onError(operation, error);
      throw error;
    }
  }

  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void> {
    return this.observe('put', () => this.inner.put(key, body, options));
  }

  get(key: string): Promise<Readable> {
    return this.observe('get', () => this.inner.get(key));
  }

  head(key: string): ReturnType<ObjectStore['head']> {
    return this.observe('head', () => this.inner.head(key));
  }

  list(prefix: string): ReturnType<ObjectStore['list']> {
    return this.observe('list', () => this.inner.list(prefix));
  }

  delete(key: string): Promise<void> {
    return this.observe('delete', () => this.inner.delete(key));
  }
}
