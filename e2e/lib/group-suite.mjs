// A consumer-group suite with real client processes on a 6-partition topic:
//   phase 1: 3 members join; every partition goes to exactly one member; records produced are all processed once;
//   phase 2: one member leaves (commit + LeaveGroup); the 2 survivors take over; new records are processed once;
//   phase 3: a new member joins; the 3 share the partitions again; new records are processed once.
// Members commit after processing, so across phases every record is processed exactly once.
import { generateRecords } from './records.mjs';
import { assertDelivery } from './verify.mjs';
import { createTopic, kafkaClient, produceWithAcks } from './kafkajs-helpers.mjs';
import { GroupMember, collectPhase, waitForProcessed, waitForStableAssignment } from './group.mjs';

const PARTITIONS = 6;

/**
 * @param ctx SuiteContext
 * @param {{ topic: string, groupId: string, perPhase: number, seed: number,
 *           memberCommand: (f: {bootstrap, topic, groupId, member, out, stopFile}) => [string, string[], object?] }} o
 */
export async function runGroupSuite(ctx, o) {
  const broker = await ctx.startBroker();
  await createTopic(broker.bootstrap, o.topic, PARTITIONS);
  const records = generateRecords(o.perPhase * 3, { seed: o.seed });
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
      command: o.memberCommand({ bootstrap: broker.bootstrap, topic: o.topic, groupId: o.groupId, member: name, out: ctx.path(`${name}.consumed`), stopFile: ctx.path(`${name}.stop`) }),
    });
    members.push(m);
    return m;
  };

  const allAcks = [];
  const allRows = [];
  const counts = {};
  const phase = async (n, from) => {
    const stable = await waitForStableAssignment(members, PARTITIONS);
    ctx.log(`phase ${n}: stable after ${stable.ms} ms: ${stable.description}`);
    counts[`rebalance${n}Ms`] = stable.ms;
    const acks = await produceWithAcks(producer, o.topic, records, { partitions: PARTITIONS, from, to: from + o.perPhase });
    allAcks.push(...acks);
    const ms = await waitForProcessed(members, from + o.perPhase);
    const rows = await collectPhase(members, stable.owners);
    allRows.push(...rows);
    ctx.log(`phase ${n}: ${rows.length} records processed in ${ms} ms`);
    assertDelivery({ records: records.slice(from, from + o.perPhase), acks: acks.map((a) => ({ ...a, index: a.index - from })), consumed: rows });
  };

  for (const name of ['m1', 'm2', 'm3']) startMember(name);
  await phase(1, 0);

  members[0].expectedExit = true;
  await members[0].stop();
  ctx.log('m1 left the group');
  await phase(2, o.perPhase);

  startMember('m4');
  await phase(3, 2 * o.perPhase);

  for (const m of members) if (!m.closed) {
    m.expectedExit = true;
    await m.stop();
  }
  const stats = assertDelivery({ records, acks: allAcks, consumed: allRows });
  return { members: members.length, produced: stats.produced, processed: stats.consumed, ...counts };
}
