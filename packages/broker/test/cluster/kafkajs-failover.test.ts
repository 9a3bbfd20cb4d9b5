// kafkajs against a 3-broker cluster: admin creates an RF 3 topic, an acks=all producer keeps producing across a
// kill -9 of a partition leader (it retries and refreshes metadata), and a consumer then reads every acknowledged
// record exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { tempDataDir } from '../support/broker-process.js';
import { clusterEnv, consumeValues, freePorts, metadataUntil, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'kjs-failover';

test('kafkajs: acks=all producing continues across a partition leader kill -9; every acked record read once', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-kjs-cluster-');
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes = new Map<number, ClusterNodeProcess>();
  try {
    const started = await Promise.all([1, 2, 3].map((id) => startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Kafkajsfailovercluster'))));
    for (const n of started) nodes.set(n.id, n);
    const brokers = started.map((n) => `127.0.0.1:${n.kafkaPort}`);
    const kafka = new Kafka({ clientId: 'cluster-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }), true);
    await admin.disconnect();

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const acked: string[] = [];
    const sendSome = async (round: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const value = `${round}-${i}`;
        await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: `k${i}`, value }] });
        acked.push(value);
      }
    };
    await sendSome('before', 30);

    const md = await metadataUntil(started[0]!.kafkaPort, (m) => m.topics.some((t: any) => t.name === TOPIC));
    const victim = md.topics.find((t: any) => t.name === TOPIC).partitions.find((p: any) => p.partitionIndex === 0).leaderId as number;
    nodes.get(victim)!.proc.kill('SIGKILL');
    await nodes.get(victim)!.exited;
    await sendSome('after', 30);
    await producer.disconnect();

    const survivors = [...nodes.values()].filter((n) => n.id !== victim).map((n) => `127.0.0.1:${n.kafkaPort}`);
    const reader = new Kafka({ clientId: 'cluster-reader', brokers: survivors, logLevel: logLevel.NOTHING });
    const consumer = reader.consumer({ groupId: 'cluster-check', sessionTimeout: 10_000 });
    await consumer.connect();
    const seen = await consumeValues(consumer, TOPIC, acked.length, 30_000);
    await consumer.disconnect();
    assert.deepEqual([...seen].sort(), [...acked].sort(), 'every acknowledged record exactly once');

    for (const n of nodes.values()) if (n.id !== victim) n.proc.kill('SIGTERM');
    for (const n of nodes.values()) if (n.id !== victim) assert.equal(await n.exited, 0);
  } finally {
    for (const n of nodes.values()) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exited));
    cleanup();
  }
});
