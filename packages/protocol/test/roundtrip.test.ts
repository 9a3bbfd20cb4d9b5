// Property tests: for every API, every supported version, request and response:
// decode(encode(x)) == x (on the fields present in that version), and the encoded size is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  supportedApiVersions,
  schemasFor,
  parseVersions,
  encodeBody,
  decodeBody,
  apiKeyName,
  ApiKey,
  encodeResponse,
  encodeResponseChunks,
  type MessageSchema,
} from '../src/index.js';
import { messageArbitrary, project } from './schema-arbitraries.js';

function checkSchema(schema: MessageSchema, version: number): void {
  fc.assert(
    fc.property(messageArbitrary(schema, version), (value) => {
      const bytes = encodeBody(schema, version, value);
      const decoded = decodeBody(schema, version, bytes);
      assert.deepStrictEqual(project(schema.fields, version, decoded), value);
      // re-encoding the decoded value yields identical bytes
      assert.deepStrictEqual(encodeBody(schema, version, decoded), bytes);
    }),
    { numRuns: 25, seed: 42 },
  );
}

for (const { apiKey } of supportedApiVersions()) {
  const schemas = schemasFor(apiKey)!;
  const { min, max } = parseVersions(schemas.request.validVersions);
  test(`${apiKeyName(apiKey)} v${min}-v${max} request and response round-trip`, () => {
    for (let version = min; version <= max; version++) {
      checkSchema(schemas.request, version);
      checkSchema(schemas.response, version);
    }
  });
}

test('advertised ranges cover the required APIs', () => {
  const byKey = new Map(supportedApiVersions().map((r) => [r.apiKey, r]));
  const expect: [string, number, number][] = [
    ['ApiVersions', 0, 4],
    ['Metadata', 0, 12],
    ['Produce', 3, 11],
    ['Fetch', 4, 12],
    ['ListOffsets', 0, 8],
    ['CreateTopics', 0, 7],
    ['DeleteTopics', 0, 6],
    ['JoinGroup', 0, 9],
    ['OffsetCommit', 0, 8],
    ['OffsetFetch', 0, 8],
  ];
  for (const [name, min, max] of expect) {
    const entry = [...byKey.values()].find((r) => apiKeyName(r.apiKey) === name);
    assert.ok(entry, name);
    assert.equal(entry.minVersion, min, `${name} min`);
    assert.equal(entry.maxVersion, max, `${name} max`);
  }
});

test('encodeResponseChunks equals encodeResponse for every Fetch version (records around the 1 KiB splice threshold)', () => {
  const schema = schemasFor(ApiKey.Fetch)!.response;
  const { min, max } = parseVersions(schema.validVersions);
  for (let version = min; version <= max; version++) {
    const records = fc.option(
      fc.integer({ min: 1000, max: 1100 }).map((n) => Buffer.alloc(n, n & 0xff)),
      { nil: null },
    );
    fc.assert(
      fc.property(messageArbitrary(schema, version), fc.array(records, { minLength: 1, maxLength: 6 }), (body, recordSets) => {
        // put the large record sets into whatever partitions the generated body has
        let i = 0;
        for (const topic of (body['responses'] as { partitions: { records: Buffer | null }[] }[]) ?? []) {
          for (const partition of topic.partitions) partition.records = recordSets[i++ % recordSets.length]!;
        }
        const chunks = encodeResponseChunks(ApiKey.Fetch, version, 5, body as never);
        assert.deepStrictEqual(Buffer.concat(chunks), encodeResponse(ApiKey.Fetch, version, 5, body as never));
      }),
      { numRuns: 15, seed: 3 },
    );
  }
});
