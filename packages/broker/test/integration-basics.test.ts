// Integration tests against the real broker process: APIs, byte-exact produce/fetch, long poll,
// idempotence, admin APIs, kafkajs, metrics and health.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey, ErrorCode, encodeRequest } from '@tributary/protocol';
import { startBroker, tempDataDir, type BrokerProcess } from './support/broker-process.js';
import { WireClient } from './support/wire-client.js';
import { batchOf, recordsIn } from './support/batches.js';

let broker: BrokerProcess;
let client: WireClient;
let cleanup: () => void;

before(async () => {
  const tmp = tempDataDir();
  cleanup = tmp.cleanup;
  broker = await startBroker({ dataDir: tmp.dir, env: { TRIBUTARY_LOG_RETENTION_CHECK_INTERVAL_MS: '100' } });
  client = await WireClient.connect(broker.kafka.host, broker.kafka.port);
});

after(async () => {
  client?.close();
  const code = await broker?.stop('SIGTERM');
  assert.equal(code, 0, `graceful shutdown exits 0; output:\n${broker?.output().slice(-2000)}`);
  cleanup?.();
});

const PRODUCE_V = 9;
const FETCH_V = 12;
const METADATA_V = 12;

async function createTopic(name: string, numPartitions = 1, configs: { name: string; value: string }[] = []): Promise<any> {
  const r = await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions, replicationFactor: -1, assignments: [], configs }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return r.topics[0];
}

function produce(c: WireClient, topic: string, partition: number, records: Buffer, acks: number, version = PRODUCE_V): Promise<any> {
  const body = { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
  if (acks === 0) {
    c.send(ApiKey.Produce, version, body);
    return Promise.resolve(null);
  }
  return c.request(ApiKey.Produce, version, body).then((r) => r.responses[0].partitionResponses[0]);
}

function fetchOnce(c: WireClient, topic: string, partition: number, fetchOffset: number, opts: { maxWaitMs?: number; minBytes?: number; partitionMaxBytes?: number } = {}): Promise<any> {
  return c
    .request(ApiKey.Fetch, FETCH_V, {
      replicaId: -1,
      maxWaitMs: opts.maxWaitMs ?? 0,
      minBytes: opts.minBytes ?? 0,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: opts.partitionMaxBytes ?? 10 * 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    })
    .then((r) => r.responses[0].partitions[0]);
}

function listOffset(topic: string, timestamp: number): Promise<any> {
  return client
    .request(ApiKey.ListOffsets, 8, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] })
    .then((r) => r.topics[0].partitions[0]);
}

