/**
 * ObjectStore: the only thing the snapshot package needs from S3 or a directory. Keys are '/'-separated
 * relative paths (see keys.ts). Metadata is a small string map (S3 user metadata; a sidecar file locally),
 * readable through head() without downloading the payload.
 */
import type { Readable } from 'node:stream';

export type ObjectMetadata = Readonly<Record<string, string>>;

export interface ObjectInfo {
  readonly key: string;
  readonly sizeBytes: number;
  readonly metadata: ObjectMetadata;
}

export interface ListedObject {
  readonly key: string;
  readonly sizeBytes: number;
}

export interface PutOptions {
  /** Lower-case keys of [a-z0-9-]; values printable ASCII. */
  readonly metadata?: ObjectMetadata;
}

export interface ObjectStore {
  /** Human-readable description for logs, e.g. "s3://bucket/prefix" or "file:///data/objects". */
  readonly description: string;
  /**
   * Writes the whole object or nothing: a reader never sees a partial object (S3 semantics; the
   * directory store uses temp file + fsync + rename + directory fsync). Streams are never buffered whole.
   */
  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void>;
  /** Streams the object. Throws ObjectNotFound if it does not exist. */
  get(key: string): Promise<Readable>;
  /** Size and metadata without the payload; null if the object does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with prefix, in ascending key order. */
  list(prefix: string): Promise<ListedObject[]>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}

const KEY_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Rejects keys that could escape a directory store or confuse S3 listings. */
export function assertValidKey(key: string): void {
  const segments = key.split('/');
  for (const segment of segments) {
    if (!KEY_SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new RangeError(`invalid object key ${JSON.stringify(key)}`);
    }
  }
}

const METADATA_KEY = /^[a-z0-9-]{1,64}$/;
const METADATA_VALUE = /^[\x20-\x7e]{0,1024}$/;

export function assertValidMetadata(metadata: ObjectMetadata | undefined): void {
  if (metadata === undefined) return;
  for (const [k, v] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(k)) throw new RangeError(`invalid metadata key ${JSON.stringify(k)}`);
    if (typeof v !== 'string' || !METADATA_VALUE.test(v)) throw new RangeError(`invalid metadata value for ${k}`);
  }
}
