// Consumer groups end to end: the real broker process and real kafkajs consumers. Bounded: every wait has a
// deadline, record counts are small. Uses the broker's default group.initial.rebalance.delay.ms (3 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { startBroker, tempDataDir, type BrokerProcess } from '../support/broker-process.js';
import { waitFor } from '../support/wait-for.js';

const PARTITIONS = 6;
let broker: BrokerProcess;
let cleanup: () => void;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let brokerAddress: string;

before(async () => {
  const tmp = tempDataDir('trib-cg-');
  cleanup = tmp.cleanup;
  broker = await startBroker({ dataDir: tmp.dir });
  brokerAddress = `${broker.kafka.host}:${broker.kafka.port}`;
  kafka = new Kafka({ clientId: 'cg-e2e', brokers: [brokerAddress], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

after(async () => {
  await producer?.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  const code = await broker?.stop('SIGTERM');
  cleanup?.();
  assert.equal(code, 0, 'broker shuts down cleanly');
});

interface Processed {
  member: string;
  partition: number;
  offset: number;
  value: string;
}

/** The group's members and their partitions of `topic` once it is Stable with `memberCount` members. */
async function stableAssignment(groupId: string, topic: string, memberCount: number): Promise<Map<string, number[]> | undefined> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  if (group === undefined || group.state !== 'Stable' || group.members.length !== memberCount) return undefined;
  const byMember = new Map<string, number[]>();
  for (const m of group.members) {
    const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    byMember.set(m.memberId, [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b));
  }
  return byMember;
}

/** Every partition to exactly one member. */
function assertPartitionsShared(byMember: Map<string, number[]>): void {
  const all = [...byMember.values()].flat().sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: PARTITIONS }, (_, i) => i), `each partition to exactly one member: ${JSON.stringify([...byMember])}`);
  for (const [member, partitions] of byMember) assert.ok(partitions.length > 0, `${member} got partitions`);
}

async function produceValues(topic: string, values: string[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ value, partition: i % PARTITIONS })) });
}

async function startMember(label: string, groupId: string, topic: string, processed: Processed[]): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      processed.push({ member: label, partition, offset: Number(message.offset), value: message.value?.toString() ?? '' });
      // Commit after processing: a record is never skipped, and redelivered only if a commit is lost.
      await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  return consumer;
}

