// Cross-check against an independent implementation: test/fixtures/franz-go-vectors.json holds request and
// response bodies encoded by franz-go's kmsg (generated from Apache Kafka's message definitions) for every
// api key and version this package implements, with every field (including tagged ones) set to a distinct
// non-default value. Regenerate with tools/franz-vectors (see its main.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Reader, compile, encodeBody, schemasFor, apiKeyName, supportedApiVersions, parseVersions } from '../src/index.js';

interface Vector {
  apiKey: number;
  version: number;
  kind: 'request' | 'response';
  hex: string;
}

/**
 * kmsg writes every non-default tagged field in every flexible version, including fields the specification
 * introduces in later versions. Our decoder skips those tags (as Kafka's does), so re-encoding is shorter:
 * - Produce v9 response: CurrentLeader / NodeEndpoints are tagged fields of v10+ (KIP-951)
 * - Fetch v12 request: ReplicaState (v15+), ReplicaDirectoryId (v17+) and a later partition tag
 * - Fetch v12 response: NodeEndpoints (v16+)
 * For these the decoded values must still round-trip exactly.
 */
const LATER_VERSION_TAGS = new Set(['0/9/response', '1/12/request', '1/12/response']);

const vectors = JSON.parse(readFileSync(new URL('../../test/fixtures/franz-go-vectors.json', import.meta.url), 'utf8')) as Vector[];

test('every implemented api/version has franz-go vectors', () => {
  const have = new Set(vectors.map((v) => `${v.apiKey}/${v.version}/${v.kind}`));
  for (const { apiKey } of supportedApiVersions()) {
    const { min, max } = parseVersions(schemasFor(apiKey)!.request.validVersions);
    for (let version = min; version <= max; version++) {
      for (const kind of ['request', 'response']) assert.ok(have.has(`${apiKey}/${version}/${kind}`), `${apiKeyName(apiKey)} v${version} ${kind}`);
    }
  }
});

for (const { apiKey } of supportedApiVersions()) {
  test(`${apiKeyName(apiKey)}: franz-go encoded bodies decode fully and re-encode byte for byte`, () => {
    const schemas = schemasFor(apiKey)!;
    const failures: string[] = [];
    for (const vector of vectors.filter((v) => v.apiKey === apiKey)) {
      const schema = vector.kind === 'request' ? schemas.request : schemas.response;
      const bytes = Buffer.from(vector.hex, 'hex');
      const where = `${apiKeyName(apiKey)} v${vector.version} ${vector.kind}`;
      try {
        const reader = new Reader(bytes);
        const decoded = compile(schema, vector.version).decode(reader);
        const reencoded = encodeBody(schema, vector.version, decoded);
        if (reader.pos !== bytes.length) failures.push(`${where}: consumed ${reader.pos} of ${bytes.length} bytes`);
        else if (LATER_VERSION_TAGS.has(`${apiKey}/${vector.version}/${vector.kind}`)) {
          assert.ok(reencoded.length < bytes.length, `${where}: expected skipped later-version tags`);
          assert.deepStrictEqual(compile(schema, vector.version).decode(new Reader(reencoded)), decoded, where);
        } else if (!reencoded.equals(bytes)) failures.push(`${where}: re-encoded bytes differ`);
      } catch (err) {
        failures.push(`${where}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}
