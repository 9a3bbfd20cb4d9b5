import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectoryObjectStore } from '../src/stores/local-store.js';
import { MemoryObjectStore, StoreUnavailableError } from '../src/stores/memory-store.js';
import { S3ObjectStore } from '../src/stores/s3-store.js';
import { createObjectStore } from '../src/store-factory.js';
import { checkObjectStoreContract } from './helpers/store-contract.js';

test('MemoryObjectStore honours the ObjectStore contract', async () => {
  await checkObjectStoreContract(new MemoryObjectStore());
});

test('MemoryObjectStore outage: every operation fails while unavailable', async () => {
  const store = new MemoryObjectStore();
  store.available = false;
  await assert.rejects(store.put('a/b', Buffer.from('x')), StoreUnavailableError);
  await assert.rejects(store.list('a/'), StoreUnavailableError);
  store.available = true;
  await store.put('a/b', Buffer.from('x'));
  assert.deepEqual(store.keys(), ['a/b']);
});

test('LocalDirectoryObjectStore honours the ObjectStore contract and leaves no temp files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-snapshot-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new LocalDirectoryObjectStore(dir);
  await checkObjectStoreContract(store, { largeBytes: 8 * 1024 * 1024 });
  assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  // A second instance over the same directory sees the same objects (it is durable state, not memory).
  await store.put('manifests/c/g/00000000000000000001-1.json', Buffer.from('{}'), { metadata: { 'tributary-index': '1' } });
  const reopened = new LocalDirectoryObjectStore(dir);
  assert.equal((await reopened.head('manifests/c/g/00000000000000000001-1.json'))?.metadata['tributary-index'], '1');
});

test('createObjectStore builds the configured store; stale temp files from a crash are removed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-snapshot-factory-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const local = createObjectStore({ kind: 'local', dir });
  assert.ok(local instanceof LocalDirectoryObjectStore);
  const s3 = createObjectStore({ kind: 's3', bucket: 'b-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  assert.ok(s3 instanceof S3ObjectStore);
  assert.match(s3.description, /^s3:\/\/b-1\//);
  (s3 as S3ObjectStore).close();

  await mkdir(join(dir, 'tmp'), { recursive: true });
  await writeFile(join(dir, 'tmp', '123-abc.data'), 'half written');
  assert.equal(await (local as LocalDirectoryObjectStore).removeStaleTemporaryFiles(), 1);
  assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  assert.deepEqual(await local.list(''), []);
});