function assertExactlyOnce(processed: Processed[], produced: string[]): void {
  const counts = new Map<string, number>();
  for (const p of processed) counts.set(p.value, (counts.get(p.value) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(duplicates, [], 'no record processed twice');
  const missing = produced.filter((v) => !counts.has(v));
  assert.deepEqual(missing, [], 'no record missed');
  assert.equal(processed.length, produced.length);
}

test('kafkajs: three consumers share six partitions, a fourth joins, one leaves, every record processed once, restart resumes', async () => {
  const topic = 'cg-orders';
  const groupId = 'cg-share';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const processed: Processed[] = [];
  const produced: string[] = [];
  const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => `v-${from + i}`);

  const members = new Map<string, Consumer>();
  for (const label of ['a', 'b', 'c']) members.set(label, await startMember(label, groupId, topic, processed));
  assertPartitionsShared(await waitFor('3 members stable', 20_000, () => stableAssignment(groupId, topic, 3)));

  produced.push(...batch(0, 120));
  await produceValues(topic, produced.slice(0, 120));
  await waitFor('first batch processed', 15_000, () => (processed.length >= 120 ? true : undefined));
  assert.deepEqual(new Set(processed.map((p) => p.member)), new Set(['a', 'b', 'c']), 'all three members consumed');

  // A fourth member joins: the group rebalances within a few seconds.
  const joinStartedMs = Date.now();
  members.set('d', await startMember('d', groupId, topic, processed));
  assertPartitionsShared(await waitFor('4 members stable', 10_000, () => stableAssignment(groupId, topic, 4)));
  const joinRebalanceMs = Date.now() - joinStartedMs;
  produced.push(...batch(120, 120));
  await produceValues(topic, produced.slice(120, 240));

  // One member leaves (LeaveGroup): the other three take over its partitions.
  const leaveStartedMs = Date.now();
  await members.get('b')!.disconnect();
  members.delete('b');
  assertPartitionsShared(await waitFor('3 members stable after a leave', 10_000, () => stableAssignment(groupId, topic, 3)));
  const leaveRebalanceMs = Date.now() - leaveStartedMs;
  produced.push(...batch(240, 120));
  await produceValues(topic, produced.slice(240, 360));
  await waitFor('all records processed', 20_000, () => (processed.length >= produced.length ? true : undefined));
  assert.ok(joinRebalanceMs < 10_000 && leaveRebalanceMs < 10_000, `rebalances took ${joinRebalanceMs} ms and ${leaveRebalanceMs} ms`);
  assertExactlyOnce(processed, produced);

  // Committed offsets reach the end of every partition.
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  for (const p of committed[0]!.partitions) {
    assert.equal(p.offset, ends.find((e) => e.partition === p.partition)!.high, `partition ${p.partition} committed to its end`);
  }

  // Everyone stops; new records arrive; a restarted consumer resumes at the committed offsets.
  for (const consumer of members.values()) await consumer.disconnect();
  const tail = batch(360, 30);
  produced.push(...tail);
  await produceValues(topic, tail);
  const before = processed.length;
  const restarted = await startMember('restarted', groupId, topic, processed);
  try {
    await waitFor('the restarted member processes the tail', 20_000, () => (processed.length >= before + tail.length ? true : undefined));
    const afterRestart = processed.slice(before);
    assert.deepEqual(afterRestart.map((p) => p.value).sort(), [...tail].sort(), 'only records after the committed offsets');
    assertExactlyOnce(processed, produced);
  } finally {
    await restarted.disconnect();
  }
});

interface ChildMember {
  proc: ChildProcess;
  lines: { event: string; partitions?: number[]; partition?: number; value?: string }[];
}

function spawnMember(groupId: string, topic: string): ChildMember {
  const script = fileURLToPath(new URL('./fixtures/kafkajs-member.js', import.meta.url));
  const proc = spawn(process.execPath, [script], {
    env: { PATH: process.env['PATH'] ?? '', BROKER: brokerAddress, GROUP: groupId, TOPIC: topic, SESSION_TIMEOUT_MS: '6000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const member: ChildMember = { proc, lines: [] };
  let pending = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      member.lines.push(JSON.parse(pending.slice(0, nl)) as ChildMember['lines'][number]);
      pending = pending.slice(nl + 1);
    }
  });
  return member;
}

test('kafkajs: a member killed with kill -9 is evicted after its session timeout and its partitions move to the survivors', async () => {
  const topic = 'cg-kill';
  const groupId = 'cg-kill9';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const processed: Processed[] = [];
  const child = spawnMember(groupId, topic);
  const survivors: Consumer[] = [];
  try {
    survivors.push(await startMember('s1', groupId, topic, processed));
    survivors.push(await startMember('s2', groupId, topic, processed));
    const three = await waitFor('3 members stable', 20_000, () => stableAssignment(groupId, topic, 3));
    assertPartitionsShared(three);
    const childPartitions = await waitFor('the child member has partitions', 10_000, () => {
      const assigned = child.lines.filter((l) => l.event === 'assigned').at(-1)?.partitions;
      return assigned !== undefined && assigned.length > 0 ? assigned : undefined;
    });

    const first = Array.from({ length: 60 }, (_, i) => `k-${i}`);
    await produceValues(topic, first);
    const childProcessed = () => child.lines.filter((l) => l.event === 'message').length;
    await waitFor('first records processed and committed', 15_000, () => (processed.length + childProcessed() >= first.length ? true : undefined));

    const killedAtMs = Date.now();
    child.proc.kill('SIGKILL');
    const two = await waitFor('survivors own every partition', 25_000, () => stableAssignment(groupId, topic, 2));
    const evictedAfterMs = Date.now() - killedAtMs;
    assertPartitionsShared(two);
    assert.ok(evictedAfterMs >= 4000, `evicted only after the session timeout (${evictedAfterMs} ms)`);
    assert.ok(evictedAfterMs < 20_000, `evicted within session timeout + rebalance (${evictedAfterMs} ms)`);
    const moved = [...two.values()].flat();
    for (const p of childPartitions) assert.ok(moved.includes(p), `partition ${p} moved to a survivor`);

    const second = Array.from({ length: 60 }, (_, i) => `k-${60 + i}`);
    const beforeSecond = processed.length;
    await produceValues(topic, second);
    await waitFor('survivors process the new records', 15_000, () => (processed.length - beforeSecond >= second.length ? true : undefined));
    const afterKill = processed.slice(beforeSecond).map((p) => p.value);
    assert.deepEqual([...afterKill].sort(), [...second].sort(), 'survivors resume at the committed offsets of the dead member');
    assert.ok(processed.slice(beforeSecond).some((p) => childPartitions.includes(p.partition)), "survivors consume the dead member's partitions");
  } finally {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    for (const s of survivors) await s.disconnect().catch(() => undefined);
  }
});

test('kafkajs: committed offsets survive a kill -9 of the broker; the group resumes where it committed', async () => {
  const tmp = tempDataDir('trib-cg-crash-');
  let crashing = await startBroker({ dataDir: tmp.dir });
  const topic = 'cg-durable';
  const groupId = 'cg-durable';
  const processed: Processed[] = [];
  const clientFor = (b: BrokerProcess) => new Kafka({ clientId: 'cg-crash', brokers: [`${b.kafka.host}:${b.kafka.port}`], logLevel: logLevel.NOTHING });
  try {
    let client = clientFor(crashing);
    const crashAdmin = client.admin();
    await crashAdmin.connect();
    await crashAdmin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    const crashProducer = client.producer({ allowAutoTopicCreation: false });
    await crashProducer.connect();
    const first = Array.from({ length: 60 }, (_, i) => `d-${i}`);
    await crashProducer.send({ topic, acks: -1, messages: first.map((value, i) => ({ value, partition: i % PARTITIONS })) });
    const consume = async (c: Kafka, label: string) => {
      const consumer = c.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
          processed.push({ member: label, partition, offset: Number(message.offset), value: message.value?.toString() ?? '' });
        },
      });
      return consumer;
    };
    const beforeCrash = await consume(client, 'before');
    await waitFor('records processed before the crash', 20_000, () => (processed.length >= first.length ? true : undefined));
    await beforeCrash.disconnect();
    await crashProducer.disconnect();
    await crashAdmin.disconnect();

    // Every commit was acknowledged; the broker dies without any chance to flush.
    await crashing.stop('SIGKILL');
    crashing = await startBroker({ dataDir: tmp.dir });
    client = clientFor(crashing);
    const afterAdmin = client.admin();
    await afterAdmin.connect();
    const committed = await afterAdmin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(
      committed[0]!.partitions.map((p) => Number(p.offset)).sort(),
      Array.from({ length: PARTITIONS }, () => first.length / PARTITIONS),
      'every acknowledged commit survived',
    );
    const afterProducer = client.producer({ allowAutoTopicCreation: false });
    await afterProducer.connect();
    const second = Array.from({ length: 12 }, (_, i) => `d-${60 + i}`);
    await afterProducer.send({ topic, acks: -1, messages: second.map((value, i) => ({ value, partition: i % PARTITIONS })) });
    const resumed = await consume(client, 'after');
    await waitFor('records processed after the restart', 20_000, () => (processed.length >= first.length + second.length ? true : undefined));
    await resumed.disconnect();
    await afterProducer.disconnect();
    await afterAdmin.disconnect();
    assertExactlyOnce(processed, [...first, ...second]);
    assert.deepEqual(processed.filter((p) => p.member === 'after').map((p) => p.value).sort(), [...second].sort());
  } finally {
    await crashing.stop('SIGKILL');
    tmp.cleanup();
  }
});
