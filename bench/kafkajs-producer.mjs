#!/usr/bin/env node
// kafkajs producer benchmark: sends `records` values of `record-size` bytes to a topic, `batch-records` records per
// producer.send() call (kafkajs does no batching of its own: the application's array is the batch) with up to
// `in-flight` send() calls outstanding. Prints one JSON line:
//   {"client":"kafkajs","records":N,"bytes":B,"elapsedMs":T,"recordsPerSec":..,"mbPerSec":..,"latencyMs":{"avg","p50","p99","max"}}
// Latency is per send() call (from call to acknowledgement), i.e. the latency every record of that batch saw.
//
//   node bench/kafkajs-producer.mjs --bootstrap 127.0.0.1:9092 --topic t [--records 100000] [--record-size 1024]
//        [--acks 1|-1|0] [--batch-records 100] [--in-flight 5] [--timeout-ms 300000]
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { parseFlagsOrExit, summarizeLatencies } from './lib/stats.mjs';

const flags = parseFlagsOrExit(process.argv.slice(2), {
  bootstrap: '127.0.0.1:9092',
  topic: 'bench-kafkajs',
  records: '100000',
  'record-size': '1024',
  acks: '1',
  'batch-records': '100',
  'in-flight': '5',
  'timeout-ms': '300000',
}, 'kafkajs-producer');
const records = positiveInt(flags.records, 'records');
const recordSize = positiveInt(flags['record-size'], 'record-size');
const batchRecords = positiveInt(flags['batch-records'], 'batch-records');
const inFlightMax = positiveInt(flags['in-flight'], 'in-flight');
const timeoutMs = positiveInt(flags['timeout-ms'], 'timeout-ms');
const acks = Number(flags.acks);
if (![0, 1, -1].includes(acks)) fail(`--acks must be 0, 1 or -1 (all), got '${flags.acks}'`);

function positiveInt(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got '${text}'`);
  return n;
}

function fail(message) {
  console.error(`kafkajs-producer: ${message}`);
  process.exit(2);
}

const kafka = new Kafka({
  clientId: 'tributary-bench-kafkajs',
  brokers: flags.bootstrap.split(','),
  logLevel: logLevel.ERROR,
  retry: { retries: 5 },
});
const producer = kafka.producer({
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
  idempotent: false,
});

// One payload reused by every record: the bench measures the client and the broker, not random-number generation.
const value = randomBytes(recordSize);
const batch = Array.from({ length: batchRecords }, () => ({ value }));

const watchdog = setTimeout(() => {
  console.error(`kafkajs-producer: timed out after ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs);
watchdog.unref();

await producer.connect();
// Warm-up: one send so metadata and connections exist before the clock starts.
await producer.send({ topic: flags.topic, acks, messages: [{ value }] });

const latenciesMs = [];
let sent = 0;
const startedNs = process.hrtime.bigint();

async function sendLoop() {
  while (sent < records) {
    const count = Math.min(batchRecords, records - sent);
    sent += count;
    const messages = count === batchRecords ? batch : batch.slice(0, count);
    const t0 = process.hrtime.bigint();
    await producer.send({ topic: flags.topic, acks, messages });
    latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}

await Promise.all(Array.from({ length: inFlightMax }, sendLoop));
const elapsedMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
await producer.disconnect();
clearTimeout(watchdog);

const bytes = records * recordSize;
console.log(
  JSON.stringify({
    client: 'kafkajs',
    topic: flags.topic,
    acks,
    records,
    recordSize,
    batchRecords,
    inFlight: inFlightMax,
    bytes,
    elapsedMs: Math.round(elapsedMs),
    recordsPerSec: Math.round((records / elapsedMs) * 1000),
    mbPerSec: Number(((bytes / (1024 * 1024)) / (elapsedMs / 1000)).toFixed(2)),
    latencyMs: summarizeLatencies(latenciesMs),
  }),
);
