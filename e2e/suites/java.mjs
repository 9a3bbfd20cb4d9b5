// Java client (kafka-clients 4.x from Maven Central):
// 1. idempotent producer (enable.idempotence=true, acks=all) into 3 partitions with binary keys/values/headers
//    (null keys and null header values), then assign() + seekToBeginning reads everything back;
// 2. the "simple" commit path (assign() + commitSync with a group id, generation -1, no membership): a consumer commits
//    what it read; after more records are produced, a new consumer of that group id starts at the committed offsets
//    and reads exactly the new records.
import { generateRecords, readAcks, readConsumed, writeRecordsFile } from '../lib/records.mjs';
import { assertDelivery } from '../lib/verify.mjs';
import { createTopic } from '../lib/kafkajs-helpers.mjs';
import { roundTrip } from '../lib/round-trip.mjs';
import { runOk } from '../lib/proc.mjs';
import { ensureJavaClient, javaClient } from '../lib/java.mjs';

async function simpleCommitPath(ctx, broker) {
  const topic = 'e2e-java-simple-commit';
  const partitions = 2;
  const [first, second] = [2000, 1000];
  await createTopic(broker.bootstrap, topic, partitions);
  const records = generateRecords(first + second, { seed: 52 });
  const part = async (name, slice) => {
    const recordsFile = ctx.path(`${name}.records`);
    writeRecordsFile(recordsFile, slice);
    const acksOut = ctx.path(`${name}.acks`);
    const [pc, pa, po] = javaClient('produce', { bootstrap: broker.bootstrap, topic, records: recordsFile, 'acks-out': acksOut, partitions, acks: 'all', idempotent: 'true' });
    await runOk(pc, pa, { ...po, logFile: ctx.path(`${name}.producer.log`) }, 120_000);
    const out = ctx.path(`${name}.consumed`);
    const [cc, ca, co] = javaClient('consume-assign', { bootstrap: broker.bootstrap, topic, partitions, expect: slice.length, out, group: 'e2e-java-simple', 'timeout-s': 60 });
    await runOk(cc, ca, { ...co, logFile: ctx.path(`${name}.consumer.log`) }, 120_000);
    return assertDelivery({ records: slice, acks: await readAcks(acksOut), consumed: await readConsumed(out) });
  };
  await part('simple-1', records.slice(0, first));
  // The second consumer must start at the commit: reading anything of the first part fails the check (unknown record).
  const stats = await part('simple-2', records.slice(first));
  return stats.consumed;
}

export default {
  name: 'java',
  description: 'Java client idempotent produce (acks=all), assign() consume, simple-path commit + resume, byte-exact',
  timeoutMs: 240_000,
  async run(ctx) {
    await ensureJavaClient();
    const counts = await roundTrip(ctx, {
      topic: 'e2e-java',
      partitions: 3,
      count: 20_000,
      seed: 51,
      recordOptions: { nullHeaderValues: true },
      producer: (f) => javaClient('produce', { bootstrap: f.bootstrap, topic: f.topic, records: f.records, 'acks-out': f.acksOut, partitions: f.partitions, acks: 'all', idempotent: 'true' }),
      consumer: (f) => javaClient('consume-assign', { bootstrap: f.bootstrap, topic: f.topic, partitions: f.partitions, expect: f.expect, out: f.out }),
    });
    counts.resumedAfterSimpleCommit = await simpleCommitPath(ctx, ctx.brokers[0]);
    return counts;
  },
};
