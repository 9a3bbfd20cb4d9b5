/** Builds the configured ObjectStore (shape matches the broker's TRIBUTARY_OBJECT_STORE / TRIBUTARY_S3_* config). */
import type { ObjectStore } from './object-store.js';
import { LocalDirectoryObjectStore } from './stores/local-store.js';
import type { S3ObjectStoreConfig } from './stores/s3-store.js';
import { S3ObjectStore } from './stores/s3-store.js';

export type ObjectStoreConfig =
  | { readonly kind: 'local'; readonly dir: string }
  | ({ readonly kind: 's3' } & S3ObjectStoreConfig);

export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  if (config.kind === 'local') return new LocalDirectoryObjectStore(config.dir);
  const { kind: _kind, ...s3 } = config;
  return new S3ObjectStore(s3);
}
