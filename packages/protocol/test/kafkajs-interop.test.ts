// Real frames from kafkajs 2.2.4: a tiny TCP responder built only from this package's codec answers
// ApiVersions, Metadata, CreateTopics, Produce and ListOffsets. kafkajs must accept every response, and the
// record batch it produced must decode to exactly what it sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { decodeRecordBatch, apiKeyName } from '../src/index.js';
import { startResponder } from './responder.js';

const { Kafka, logLevel } = kafkajs;

test('kafkajs admin and producer work against responses encoded by this package', async () => {
  const { server, port, seen, log, errors } = await startResponder();
  const kafka = new Kafka({
    clientId: 'golden',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    // generous timeouts: the shared CI machine can be heavily loaded
    connectionTimeout: 20_000,
    requestTimeout: 60_000,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: 'alpha', numPartitions: 1 }] }), true);
    assert.deepEqual(await admin.listTopics(), ['alpha']);

    await producer.connect();
    const result = await producer.send({
      topic: 'alpha',
      messages: [
        { key: 'k1', value: 'v1', headers: { h: 'x' } },
        { key: null, value: 'v2' },
      ],
    });
    assert.equal(result[0]!.errorCode, 0);
    assert.equal(result[0]!.baseOffset, '0');

    const offsets = await admin.fetchTopicOffsets('alpha');
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.low, o.high]),
      [[0, '0', '2']],
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    server.close();
  }
  assert.deepEqual(errors, []);

  const batch = decodeRecordBatch(log[0]!);
  assert.deepEqual(
    batch.records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString(), r.headers.map((h) => [h.key, h.value?.toString()])]),
    [
      [0, 'k1', 'v1', [['h', 'x']]],
      [1, null, 'v2', []],
    ],
  );
  const versions = new Map(seen.map((s) => [apiKeyName(s.apiKey), s.apiVersion]));
  // kafkajs' non-flexible maxima (INTEROP.md)
  assert.equal(versions.get('ApiVersions'), 2);
  assert.equal(versions.get('Metadata'), 6);
  assert.equal(versions.get('Produce'), 7);
  assert.equal(versions.get('CreateTopics'), 3);
});
