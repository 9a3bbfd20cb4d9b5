// Consumer groups in cluster mode, real processes: three brokers, kafkajs members that bootstrap from DIFFERENT brokers
// form ONE group (every broker names the metadata leader as coordinator); offsets committed through it survive a
// kill -9 of that leader (= the coordinator): the group moves to the new leader, consumption resumes without reading
// committed records again, and after the killed broker restarts OffsetFetch from every broker returns the commits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { waitFor } from '../support/wait-for.js';
import { WireClient } from '../support/wire-client.js';
import { clusterEnv, freePorts, metadataUntil, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'cluster-groups';
const GROUP = 'one-group';
const PARTITIONS = 6;

interface Consumed {
  readonly member: number;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  readonly afterKill: boolean;
}

async function wire<T = any>(port: number, apiKey: number, version: number, body: unknown): Promise<T> {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    return (await client.request(apiKey, version, body)) as T;
  } finally {
    client.close();
  }
}

const findCoordinator = (port: number): Promise<any> => wire(port, ApiKey.FindCoordinator, 3, { key: GROUP, keyType: 0 });
const offsetFetch = (port: number): Promise<any> =>
  wire(port, ApiKey.OffsetFetch, 5, { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [...Array(PARTITIONS).keys()] }], requireStable: false });

/** Committed offsets of GROUP by partition, fetched through a kafkajs admin that bootstraps from `broker` only. */
async function committedVia(broker: string): Promise<number[]> {
  const admin = new Kafka({ clientId: `fetch-via-${broker}`, brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } }).admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    return [...topic!.partitions].sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

