#!/usr/bin/env node
// Run with exactly a broker's environment: builds the object store the way the broker's configuration describes it
// (src/config.ts, then @tributary/snapshot's createObjectStore; credentials from the AWS_* chain) and writes, reads,
// lists and deletes one object. Prints one JSON line; exit 0 = the broker's object store is usable.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../packages/broker/dist/src/config.js';
import { createObjectStore } from '../../packages/snapshot/dist/src/index.js';

const loaded = loadConfig('start');
if (!loaded.ok) {
  console.log(JSON.stringify({ ok: false, errors: loaded.errors }));
  process.exit(1);
}
const { config } = loaded;
const store =
  config.objectStore === 's3' ? createObjectStore({ kind: 's3', ...config.s3 }) : createObjectStore({ kind: 'local', dir: config.objectStoreDir });
const key = `probes/object-store-probe-${randomUUID()}`;
const body = Buffer.from(`written by node ${config.nodeId}`);
try {
  await store.put(key, body, { metadata: { probe: 'yes' } });
  const head = await store.head(key);
  const chunks = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk);
  const listed = (await store.list('probes/')).some((o) => o.key === key);
  await store.delete(key);
  const gone = (await store.head(key)) === null;
  const ok = Buffer.concat(chunks).equals(body) && head?.sizeBytes === body.length && head.metadata.probe === 'yes' && listed && gone;
  console.log(JSON.stringify({ ok, store: store.description, listed, gone }));
  process.exit(ok ? 0 : 1);
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err?.stack ?? err) }));
  process.exit(1);
}