test('ApiVersions: v3 and v0 answer; an unknown version gets a v0 UNSUPPORTED_VERSION answer with our ranges', async () => {
  const v3 = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  assert.equal(v3.errorCode, ErrorCode.NONE);
  const keys = new Map<number, any>(v3.apiKeys.map((k: any) => [k.apiKey, k]));
  for (const k of [ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.CreateTopics, ApiKey.InitProducerId, ApiKey.DescribeCluster]) {
    assert.ok(keys.has(k), `advertises api key ${k}`);
  }
  assert.ok(keys.get(ApiKey.Produce).minVersion >= 3, 'legacy produce versions are not advertised');
  const v0 = await client.request(ApiKey.ApiVersions, 0, {});
  assert.equal(v0.errorCode, ErrorCode.NONE);

  // A client newer than us sends ApiVersions v99 (flexible header v2); we must answer in v0 layout.
  const raw = Buffer.from(encodeRequest(ApiKey.ApiVersions, 3, 777, 'future-client', { clientSoftwareName: 'x', clientSoftwareVersion: '9' } as never));
  raw.writeInt16BE(99, 6);
  const pending = client.expectRaw(ApiKey.ApiVersions, 0);
  client.writeRaw(raw);
  const fallback = await pending;
  assert.equal(fallback.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  assert.ok(fallback.apiKeys.some((k: any) => k.apiKey === ApiKey.ApiVersions && k.maxVersion >= 3));
});

test('Metadata auto-creates topics and names this node as leader; CreateTopics validates', async () => {
  const md = await client.request(ApiKey.Metadata, METADATA_V, { topics: [{ topicId: Buffer.alloc(16), name: 'auto-created' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
  assert.equal(md.brokers.length, 1);
  assert.equal(md.brokers[0].port, broker.kafka.port);
  const t = md.topics[0];
  assert.equal(t.errorCode, ErrorCode.NONE);
  assert.equal(t.partitions.length, 1);
  assert.equal(t.partitions[0].leaderId, md.brokers[0].nodeId);
  assert.equal(t.topicId.length, 16);
  assert.ok(!t.topicId.equals(Buffer.alloc(16)));

  const noAuto = await client.request(ApiKey.Metadata, METADATA_V, { topics: [{ topicId: Buffer.alloc(16), name: 'not-auto' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.equal(noAuto.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

  assert.equal((await createTopic('ct-one', 3)).errorCode, ErrorCode.NONE);
  assert.equal((await createTopic('ct-one', 3)).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.equal((await createTopic('bad/name')).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal((await createTopic('compacted', 1, [{ name: 'cleanup.policy', value: 'compact' }])).errorCode, ErrorCode.INVALID_CONFIG);
  const rf = await client.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'rf3', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
  assert.equal(rf.topics[0].errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  const all = await client.request(ApiKey.Metadata, METADATA_V, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const names = all.topics.map((x: any) => x.name).sort();
  assert.deepEqual(names, ['auto-created', 'ct-one']);
});

test('produce with acks -1, 1 and 0, then fetch returns the same bytes with assigned offsets', async () => {
  await createTopic('exact');
  const batches = [
    batchOf([{ key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('x') }] }, { key: null, value: Buffer.from('v2') }]),
    batchOf([{ key: Buffer.from('k3'), value: Buffer.alloc(3000, 7) }]),
    batchOf([{ key: null, value: null }]),
  ];
  const sent = batches.map((b) => Buffer.from(b));
  const r1 = await produce(client, 'exact', 0, batches[0]!, -1);
  assert.equal(r1.errorCode, ErrorCode.NONE);
  assert.equal(r1.baseOffset, 0);
  const r2 = await produce(client, 'exact', 0, batches[1]!, 1);
  assert.equal(r2.baseOffset, 2);
  await produce(client, 'exact', 0, batches[2]!, 0);
  // acks=0 took no response slot: the next request on the same connection is answered normally.
  // Wait (long poll) until the acks=0 record at offset 3 is readable, then read everything.
  await fetchOnce(client, 'exact', 0, 3, { maxWaitMs: 15000, minBytes: 1 });
  const fetched = await fetchOnce(client, 'exact', 0, 0);
  assert.equal(fetched.errorCode, ErrorCode.NONE);
  assert.equal(fetched.highWatermark, 4);
  const got: Buffer = fetched.records;
  let at = 0;
  const expectedBase = [0, 2, 3];
  sent.forEach((b, i) => {
    const size = 12 + got.readInt32BE(at + 8);
    assert.equal(size, b.length, `batch ${i} length`);
    assert.equal(Number(got.readBigInt64BE(at)), expectedBase[i], `batch ${i} base offset`);
    // Everything from magic on (CRC, attributes, timestamps, producer fields, records) is stored as sent.
    assert.ok(got.subarray(at + 16, at + size).equals(b.subarray(16)), `batch ${i} bytes`);
    at += size;
  });
  assert.equal(at, got.length);
  const values = recordsIn(got).map((r) => r.value?.toString('hex') ?? null);
  assert.equal(values.length, 4);
  assert.equal(values[3], null);

  // Past the log end: OFFSET_OUT_OF_RANGE; earliest/latest offsets.
  assert.equal((await fetchOnce(client, 'exact', 0, 99)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  assert.equal((await listOffset('exact', -2)).offset, 0);
  assert.equal((await listOffset('exact', -1)).offset, 4);
});

test('a multi-partition fetch (partitions read concurrently) keeps request order, maxBytes and partitionMaxBytes in whole batches', async () => {
  await createTopic('multi', 4);
  const batch = (p: number, i: number): Buffer => batchOf([{ key: null, value: Buffer.alloc(1000, p * 16 + i) }]);
  const batchBytes = batch(0, 0).length;
  for (let p = 0; p < 4; p++) {
    for (let i = 0; i < 3; i++) assert.equal((await produce(client, 'multi', p, batch(p, i), -1)).errorCode, ErrorCode.NONE);
  }
  const fetchAll = (maxBytes: number, partitionMaxBytes: number, order: number[]): Promise<any> =>
    client.request(ApiKey.Fetch, FETCH_V, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'multi', partitions: order.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes })) }],
      forgottenTopicsData: [], rackId: '',
    }).then((r) => r.responses[0].partitions);
  const countOf = (p: any): number => recordsIn(p.records).length;

  // Everything fits: every partition returns its 3 batches, in the order asked.
  const all = await fetchAll(1 << 20, 1 << 20, [2, 0, 3, 1]);
  assert.deepEqual(all.map((p: any) => p.partitionIndex), [2, 0, 3, 1]);
  assert.deepEqual(all.map(countOf), [3, 3, 3, 3]);
  for (const p of all) assert.deepEqual(recordsIn(p.records).map((r) => r.value![0]), [0, 1, 2].map((i) => p.partitionIndex * 16 + i));

  // partitionMaxBytes of 2 batches: 2 whole batches from each.
  assert.deepEqual((await fetchAll(1 << 20, 2 * batchBytes + 10, [0, 1, 2, 3])).map(countOf), [2, 2, 2, 2]);

  // maxBytes of 5 batches over the request: 3 + 2, then nothing; every record set is whole batches.
  const limited = await fetchAll(5 * batchBytes + 10, 1 << 20, [3, 2, 1, 0]);
  assert.deepEqual(limited.map(countOf), [3, 2, 0, 0]);
  for (const p of limited) {
    assert.equal(p.errorCode, ErrorCode.NONE);
    assert.equal(p.highWatermark, 3);
    assert.equal((p.records?.length ?? 0) % batchBytes, 0);
  }

  // KIP-74: a first partition returns one whole batch even when maxBytes is smaller; later ones then return none.
  assert.deepEqual((await fetchAll(10, 10, [1, 2])).map(countOf), [1, 0]);
});

test('large fetches (pooled read windows, recycled after each response is written) return exact bytes on concurrent connections', async () => {
  await createTopic('pooled');
  const sent: Buffer[] = [];
  for (let i = 0; i < 12; i++) {
    const batch = batchOf(Array.from({ length: 20 }, (_, r) => ({ key: null, value: Buffer.alloc(1000, (i * 20 + r) & 0xff) })));
    sent.push(Buffer.from(batch));
    assert.equal((await produce(client, 'pooled', 0, batch, -1)).errorCode, ErrorCode.NONE);
  }
  const values = (records: Buffer | null): number[] => recordsIn(records).map((r) => r.value![0]!);
  const expected = Array.from({ length: 240 }, (_, i) => i & 0xff);
  const clients = await Promise.all([0, 1, 2].map(() => WireClient.connect(broker.kafka.host, broker.kafka.port)));
  try {
    await Promise.all(
      clients.map(async (c, n) => {
        for (let round = 0; round < 8; round++) {
          const from = (round + n) % 3 === 0 ? 0 : 20 * ((round + n) % 6);
          const got = await fetchOnce(c, 'pooled', 0, from, { partitionMaxBytes: 1 << 20 });
          assert.equal(got.errorCode, ErrorCode.NONE);
          assert.ok(got.records.length > 64 * 1024 || from > 0);
          assert.deepEqual(values(got.records), expected.slice(from), `connection ${n}, round ${round}`);
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
});

test('a corrupt batch is refused with CORRUPT_MESSAGE and an oversized one with MESSAGE_TOO_LARGE', async () => {
  await createTopic('strict', 1, [{ name: 'max.message.bytes', value: '2000' }]);
  const bad = batchOf([{ key: null, value: Buffer.from('hello') }]);
  bad[bad.length - 1] ^= 0xff;
  assert.equal((await produce(client, 'strict', 0, bad, -1)).errorCode, ErrorCode.CORRUPT_MESSAGE);
  const big = batchOf([{ key: null, value: Buffer.alloc(5000) }]);
  assert.equal((await produce(client, 'strict', 0, big, -1)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  assert.equal((await produce(client, 'no-such-topic-partition', 5, batchOf([{ key: null, value: null }]), -1)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('a long-poll fetch wakes when a record arrives, and later requests on its connection wait their turn', async () => {
  await createTopic('poll');
  const consumer = await WireClient.connect(broker.kafka.host, broker.kafka.port);
  try {
    const order: string[] = [];
    // Both requests go out back to back on one connection; each records when its response arrived.
    const woke = consumer
      .request(ApiKey.Fetch, FETCH_V, {
        replicaId: -1, maxWaitMs: 20000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'poll', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      })
      .then((r) => {
        order.push('fetch');
        return r.responses[0].partitions[0];
      });
    const metadata = consumer.request(ApiKey.Metadata, METADATA_V, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }).then(() => {
      order.push('metadata');
    });
    await produce(client, 'poll', 0, batchOf([{ key: null, value: Buffer.from('wake') }]), 1);
    const r = await woke;
    await metadata;
    assert.equal(recordsIn(r.records)[0]?.value?.toString(), 'wake');
    assert.deepEqual(order, ['fetch', 'metadata'], 'responses are written in request order');
  } finally {
    consumer.close();
  }
});

test('idempotent produce: retries get the original offset, gaps get OUT_OF_ORDER_SEQUENCE_NUMBER, old epochs are fenced', async () => {
  await createTopic('idem');
  const init = await client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  assert.equal(init.errorCode, ErrorCode.NONE);
  const pid = init.producerId;
  const b0 = batchOf([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }], { producerId: pid, producerEpoch: 0, baseSequence: 0 });
  const first = await produce(client, 'idem', 0, Buffer.from(b0), -1);
  assert.equal(first.errorCode, ErrorCode.NONE);
  const retry = await produce(client, 'idem', 0, Buffer.from(b0), -1);
  assert.equal(retry.errorCode, ErrorCode.NONE);
  assert.equal(retry.baseOffset, first.baseOffset);
  const gap = await produce(client, 'idem', 0, batchOf([{ key: null, value: Buffer.from('c') }], { producerId: pid, producerEpoch: 0, baseSequence: 5 }), -1);
  assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const next = await produce(client, 'idem', 0, batchOf([{ key: null, value: Buffer.from('c') }], { producerId: pid, producerEpoch: 0, baseSequence: 2 }), -1);
  assert.equal(next.baseOffset, first.baseOffset + 2);
  const bumped = await produce(client, 'idem', 0, batchOf([{ key: null, value: Buffer.from('d') }], { producerId: pid, producerEpoch: 1, baseSequence: 0 }), -1);
  assert.equal(bumped.errorCode, ErrorCode.NONE);
  const stale = await produce(client, 'idem', 0, batchOf([{ key: null, value: Buffer.from('e') }], { producerId: pid, producerEpoch: 0, baseSequence: 3 }), -1);
  assert.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  const values = recordsIn((await fetchOnce(client, 'idem', 0, 0)).records).map((r) => r.value!.toString());
  assert.deepEqual(values, ['a', 'b', 'c', 'd']);
  const txn = await client.request(ApiKey.InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  assert.notEqual(txn.errorCode, ErrorCode.NONE);
});

test('configs: describe shows defaults and overrides; incremental alter sets and deletes; bad keys are refused', async () => {
  await createTopic('cfg', 1, [{ name: 'retention.ms', value: '3600000' }]);
  const describe = async (): Promise<Map<string, any>> => {
    const r = await client.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'cfg', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    assert.equal(r.results[0].errorCode, ErrorCode.NONE);
    return new Map(r.results[0].configs.map((c: any) => [c.name, c]));
  };
  let cfg = await describe();
  assert.equal(cfg.get('retention.ms').value, '3600000');
  assert.equal(cfg.get('retention.ms').configSource, 1);
  assert.equal(cfg.get('cleanup.policy').value, 'delete');
  assert.equal(cfg.get('cleanup.policy').configSource, 5);
  const alter = (configs: any[]) =>
    client.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'cfg', configs }], validateOnly: false }).then((r) => r.responses[0]);
  assert.equal((await alter([{ name: 'segment.bytes', configOperation: 0, value: '1048576' }, { name: 'retention.ms', configOperation: 1, value: null }])).errorCode, ErrorCode.NONE);
  cfg = await describe();
  assert.equal(cfg.get('segment.bytes').value, '1048576');
  assert.equal(cfg.get('retention.ms').configSource, 5);
  assert.equal((await alter([{ name: 'cleanup.policy', configOperation: 0, value: 'compact' }])).errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal((await alter([{ name: 'no.such.key', configOperation: 0, value: '1' }])).errorCode, ErrorCode.INVALID_CONFIG);
  // The topic still works after its logs were re-opened with the new settings.
  assert.equal((await produce(client, 'cfg', 0, batchOf([{ key: null, value: Buffer.from('after') }]), -1)).errorCode, ErrorCode.NONE);
  const broker0 = await client.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '0', configurationKeys: ['num.partitions'] }], includeSynonyms: false, includeDocumentation: false });
  assert.equal(broker0.results[0].configs[0].value, '1');
});

test('reassignment APIs on one broker: only itself is a valid target, nothing is ever in progress; the reassignment tool throttle cleanup succeeds', async () => {
  await createTopic('solo');
  const self = (await client.request(ApiKey.Metadata, METADATA_V, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers[0].nodeId as number;
  const alter = (topic: string, replicas: number[] | null) =>
    client.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas }] }] }).then((r) => r.responses[0].partitions[0].errorCode);
  assert.equal(await alter('solo', [self]), ErrorCode.NONE);
  assert.equal(await alter('solo', [self + 1]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(await alter('solo', [self, self]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(await alter('solo', null), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  assert.equal(await alter('no-such-topic', [self]), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const listed = await client.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 5000, topics: null });
  assert.deepEqual(listed.topics, []);
  // kafka-reassign-partitions --verify deletes the replication throttles of the brokers and the topics
  const clear = (resourceType: number, resourceName: string, names: string[], configOperation = 1) =>
    client.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs: names.map((name) => ({ name, configOperation, value: null })) }], validateOnly: false }).then((r) => r.responses[0].errorCode);
  assert.equal(await clear(4, String(self), ['leader.replication.throttled.rate', 'follower.replication.throttled.rate']), ErrorCode.NONE);
  assert.equal(await clear(2, 'solo', ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas']), ErrorCode.NONE);
  assert.equal(await clear(4, String(self), ['leader.replication.throttled.rate'], 0), ErrorCode.INVALID_CONFIG, 'setting a broker config is still refused');
});

test('DeleteRecords, CreatePartitions, DescribeCluster and DeleteTopics', async () => {
  await createTopic('admin');
  for (let i = 0; i < 3; i++) await produce(client, 'admin', 0, batchOf([{ key: null, value: Buffer.from(`r${i}`) }]), -1);
  const del = await client.request(ApiKey.DeleteRecords, 2, { topics: [{ name: 'admin', partitions: [{ partitionIndex: 0, offset: 2 }] }], timeoutMs: 5000 });
  assert.equal(del.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.equal(del.topics[0].partitions[0].lowWatermark, 2);
  assert.equal((await listOffset('admin', -2)).offset, 2);
  assert.equal((await fetchOnce(client, 'admin', 0, 0)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const cp = await client.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'admin', count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false });
  assert.equal(cp.results[0].errorCode, ErrorCode.NONE);
  assert.equal((await produce(client, 'admin', 2, batchOf([{ key: null, value: Buffer.from('p2') }]), -1)).errorCode, ErrorCode.NONE);
  const shrink = await client.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'admin', count: 2, assignments: null }], timeoutMs: 5000, validateOnly: false });
  assert.equal(shrink.results[0].errorCode, ErrorCode.INVALID_PARTITIONS);
  const cluster = await client.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
  assert.equal(cluster.brokers[0].port, broker.kafka.port);
  const deleted = await client.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'admin', topicId: Buffer.alloc(16) }], timeoutMs: 5000 });
  assert.equal(deleted.responses[0].errorCode, ErrorCode.NONE);
  const md = await client.request(ApiKey.Metadata, METADATA_V, { topics: [{ topicId: Buffer.alloc(16), name: 'admin' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('kafkajs admin and idempotent producer work unchanged; records read back in order', async () => {
  const kafka = new Kafka({ clientId: 'it', brokers: [`${broker.kafka.host}:${broker.kafka.port}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs', numPartitions: 2 }] }), true);
    const meta = await admin.fetchTopicMetadata({ topics: ['kjs'] });
    assert.equal(meta.topics[0]!.partitions.length, 2);
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `value-${i}`, partition: 0, headers: { n: String(i) } }));
    await producer.send({ topic: 'kjs', acks: -1, messages });
    const offsets = await admin.fetchTopicOffsets('kjs');
    assert.equal(offsets.find((o) => o.partition === 0)!.high, '50');
    const got = recordsIn((await fetchOnce(client, 'kjs', 0, 0)).records);
    assert.deepEqual(got.map((r) => r.value!.toString()), messages.map((m) => m.value));
    assert.deepEqual(got.map((r) => r.offset), messages.map((_, i) => i));
    await admin.deleteTopics({ topics: ['kjs'] });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('ListOffsets by timestamp and max timestamp; LogAppendTime topics stamp the broker time', async () => {
  await createTopic('times');
  const base = 1_700_000_000_000;
  for (const [i, ts] of [base + 10, base + 50, base + 30].entries()) {
    const b = batchOf([{ key: null, value: Buffer.from(`t${i}`), timestamp: ts }]);
    assert.equal((await produce(client, 'times', 0, b, -1)).errorCode, ErrorCode.NONE);
  }
  const at = await listOffset('times', base + 20);
  assert.equal(at.offset, 1);
  assert.equal(at.timestamp, base + 50);
  const max = await listOffset('times', -3);
  assert.equal(max.offset, 1);
  assert.equal(max.timestamp, base + 50);
  assert.equal((await listOffset('times', base + 1000)).offset, -1);

  await createTopic('appendtime', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
  const before = Date.now();
  const r = await produce(client, 'appendtime', 0, batchOf([{ key: null, value: Buffer.from('x'), timestamp: 5 }]), -1);
  assert.ok(r.logAppendTimeMs >= before, 'the response carries the append time');
  const stored = (await fetchOnce(client, 'appendtime', 0, 0)).records as Buffer;
  assert.equal(stored.readInt16BE(21) & 0x08, 0x08, 'the stored batch is marked LogAppendTime');
});

test('retention deletes whole old segments and advances the log start offset', async () => {
  await createTopic('ret', 1, [
    { name: 'segment.bytes', value: '1024' },
    { name: 'retention.bytes', value: '2048' },
  ]);
  for (let i = 0; i < 40; i++) await produce(client, 'ret', 0, batchOf([{ key: null, value: Buffer.alloc(200, i) }]), -1);
  // The broker's single retention loop runs every 100 ms here; wait (bounded) for it to act.
  let earliest = 0;
  for (let i = 0; i < 100 && earliest === 0; i++) {
    earliest = (await listOffset('ret', -2)).offset;
    if (earliest === 0) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(earliest > 0, 'log start offset advanced');
  const first = recordsIn((await fetchOnce(client, 'ret', 0, earliest)).records)[0];
  assert.ok(first !== undefined && first.offset <= earliest);
  assert.equal((await listOffset('ret', -1)).offset, 40);
});

test('many connections producing at once: every acknowledged record is stored once at its offset', async () => {
  await createTopic('crowd', 2);
  const clients = await Promise.all(Array.from({ length: 30 }, () => WireClient.connect(broker.kafka.host, broker.kafka.port)));
  try {
    const acked = new Map<string, { partition: number; offset: number }>();
    await Promise.all(
      clients.map(async (c, ci) => {
        // Each connection pipelines its 5 requests.
        await Promise.all(
          Array.from({ length: 5 }, async (_, i) => {
            const value = `c${ci}-${i}`;
            const partition = (ci + i) % 2;
            const r = await produce(c, 'crowd', partition, batchOf([{ key: null, value: Buffer.from(value) }]), i % 2 === 0 ? 1 : -1);
            assert.equal(r.errorCode, ErrorCode.NONE);
            acked.set(value, { partition, offset: r.baseOffset });
          }),
        );
      }),
    );
    assert.equal(acked.size, 150);
    for (const partition of [0, 1]) {
      const stored = recordsIn((await fetchOnce(client, 'crowd', partition, 0)).records);
      const mine = [...acked].filter(([, a]) => a.partition === partition);
      assert.equal(stored.length, mine.length);
      for (const [value, a] of mine) assert.equal(stored[a.offset]?.value?.toString(), value);
    }
  } finally {
    for (const c of clients) c.close();
  }
});

test('/metrics, /health and /ready answer; ports.json names the bound ports', async () => {
  const ports = JSON.parse(readFileSync(join(broker.dataDir, 'ports.json'), 'utf8'));
  assert.equal(ports.kafka, `127.0.0.1:${broker.kafka.port}`);
  assert.equal(ports.http, `127.0.0.1:${broker.http.port}`);
  const base = `http://${broker.http.host}:${broker.http.port}`;
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.equal((await fetch(`${base}/ready`)).status, 200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /tributary_requests_total\{api="Produce",error_code="0"\} \d+/);
  assert.match(metrics, /tributary_requests_total\{api="Produce",error_code="2"\} \d+/);
  assert.match(metrics, /tributary_bytes_in_total \d+/);
  assert.match(metrics, /tributary_produce_latency_seconds_bucket/);
  assert.match(metrics, /tributary_fetch_latency_seconds_count \d+/);
  assert.match(metrics, /tributary_log_size_bytes\{topic="exact",partition="0"\} \d+/);
});
