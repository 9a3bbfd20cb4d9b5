// Every advertised (API, version) gets an answer the protocol can decode, for a request made of schema
// defaults and for one naming an existing and a missing topic; the connection stays open throughout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey, apiKeyName } from '@tributary/protocol';
import { startBroker, tempDataDir, type BrokerProcess } from './support/broker-process.js';
import { WireClient } from './support/wire-client.js';

let broker: BrokerProcess;
let cleanup: () => void;

before(async () => {
  const tmp = tempDataDir();
  cleanup = tmp.cleanup;
  broker = await startBroker({ dataDir: tmp.dir });
});

after(async () => {
  assert.equal(await broker.stop('SIGTERM'), 0);
  cleanup();
});

test('each advertised API answers at every advertised version', async () => {
  const c = await WireClient.connect('127.0.0.1', broker.kafka.port);
  const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
  let answered = 0;
  for (const { apiKey, minVersion, maxVersion } of versions.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[]) {
    for (let v = minVersion; v <= maxVersion; v++) {
      // Defaults everywhere; Produce with acks=1 so it is answered, JoinGroup with a short session so it is refused fast.
      const body: Record<string, unknown> = apiKey === ApiKey.Produce ? { acks: 1, timeoutMs: 1000, topicData: [] } : {};
      try {
        const r = await c.request(apiKey, v, body);
        assert.equal(typeof r, 'object');
        answered++;
      } catch (err) {
        assert.fail(`${apiKeyName(apiKey)} v${v}: ${(err as Error).message}`);
      }
    }
  }
  assert.ok(answered > 100, `answered ${answered} (api, version) pairs`);
  // Metadata at every version for an existing topic (auto-created) and a missing one.
  for (let v = 0; v <= 12; v++) {
    const topics = v === 0 ? [{ name: 'every-version' }] : [{ name: 'every-version' }, { name: 'missing-' + v }];
    const r = await c.request(ApiKey.Metadata, v, { topics, allowAutoTopicCreation: v < 4 ? true : false });
    assert.equal(r.topics.find((t: { name: string }) => t.name === 'every-version')?.errorCode ?? 0, 0);
  }
  c.close();
});
