// kill -9 durability: a producer writes at a steady rate while the broker is SIGKILLed (twice) and restarted on the same
// data dir and port; the producer retries through the outage. Afterwards every acknowledged record must be in the log
// exactly once at its acknowledged offset (default fsync policy: durable before acks=1/-1 are answered).
// Runs: Java idempotent acks=all; confluent-kafka idempotent acks=all; confluent-kafka acks=1 without idempotence
// (there a retry of a write whose answer was lost to the kill may leave an extra copy at another offset: allowed and
// counted, because a non-idempotent producer cannot avoid it; the acknowledged copy must still be where the ack said).
import { generateRecords, lineCount, readAcks, readConsumed, writeRecordsFile } from '../lib/records.mjs';
import { verifyDelivery } from '../lib/verify.mjs';
import { createTopic, topicEndOffsets } from '../lib/kafkajs-helpers.mjs';
import { run, runOk, sleep } from '../lib/proc.mjs';
import { pythonClient } from '../lib/python.mjs';
import { ensureJavaClient, javaClient } from '../lib/java.mjs';

const PARTITIONS = 3;
const COUNT = 12_000;
const RATE = 2_000; // records/s: the run spans ~6 s, long enough for two kills mid-stream
const KILL_AT = [0.3, 0.65];

async function durabilityRun(ctx, broker, { label, idempotent, producerCommand }) {
  const topic = `e2e-kill9-${label}`;
  await createTopic(broker.bootstrap, topic, PARTITIONS);
  const records = generateRecords(COUNT, { seed: 90 + label.length });
  const recordsFile = ctx.path(`${topic}.records`);
  writeRecordsFile(recordsFile, records);
  const acksOut = ctx.path(`${topic}.acks`);
  const [cmd, args, opts] = producerCommand({ bootstrap: broker.bootstrap, topic, records: recordsFile, acksOut });
  const producer = run(cmd, args, { ...opts, logFile: ctx.path(`${topic}.producer.log`) });
  let kills = 0;
  for (const fraction of KILL_AT) {
    const deadline = Date.now() + 60_000;
    while (lineCount(acksOut) < COUNT * fraction) {
      if (Date.now() > deadline) throw new Error(`${label}: producer stalled at ${lineCount(acksOut)} acks\n${producer.tail()}`);
      if (producer.child.exitCode !== null) throw new Error(`${label}: producer exited early\n${producer.tail()}`);
      await sleep(20);
    }
    const acked = lineCount(acksOut);
    await broker.kill9();
    kills++;
    ctx.log(`${label}: broker SIGKILLed after ${acked} acks; restarting`);
    await broker.start();
  }
  const { code } = await producer.wait(180_000, `${label} producer`);
  const acks = await readAcks(acksOut);
  const failed = acks.filter((a) => a.error !== undefined).length;
  const okCount = acks.length - failed;
  if (code !== 0 && okCount + failed < COUNT) throw new Error(`${label}: producer exited ${code}\n${producer.tail()}`);
  if (okCount < COUNT * 0.9) throw new Error(`${label}: only ${okCount} of ${COUNT} records acknowledged (${failed} failed)\n${producer.tail()}`);

  // One more kill right after the producer finished: acknowledged means durable, not "still in the page cache".
  await broker.kill9();
  await broker.start();

  const ends = await topicEndOffsets(broker.bootstrap, topic);
  const stored = ends.reduce((s, e) => s + e.high - e.low, 0);
  const out = ctx.path(`${topic}.consumed`);
  const [ccmd, cargs, copts] = pythonClient('confluent_client.py', 'consume-assign', ['--bootstrap', broker.bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--expect', String(stored), '--out', out]);
  await runOk(ccmd, cargs, { ...copts, logFile: ctx.path(`${topic}.consumer.log`) }, 120_000);
  const consumed = await readConsumed(out);
  const result = verifyDelivery({ records, acks, consumed, idempotent, requireAllAcked: false });
  if (!result.ok) throw new Error(`${label}: ${JSON.stringify(result.stats)}\n  ${result.errors.join('\n  ')}`);
  if (idempotent && stored !== new Set(consumed.map((c) => c.line)).size) throw new Error(`${label}: ${stored} stored records for ${result.stats.consumed} distinct`);
  ctx.log(`${label}: ${JSON.stringify(result.stats)}`);
  return { acked: okCount, failed, stored, extraCopies: result.stats.duplicates + result.stats.unackedPresent, kills: kills + 1 };
}

export default {
  name: 'kill9-durability',
  description: 'kill -9 + restart during produce (Java/confluent acks=all idempotent, confluent acks=1): no acked record lost',
  timeoutMs: 360_000,
  async run(ctx) {
    await ensureJavaClient();
    const broker = await ctx.startBroker();
    const counts = {};
    const runs = [
      {
        label: 'java-acks-all',
        idempotent: true,
        producerCommand: (f) => javaClient('produce', { bootstrap: f.bootstrap, topic: f.topic, records: f.records, 'acks-out': f.acksOut, partitions: PARTITIONS, acks: 'all', idempotent: 'true', rate: RATE }),
      },
      {
        label: 'confluent-acks-all',
        idempotent: true,
        producerCommand: (f) =>
          pythonClient('confluent_client.py', 'produce', ['--bootstrap', f.bootstrap, '--topic', f.topic, '--records', f.records, '--acks-out', f.acksOut, '--partitions', String(PARTITIONS), '--acks', 'all', '--idempotent', '--rate', String(RATE)]),
      },
      {
        label: 'confluent-acks-1',
        idempotent: false,
        producerCommand: (f) =>
          pythonClient('confluent_client.py', 'produce', ['--bootstrap', f.bootstrap, '--topic', f.topic, '--records', f.records, '--acks-out', f.acksOut, '--partitions', String(PARTITIONS), '--acks', '1', '--rate', String(RATE)]),
      },
    ];
    for (const r of runs) {
      const s = await durabilityRun(ctx, broker, r);
      for (const [k, v] of Object.entries(s)) counts[`${r.label}.${k}`] = v;
    }
    return counts;
  },
};
