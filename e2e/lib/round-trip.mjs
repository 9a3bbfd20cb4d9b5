// The common shape of a client suite: a fresh broker and topic, an external producer program writes generated records
// and reports an ack per record, an external consumer program reads them back, and the checker compares.
import { existsSync } from 'node:fs';
import { generateRecords, readAcks, readConsumed, writeRecordsFile } from './records.mjs';
import { assertDelivery } from './verify.mjs';
import { createTopic, topicEndOffsets } from './kafkajs-helpers.mjs';
import { runOk } from './proc.mjs';

/**
 * @param ctx SuiteContext
 * @param {object} o
 * @param {string} o.topic
 * @param {number} o.partitions
 * @param {number} o.count
 * @param {number} o.seed
 * @param {object} [o.recordOptions]  passed to generateRecords
 * @param {(f: {bootstrap, topic, partitions, records, acksOut}) => [string, string[], object?]} o.producer  command line
 * @param {(f: {bootstrap, topic, partitions, expect, out}) => [string, string[], object?]} o.consumer  command line
 * @param {boolean} [o.idempotent=true]
 */
export async function roundTrip(ctx, o) {
  const broker = ctx.broker ?? (await ctx.startBroker());
  await createTopic(broker.bootstrap, o.topic, o.partitions);
  const records = generateRecords(o.count, { seed: o.seed, ...o.recordOptions });
  const recordsFile = ctx.path(`${o.topic}.records`);
  writeRecordsFile(recordsFile, records);
  const acksOut = ctx.path(`${o.topic}.acks`);
  const out = ctx.path(`${o.topic}.consumed`);
  const base = { bootstrap: broker.bootstrap, topic: o.topic, partitions: o.partitions };

  const t0 = Date.now();
  const [pcmd, pargs, popts] = o.producer({ ...base, records: recordsFile, acksOut });
  await runOk(pcmd, pargs, { logFile: ctx.path('producer.log'), ...popts }, o.produceTimeoutMs ?? 120_000);
  const produceMs = Date.now() - t0;
  if (!existsSync(acksOut)) throw new Error('producer wrote no acks file');
  const acks = await readAcks(acksOut);
  const failed = acks.filter((a) => a.error !== undefined);
  if (failed.length > 0) throw new Error(`${failed.length} produce errors, first: ${failed[0].error}`);
  ctx.log(`produced ${acks.length} acked records in ${produceMs} ms`);

  const t1 = Date.now();
  const [ccmd, cargs, copts] = o.consumer({ ...base, expect: o.count, out });
  await runOk(ccmd, cargs, { logFile: ctx.path('consumer.log'), ...copts }, o.consumeTimeoutMs ?? 120_000);
  const consumeMs = Date.now() - t1;
  const consumed = existsSync(out) ? await readConsumed(out) : [];
  const stats = assertDelivery({ records, acks, consumed, idempotent: o.idempotent ?? true });

  const ends = await topicEndOffsets(broker.bootstrap, o.topic);
  const stored = ends.reduce((s, e) => s + e.high - e.low, 0);
  if ((o.idempotent ?? true) && stored !== o.count) throw new Error(`topic holds ${stored} records after producing ${o.count}`);
  return { produced: o.count, acked: stats.acked, consumed: stats.consumed, stored, produceMs, consumeMs };
}
