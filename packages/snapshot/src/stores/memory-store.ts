/**
 * In-memory ObjectStore for tests and tools, with fault injection so outage handling can be tested
 * deterministically (no sockets, no sleeps).
 */
import { Readable } from 'node:stream';
import { ObjectNotFound } from '../errors.js';
import type { ListedObject, ObjectInfo, ObjectMetadata, ObjectStore, PutOptions } from '../object-store.js';
import { assertValidKey, assertValidMetadata } from '../object-store.js';

export type StoreOperation = 'put' | 'get' | 'head' | 'list' | 'delete';

export class StoreUnavailableError extends Error {
  constructor(operation: StoreOperation, key: string) {
    super(`object store unavailable (${operation} ${key})`);
    this.name = 'StoreUnavailableError';
  }
}

export class MemoryObjectStore implements ObjectStore {
  readonly description = 'memory://';
  private readonly objects = new Map<string, { bytes: Buffer; metadata: ObjectMetadata }>();
  /** While false every operation fails, like an unreachable S3 endpoint. */
  available = true;
  /** Optional hook to fail specific operations (return an Error to throw it). */
  failWhen: ((operation: StoreOperation, key: string) => Error | undefined) | undefined;
  readonly operationCounts: Record<StoreOperation, number> = { put: 0, get: 0, head: 0, list: 0, delete: 0 };

  private check(operation: StoreOperation, key: string): void {
    this.operationCounts[operation] += 1;
    if (!this.available) throw new StoreUnavailableError(operation, key);
    const injected = this.failWhen?.(operation, key);
    if (injected !== undefined) throw injected;
  }

  async put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void> {
    assertValidKey(key);
    assertValidMetadata(options?.metadata);
    this.check('put', key);
    let bytes: Buffer;
    if (Buffer.isBuffer(body)) {
      bytes = Buffer.from(body);
    } else {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      bytes = Buffer.concat(chunks);
    }
    // Re-check after a streamed body: an outage during the upload loses the upload, as with S3.
    if (!this.available) throw new StoreUnavailableError('put', key);
    this.objects.set(key, { bytes, metadata: { ...(options?.metadata ?? {}) } });
  }

  async get(key: string): Promise<Readable> {
    this.check('get', key);
    const entry = this.objects.get(key);
    if (entry === undefined) throw new ObjectNotFound(key);
    // Hand out 64 KiB chunks, like a network stream.
    const bytes = entry.bytes;
    return Readable.from(
      (function* () {
        for (let at = 0; at < bytes.length; at += 65536) yield bytes.subarray(at, Math.min(bytes.length, at + 65536));
      })(),
    );
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.check('head', key);
    const entry = this.objects.get(key);
    return entry === undefined ? null : { key, sizeBytes: entry.bytes.length, metadata: { ...entry.metadata } };
  }

  async list(prefix: string): Promise<ListedObject[]> {
    this.check('list', prefix);
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, entry]) => ({ key, sizeBytes: entry.bytes.length }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    this.check('delete', key);
    this.objects.delete(key);
  }

  // ---- test helpers (not part of ObjectStore) ----

  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /** Raw bytes of an object (tests use it to corrupt objects on purpose). */
  rawBytes(key: string): Buffer | undefined {
    return this.objects.get(key)?.bytes;
  }

  setRawBytes(key: string, bytes: Buffer): void {
    const entry = this.objects.get(key);
    if (entry === undefined) throw new ObjectNotFound(key);
    entry.bytes = bytes;
  }
}
