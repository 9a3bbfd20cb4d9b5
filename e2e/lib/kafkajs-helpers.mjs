// kafkajs conveniences shared by suites: quiet client, topic creation, acked produce, end offsets.
import kafkajs from 'kafkajs';
import { recordLine } from './records.mjs';

const { Kafka, logLevel } = kafkajs;

export function kafkaClient(bootstrap, clientId = 'tributary-e2e') {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING, // retriable errors are noise here; failures surface as exceptions
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    connectionTimeout: 5000,
  });
}

export async function createTopic(bootstrap, topic, numPartitions, configEntries = []) {
  const admin = kafkaClient(bootstrap, 'e2e-admin').admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }], waitForLeaders: false });
    if (!created) throw new Error(`topic ${topic} already existed`);
    // Wait until every partition has a leader (a just-restarted broker may briefly not know the topic).
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        const parts = md.topics[0]?.partitions ?? [];
        if (parts.length === numPartitions && parts.every((p) => p.leader >= 0)) return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic}: partitions without a leader after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Sum over partitions of the high watermark (end offset): with no retention, the number of records in the topic. */
export async function topicEndOffsets(bootstrap, topic, timeoutMs = 30_000) {
  const admin = kafkaClient(bootstrap, 'e2e-admin').admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.map((o) => ({ partition: o.partition, high: Number(o.high), low: Number(o.low) })).sort((a, b) => a.partition - b.partition);
      } catch (e) {
        // Right after a restart the partitions may not be led yet: retry until the deadline.
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces records[from..to) with explicit partition = index % partitions, `batchSize` records per send.
 * Returns acks [{index, partition, offset}] computed from each partition's base offset in the send's response.
 */
export async function produceWithAcks(producer, topic, records, { partitions, batchSize = 200, acks = -1, from = 0, to = records.length }) {
  const out = [];
  for (let start = from; start < to; start += batchSize) {
    const end = Math.min(to, start + batchSize);
    const messages = [];
    for (let i = start; i < end; i++) {
      const r = records[i];
      const headers = {};
      for (const h of r.headers) headers[h.name.toString('utf8')] = h.value;
      messages.push({ key: r.key, value: r.value, headers, partition: i % partitions });
    }
    const meta = await producer.send({ topic, messages, acks });
    const base = new Map(meta.map((m) => [m.partition, Number(m.baseOffset)]));
    const nextInPartition = new Map();
    for (let i = start; i < end; i++) {
      const p = i % partitions;
      if (!base.has(p)) throw new Error(`no produce response for partition ${p}`);
      const k = nextInPartition.get(p) ?? 0;
      nextInPartition.set(p, k + 1);
      out.push({ index: i, partition: p, offset: base.get(p) + k });
    }
  }
  return out;
}

/** A kafkajs message as a consumed row {partition, offset, line} (headers keep wire order; kafkajs gives an object keyed by name). */
export function kafkajsConsumed(partition, message) {
  const headers = Object.entries(message.headers ?? {}).map(([name, value]) => ({
    name: Buffer.from(name),
    value: value === null || value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(String(value)),
  }));
  return { partition, offset: Number(message.offset), line: recordLine({ key: message.key ?? null, value: message.value ?? null, headers }) };
}

export { Kafka, logLevel };
