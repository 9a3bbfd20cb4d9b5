// A consumer-group suite with real client processes on a 6-partition topic:
//   phase 1: 3 members join; every partition goes to exactly one member; records produced are all processed once;
//   phase 2: one member leaves (commit + LeaveGroup); the 2 survivors take over; new records are processed once;
//   phase 3: a new member joins; the 3 share the partitions again; new records are processed once; Kafka's own
//            ConsumerGroupCommand describes the group: 3 members, every partition owned, lag 0;
//   phase 4: a member is killed with SIGKILL; after its session timeout it is evicted and the survivors take its
//            partitions; new records are processed once.
// Members commit after processing, so across phases every record is processed exactly once.
import { generateRecords } from './records.mjs';
import { assertDelivery } from './verify.mjs';
import { createTopic, kafkaClient, produceWithAcks } from './kafkajs-helpers.mjs';
import { GroupMember, collectPhase, waitForProcessed, waitForStableAssignment } from './group.mjs';
import { describeConsumerGroup } from './consumer-group-command.mjs';

const PARTITIONS = 6;
const PHASES = 4;
/** Members' session timeout (Kafka's minimum by default): a SIGKILLed member is evicted after it. */
export const SESSION_TIMEOUT_MS = 6000;

/**
 * @param ctx SuiteContext
 * @param {{ topic: string, groupId: string, perPhase: number, seed: number,
 *           memberCommand: (f: {bootstrap, topic, groupId, member, out, stopFile, sessionTimeoutMs}) => [string, string[], object?] }} o
 */
export async function runGroupSuite(ctx, o) {
  const broker = await ctx.startBroker();
  await createTopic(broker.bootstrap, o.topic, PARTITIONS);
  const records = generateRecords(o.perPhase * PHASES, { seed: o.seed });
  const producer = kafkaClient(broker.bootstrap, 'e2e-group-producer').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  ctx.onCleanup(() => producer.disconnect());

  const members = [];
  ctx.onCleanup(async () => {
    for (const m of members) if (!m.closed) await m.kill9();
  });
  const startMember = (name) => {
    const m = new GroupMember({
      name,
      outFile: ctx.path(`${name}.consumed`),
      stopFile: ctx.path(`${name}.stop`),
      logFile: ctx.path(`${name}.log`),
      command: o.memberCommand({ bootstrap: broker.bootstrap, topic: o.topic, groupId: o.groupId, member: name, out: ctx.path(`${name}.consumed`), stopFile: ctx.path(`${name}.stop`), sessionTimeoutMs: SESSION_TIMEOUT_MS }),
    });
    members.push(m);
    return m;
  };

  const allAcks = [];
  const allRows = [];
  const counts = {};
  const phase = async (n, changedAtMs, afterProcessed) => {
    const from = (n - 1) * o.perPhase;
    const stable = await waitForStableAssignment(members, PARTITIONS);
    const rebalanceMs = Date.now() - changedAtMs - (stable.stableForMs ?? 0);
    ctx.log(`phase ${n}: stable ${rebalanceMs} ms after the membership change: ${stable.description}`);
    counts[`rebalance${n}Ms`] = rebalanceMs;
    const acks = await produceWithAcks(producer, o.topic, records, { partitions: PARTITIONS, from, to: from + o.perPhase });
    allAcks.push(...acks);
    const ms = await waitForProcessed(members, from + o.perPhase);
    const rows = await collectPhase(members, stable.owners);
    allRows.push(...rows);
    ctx.log(`phase ${n}: ${rows.length} records processed in ${ms} ms`);
    assertDelivery({ records: records.slice(from, from + o.perPhase), acks: acks.map((a) => ({ ...a, index: a.index - from })), consumed: rows });
    if (afterProcessed) await afterProcessed(stable);
  };

  let changedAtMs = Date.now();
  for (const name of ['m1', 'm2', 'm3']) startMember(name);
  await phase(1, changedAtMs);

  changedAtMs = Date.now();
  members[0].expectedExit = true;
  await members[0].stop();
  ctx.log('m1 left the group');
  await phase(2, changedAtMs);

  changedAtMs = Date.now();
  startMember('m4');
  await phase(3, changedAtMs, async (stable) => {
    const described = await describeConsumerGroup(broker.bootstrap, o.groupId);
    ctx.log(`kafka-consumer-groups --describe:\n${described.raw}`);
    const rows = described.filter((r) => r.topic === o.topic);
    const consumerIds = new Set(rows.map((r) => r.consumerId));
    for (let p = 0; p < PARTITIONS; p++) {
      const r = rows.find((x) => x.partition === p);
      if (!r) throw new Error(`ConsumerGroupCommand --describe lists no row for partition ${p}:\n${described.raw}`);
      if (r.lag !== 0) throw new Error(`ConsumerGroupCommand: partition ${p} lag ${r.lag} after everything was processed and committed:\n${described.raw}`);
      if (r.consumerId === '-') throw new Error(`ConsumerGroupCommand: partition ${p} has no owner:\n${described.raw}`);
    }
    if (consumerIds.size !== new Set(stable.owners.values()).size)
      throw new Error(`ConsumerGroupCommand lists ${consumerIds.size} owners, expected 3:\n${described.raw}`);
    counts.describedMembers = consumerIds.size;
  });

  changedAtMs = Date.now();
  const victim = members.find((m) => !m.closed);
  victim.expectedExit = true;
  await victim.kill9();
  ctx.log(`${victim.name} killed with SIGKILL; waiting for its eviction (session timeout ${SESSION_TIMEOUT_MS} ms)`);
  await phase(4, changedAtMs);

  for (const m of members) if (!m.closed) {
    m.expectedExit = true;
    await m.stop();
  }
  const stats = assertDelivery({ records, acks: allAcks, consumed: allRows });
  return { members: members.length, produced: stats.produced, processed: stats.consumed, ...counts };
}
