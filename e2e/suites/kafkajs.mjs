// kafkajs: idempotent producer (acks=all) into a 3-partition topic, then a consumer group of one member reads
// everything back; a second consumer in the same group resumes at the committed offset and sees only newer records.
import { generateRecords } from '../lib/records.mjs';
import { assertDelivery } from '../lib/verify.mjs';
import { createTopic, kafkaClient, kafkajsConsumed, produceWithAcks, topicEndOffsets } from '../lib/kafkajs-helpers.mjs';

const PARTITIONS = 3;
const FIRST = 3000;
const SECOND = 1000;

async function consumeUntil(bootstrap, topic, groupId, wantCount, timeoutMs) {
  const consumer = kafkaClient(bootstrap, 'e2e-kafkajs-consumer').consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  const rows = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone;
    const done = new Promise((r) => (resolveDone = r));
    await consumer.run({
      autoCommit: true,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          rows.push(kafkajsConsumed(batch.partition, m));
          resolveOffset(m.offset);
        }
        await heartbeat();
        if (rows.length >= wantCount) resolveDone();
      },
    });
    let timer;
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`consumer read ${rows.length} of ${wantCount} records in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect(); // commits the resolved offsets
  }
  return rows;
}

export default {
  name: 'kafkajs',
  description: 'kafkajs idempotent producer + group consumer (1 member), resume at committed offset',
  timeoutMs: 180_000,
  async run(ctx) {
    const broker = await ctx.startBroker();
    const topic = 'e2e-kafkajs';
    await createTopic(broker.bootstrap, topic, PARTITIONS);
    const records = generateRecords(FIRST + SECOND, { seed: 11 });

    const producer = kafkaClient(broker.bootstrap, 'e2e-kafkajs-producer').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acks1 = await produceWithAcks(producer, topic, records, { partitions: PARTITIONS, to: FIRST });
    ctx.log(`produced ${acks1.length}`);

    const groupId = 'e2e-kafkajs-group';
    const consumed1 = await consumeUntil(broker.bootstrap, topic, groupId, FIRST, 60_000);
    const stats1 = assertDelivery({ records: records.slice(0, FIRST), acks: acks1, consumed: consumed1 });
    ctx.log(`first read ok ${JSON.stringify(stats1)}`);

    const acks2 = await produceWithAcks(producer, topic, records, { partitions: PARTITIONS, from: FIRST });
    await producer.disconnect();
    const consumed2 = await consumeUntil(broker.bootstrap, topic, groupId, SECOND, 60_000);
    // The restarted member must start at the committed offsets: nothing of the first part again.
    const stats2 = assertDelivery({
      records: records.slice(FIRST),
      acks: acks2.map((a) => ({ ...a, index: a.index - FIRST })),
      consumed: consumed2,
    });
    const ends = await topicEndOffsets(broker.bootstrap, topic);
    const total = ends.reduce((s, e) => s + e.high - e.low, 0);
    if (total !== FIRST + SECOND) throw new Error(`topic holds ${total} records, expected ${FIRST + SECOND} (duplicates written?)`);
    return { produced: FIRST + SECOND, acked: acks1.length + acks2.length, consumed: consumed1.length + consumed2.length, resumed: stats2.consumed };
  },
};
