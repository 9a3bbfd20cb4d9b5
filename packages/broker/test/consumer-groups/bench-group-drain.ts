// Benchmark (not a test): a group of 3 kafkajs consumers draining a 6-partition topic. Prints JSON with
// records/s and the time from the first member's join to the first record. Bounded by DRAIN_TIMEOUT_MS.
//   node packages/broker/dist/test/consumer-groups/bench-group-drain.js            # starts a Tributary broker
//   BROKER=127.0.0.1:9092 node .../bench-group-drain.js                             # any Kafka-compatible broker
// Env: RECORDS (default 60000), RECORD_BYTES (default 100), DRAIN_TIMEOUT_MS (default 120000).
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, tempDataDir, type BrokerProcess } from '../support/broker-process.js';

const PARTITIONS = 6;
const CONSUMERS = 3;
const records = Number(process.env['RECORDS'] ?? 60_000);
const recordBytes = Number(process.env['RECORD_BYTES'] ?? 100);
const drainTimeoutMs = Number(process.env['DRAIN_TIMEOUT_MS'] ?? 120_000);

let broker: BrokerProcess | undefined;
let cleanup = (): void => undefined;
let address = process.env['BROKER'];
if (address === undefined) {
  const tmp = tempDataDir('trib-cg-bench-');
  cleanup = tmp.cleanup;
  broker = await startBroker({ dataDir: tmp.dir });
  address = `${broker.kafka.host}:${broker.kafka.port}`;
}

const kafka = new Kafka({ clientId: 'cg-bench', brokers: [address], logLevel: logLevel.NOTHING });
const runId = Date.now().toString(36);
const topic = `cg-bench-${runId}`;
const groupId = `cg-bench-${runId}`;
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });

const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
const value = Buffer.alloc(recordBytes, 'x');
const produceStartMs = Date.now();
for (let sent = 0; sent < records; ) {
  const count = Math.min(1000, records - sent);
  await producer.send({ topic, acks: 1, messages: Array.from({ length: count }, (_, i) => ({ value, partition: (sent + i) % PARTITIONS })) });
  sent += count;
}
const produceMs = Date.now() - produceStartMs;
await producer.disconnect();

let consumed = 0;
let firstRecordMs: number | null = null;
let resolveDrained: () => void = () => undefined;
const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
const joinStartMs = Date.now();
const consumers = [];
for (let i = 0; i < CONSUMERS; i++) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      firstRecordMs ??= Date.now();
      consumed += batch.messages.length;
      if (consumed >= records) resolveDrained();
    },
  });
  consumers.push(consumer);
}
const timeout = setTimeout(() => resolveDrained(), drainTimeoutMs);
await drained;
clearTimeout(timeout);
const endMs = Date.now();
const drainMs = endMs - (firstRecordMs ?? endMs);
console.log(
  JSON.stringify({
    target: broker ? 'tributary' : address,
    records,
    recordBytes,
    consumers: CONSUMERS,
    partitions: PARTITIONS,
    consumed,
    produceRecordsPerSec: Math.round((records / produceMs) * 1000),
    joinToFirstRecordMs: firstRecordMs === null ? null : firstRecordMs - joinStartMs,
    drainMs,
    drainRecordsPerSec: drainMs > 0 ? Math.round((consumed / drainMs) * 1000) : null,
    complete: consumed >= records,
  }),
);
for (const c of consumers) await c.disconnect();
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();
await broker?.stop('SIGTERM');
cleanup();