test('kafkajs: members bootstrapped from different brokers form one group; kill -9 of the coordinator loses no commit', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-cluster-groups-');
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const envOf = (id: number) => ({ ...clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Clustergroupscluster01'), TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS: '500' });
  const nodes = new Map<number, ClusterNodeProcess>();
  const consumers: Consumer[] = [];
  try {
    // allSettled: a node that started is in `nodes` (killed in finally) even when another failed to start.
    const started = await Promise.allSettled([1, 2, 3].map((id) => startClusterNode(id, envOf(id))));
    for (const s of started) if (s.status === 'fulfilled') nodes.set(s.value.id, s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const address = (id: number): string => `127.0.0.1:${nodes.get(id)!.kafkaPort}`;
    const md = await metadataUntil(nodes.get(1)!.kafkaPort, (m) => m.controllerId > 0 && m.brokers.length === 3);
    const leaderId = md.controllerId as number;

    // Every broker names the metadata leader; the others refuse group requests so clients look it up again.
    for (const id of [1, 2, 3]) {
      const found = await findCoordinator(nodes.get(id)!.kafkaPort);
      assert.deepEqual([found.errorCode, found.nodeId, found.port], [ErrorCode.NONE, leaderId, nodes.get(leaderId)!.kafkaPort], `FindCoordinator on broker ${id}`);
      if (id !== leaderId) assert.equal((await offsetFetch(nodes.get(id)!.kafkaPort)).errorCode, ErrorCode.NOT_COORDINATOR, `OffsetFetch on broker ${id}`);
    }

    const kafka = new Kafka({ clientId: 'cluster-groups', brokers: [1, 2, 3].map(address), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true }), true);
    await admin.disconnect();

    // Member i bootstraps from broker i (kafkajs takes the bootstrap list in order; the other brokers follow in the list
    // only so that the member whose first broker is killed can reconnect after kafkajs restarts it).
    const bootstrapOf = (member: number): string[] => [0, 1, 2].map((k) => address(((member - 1 + k) % 3) + 1));
    const consumed: Consumed[] = [];
    const assignments = new Map<number, number[]>();
    let killed = false;
    /** Every partition assigned to exactly one of the three members (by their latest assignments). */
    const assignedOnce = (): boolean =>
      assignments.size === 3 && [...assignments.values()].every((p) => p.length > 0) && [...assignments.values()].flat().sort((a, b) => a - b).join() === [...Array(PARTITIONS).keys()].join();
    const oneStableGroup = async (admin: Admin, what: string): Promise<void> => {
      let last = '';
      await waitFor(what, 60_000, async () => {
        const { groups } = await admin.describeGroups([GROUP]);
        last = JSON.stringify({ state: groups[0]?.state, members: groups[0]?.members.map((m) => m.clientId), assignments: [...assignments] });
        return groups[0]?.state === 'Stable' && groups[0].members.length === 3 && assignedOnce() ? true : undefined;
      }).catch((err: unknown) => {
        const logs = [...nodes.values()].map((n) => n.output().split('\n').filter((l) => /consumer group/.test(l)).slice(-20).join('\n'));
        throw new Error(`${String(err)}; last described ${last}; logs:\n${logs.join('\n')}`);
      });
    };
    for (const member of [1, 2, 3]) {
      const memberKafka = new Kafka({ clientId: `member-${member}`, brokers: bootstrapOf(member), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
      // kafkajs re-finds the coordinator only on a coordinator error or by restarting the consumer after its retries
      // run out; the killed coordinator answers nothing and still appears in Metadata (no broker liveness yet), so
      // short fetch waits and few retries make that restart come within seconds.
      const consumer = memberKafka.consumer({ groupId: GROUP, sessionTimeout: 15_000, heartbeatInterval: 500, maxWaitTimeInMs: 1000, retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 } });
      // kafkajs hands the decoded assignment: topic -> partitions.
      consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.set(member, [...((e.payload.memberAssignment as Record<string, number[]>)[TOPIC] ?? [])]));
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          consumed.push({ member, partition, offset: Number(message.offset), value: message.value!.toString(), afterKill: killed });
        },
      });
      consumers.push(consumer);
    }

    // ONE group: every partition assigned exactly once across the three members, and the coordinator sees 3 members.
    const describeAdmin = kafka.admin();
    await describeAdmin.connect();
    await oneStableGroup(describeAdmin, 'one stable group of three members');
    await describeAdmin.disconnect();
    assert.deepEqual([...assignments.values()].flat().sort((a, b) => a - b), [...Array(PARTITIONS).keys()], `each partition to one member: ${JSON.stringify([...assignments])}`);
    for (const [member, partitions] of assignments) assert.ok(partitions.length > 0, `member ${member} has partitions`);

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const produced: string[] = [];
    const produce = async (round: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const value = `${round}-${i}`;
        await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: `k${i}`, value }] });
        produced.push(value);
      }
    };
    await produce('before', 60);
    // kafkajs commits after each batch; wait until the coordinator holds a commit for everything consumed.
    const highWatermarks = new Map<number, number>();
    await waitFor('every record consumed and committed', 60_000, async () => {
      if (new Set(consumed.map((c) => c.value)).size < produced.length) return undefined;
      const offsets = await offsetFetch(nodes.get(leaderId)!.kafkaPort);
      const partitions = offsets.topics[0].partitions as { partitionIndex: number; committedOffset: number }[];
      for (const c of consumed) highWatermarks.set(c.partition, Math.max(highWatermarks.get(c.partition) ?? 0, c.offset + 1));
      return partitions.every((p) => p.committedOffset === (highWatermarks.get(p.partitionIndex) ?? -1)) ? true : undefined;
    });
    assert.equal(consumed.length, produced.length, 'a stable group read every record once');
    const committedAtKill = [...Array(PARTITIONS).keys()].map((p) => highWatermarks.get(p) ?? -1);

    // kill -9 the metadata leader = the coordinator (it also leads some partitions).
    killed = true;
    nodes.get(leaderId)!.proc.kill('SIGKILL');
    await nodes.get(leaderId)!.exited;
    const survivors = [1, 2, 3].filter((id) => id !== leaderId);
    const newLeaderId = await waitFor('a new coordinator', 30_000, async () => {
      const found = await findCoordinator(nodes.get(survivors[0]!)!.kafkaPort);
      return found.errorCode === ErrorCode.NONE && found.nodeId !== leaderId ? (found.nodeId as number) : undefined;
    });
    const fromNew = await waitFor('committed offsets on the new coordinator', 30_000, async () => {
      const r = await offsetFetch(nodes.get(newLeaderId)!.kafkaPort);
      return r.errorCode === ErrorCode.NONE ? (r.topics[0].partitions as { committedOffset: number }[]).map((p) => p.committedOffset) : undefined;
    });
    assert.deepEqual(fromNew, committedAtKill, 'no commit lost with the coordinator');

    await produce('after', 30);
    await waitFor('the records produced after the kill', 90_000, () => (new Set(consumed.map((c) => c.value)).size >= produced.length ? true : undefined));
    const reread = consumed.filter((c) => c.afterKill && c.offset < committedAtKill[c.partition]!);
    assert.deepEqual(reread, [], 'nothing below the committed offsets is read again');
    assert.deepEqual([...new Set(consumed.map((c) => c.value))].sort(), [...produced].sort(), 'every record read');

    let lastSeen = '';
    const finalOffsets = await waitFor('the new records committed', 60_000, async () => {
      const r = await offsetFetch(nodes.get(newLeaderId)!.kafkaPort);
      const offsets = (r.topics?.[0]?.partitions ?? []).map((p: { committedOffset: number }) => p.committedOffset) as number[];
      lastSeen = JSON.stringify({ err: r.errorCode, offsets, afterKill: consumed.filter((c) => c.afterKill).map((c) => [c.member, c.partition, c.offset]) });
      return r.errorCode === ErrorCode.NONE && offsets.reduce((a, b) => a + b, 0) === produced.length ? offsets : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}; ${lastSeen}; logs:\n${[...nodes.values()].map((n) => n.output().split('\n').filter((l) => /consumer|coordinat|offset/.test(l)).slice(-30).join('\n')).join('\n')}`);
    });
    // The members re-formed ONE group on the new coordinator.
    const survivorAdmin = new Kafka({ clientId: 'describe-after', brokers: survivors.map(address), logLevel: logLevel.NOTHING }).admin();
    await survivorAdmin.connect();
    await oneStableGroup(survivorAdmin, 'one stable group of three members on the new coordinator');
    await survivorAdmin.disconnect();
    assert.deepEqual([...assignments.values()].flat().sort((a, b) => a - b), [...Array(PARTITIONS).keys()]);
    for (const c of consumers) await c.disconnect();
    consumers.length = 0;
    await producer.disconnect();

    // The killed broker restarts (new Kafka port, re-registered) and catches up; OffsetFetch through any broker.
    nodes.set(leaderId, await startClusterNode(leaderId, envOf(leaderId)));
    for (const id of [1, 2, 3]) {
      const offsets = await waitFor(`OffsetFetch bootstrapped from broker ${id}`, 30_000, () => committedVia(address(id)));
      assert.deepEqual(offsets, finalOffsets, `committed offsets via broker ${id}`);
    }

    for (const n of nodes.values()) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) assert.equal(await n.exited, 0, `node ${n.id} exits cleanly`);
  } finally {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    for (const n of nodes.values()) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exited));
    cleanup();
  }
});
