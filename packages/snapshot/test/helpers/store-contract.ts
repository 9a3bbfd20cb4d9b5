import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ObjectNotFound } from '../../src/errors.js';
import type { ObjectStore } from '../../src/object-store.js';
import { collect, generatedStream, pseudoRandomBytes } from './fixtures.js';

/** Behaviour every ObjectStore must have; run against memory, local directory and S3. */
export async function checkObjectStoreContract(store: ObjectStore, options: { largeBytes?: number; eventualListing?: boolean } = {}): Promise<void> {
  const payload = pseudoRandomBytes(10_000, 11);
  await store.put('snapshots/c1/g1/00000000000000000010-2.snap', payload, { metadata: { 'tributary-index': '10', 'tributary-crc32': '123' } });
  const head = await store.head('snapshots/c1/g1/00000000000000000010-2.snap');
  assert.ok(head !== null);
  assert.equal(head.sizeBytes, payload.length);
  assert.equal(head.metadata['tributary-index'], '10');
  assert.equal(head.metadata['tributary-crc32'], '123');
  assert.ok((await collect(await store.get('snapshots/c1/g1/00000000000000000010-2.snap'))).equals(payload));

  // Overwrite replaces bytes and metadata.
  await store.put('snapshots/c1/g1/00000000000000000010-2.snap', Buffer.from('v2'), { metadata: { 'tributary-index': '11' } });
  const head2 = await store.head('snapshots/c1/g1/00000000000000000010-2.snap');
  assert.equal(head2?.sizeBytes, 2);
  assert.equal(head2?.metadata['tributary-index'], '11');

  // Streams.
  const streamed = pseudoRandomBytes(300_000, 12);
  await store.put('snapshots/c1/g1/00000000000000000009-2.snap', Readable.from([streamed.subarray(0, 1000), streamed.subarray(1000)], { objectMode: false }));
  assert.ok((await collect(await store.get('snapshots/c1/g1/00000000000000000009-2.snap'))).equals(streamed));
  await store.put('snapshots/c1/g2/x', Buffer.alloc(0));
  assert.equal((await store.head('snapshots/c1/g2/x'))?.sizeBytes, 0);

  if (options.largeBytes !== undefined) {
    await store.put('segments/c1/g1/large', generatedStream(options.largeBytes, 1024 * 1024));
    assert.equal((await store.head('segments/c1/g1/large'))?.sizeBytes, options.largeBytes);
    let total = 0;
    for await (const chunk of await store.get('segments/c1/g1/large')) total += (chunk as Buffer).length;
    assert.equal(total, options.largeBytes);
    await store.delete('segments/c1/g1/large');
  }

  // Listing by prefix, ascending.
  const listed = await store.list('snapshots/c1/g1/');
  assert.deepEqual(
    listed.map((o) => o.key),
    ['snapshots/c1/g1/00000000000000000009-2.snap', 'snapshots/c1/g1/00000000000000000010-2.snap'],
  );
  assert.equal(listed[0]?.sizeBytes, streamed.length);
  assert.deepEqual((await store.list('snapshots/c1/')).map((o) => o.key).length, 3);
  assert.deepEqual(await store.list('nothing/here/'), []);

  // Missing keys.
  assert.equal(await store.head('snapshots/c1/g1/missing'), null);
  await assert.rejects(store.get('snapshots/c1/g1/missing'), ObjectNotFound);

  // Delete is idempotent.
  await store.delete('snapshots/c1/g1/00000000000000000010-2.snap');
  await store.delete('snapshots/c1/g1/00000000000000000010-2.snap');
  assert.equal(await store.head('snapshots/c1/g1/00000000000000000010-2.snap'), null);
  await store.delete('snapshots/c1/g1/00000000000000000009-2.snap');
  await store.delete('snapshots/c1/g2/x');
  assert.equal(await store.head('snapshots/c1/g2/x'), null);
  if (options.eventualListing === true) {
    // Some S3-compatible servers (SeaweedFS under load) serve listings from a cache for a moment.
    const deadline = Date.now() + 10_000;
    while ((await store.list('snapshots/')).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(await store.list('snapshots/'), []);

  // Bad keys and metadata are rejected before anything is written.
  await assert.rejects(store.put('../escape', Buffer.from('x')), RangeError);
  await assert.rejects(store.put('a//b', Buffer.from('x')), RangeError);
  await assert.rejects(store.put('a/b', Buffer.from('x'), { metadata: { 'Bad Key': 'v' } }), RangeError);

  // A failing body stream leaves no object behind.
  const failing = new Readable({
    read() {
      this.destroy(new Error('source failed'));
    },
  });
  await assert.rejects(store.put('snapshots/c1/g3/failed', failing));
  assert.equal(await store.head('snapshots/c1/g3/failed'), null);
}
