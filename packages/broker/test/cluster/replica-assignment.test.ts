// CreateTopics with manual replica assignments in cluster mode, through kafkajs's admin (`replicaAssignment`, sent as
// `kafka-topics --replica-assignment` sends it): the metadata group stores the requested replicas in order, the
// first is the preferred leader, and ElectLeaders PREFERRED moves every partition's leadership to it. Assignments
// naming an unregistered broker, or given together with numPartitions, are refused with Kafka's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { WireClient } from '../support/wire-client.js';
import { clusterEnv, freePorts, metadataUntil, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'assigned';

/** kafkajs's "Topic creation errors" (KafkaJSAggregateError) carries each topic's KafkaJSCreateTopicError (its `type` is the Kafka error name). */
const refusedWith = (type: string) => (err: any): boolean => {
  assert.deepEqual(err.errors?.map((e: any) => e.type), [type], `${err.message}: ${err.errors?.map((e: any) => e.message).join("; ")}`);
  return true;
};
const PREFERRED = 2;

test('cluster: kafkajs replicaAssignment puts broker 2 first on every partition; ElectLeaders PREFERRED moves every leader to it', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-assign-cluster-');
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes: ClusterNodeProcess[] = [];
  try {
    nodes.push(...(await Promise.all([1, 2, 3].map((id) => startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Replicaassignmentcluster'))))));
    const kafka = new Kafka({ clientId: 'assign-test', brokers: nodes.map((n) => `127.0.0.1:${n.kafkaPort}`), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const replicaAssignment = [
        { partition: 0, replicas: [PREFERRED, 1, 3] },
        { partition: 1, replicas: [PREFERRED, 3, 1] },
        { partition: 2, replicas: [PREFERRED, 1, 3] },
      ];
      assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment }], waitForLeaders: true }), true);
      await assert.rejects(admin.createTopics({ topics: [{ topic: 'unknown-broker', replicaAssignment: [{ partition: 0, replicas: [1, 9] }] }] }), refusedWith('INVALID_REPLICA_ASSIGNMENT'));
      await assert.rejects(admin.createTopics({ topics: [{ topic: 'both-given', numPartitions: 1, replicaAssignment: [{ partition: 0, replicas: [1] }] }] }), refusedWith('INVALID_REQUEST'));
    } finally {
      await admin.disconnect();
    }
    const led = (m: any): boolean => {
      const t = m.topics.find((x: any) => x.name === TOPIC);
      return t !== undefined && t.partitions.length === 3 && t.partitions.every((p: any) => p.leaderId > 0);
    };
    const md = await metadataUntil(nodes[0]!.kafkaPort, led, 20_000);
    const partitions = md.topics.find((x: any) => x.name === TOPIC).partitions.sort((a: any, b: any) => a.partitionIndex - b.partitionIndex);
    assert.deepEqual(partitions.map((p: any) => p.replicaNodes), [[2, 1, 3], [2, 3, 1], [2, 1, 3]], 'replicas stored in the requested order');
    console.log(`leaders before ElectLeaders: ${partitions.map((p: any) => p.leaderId).join(',')}`);

    const c = await WireClient.connect('127.0.0.1', nodes[2]!.kafkaPort);
    try {
      const r = await c.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0, 1, 2] }], timeoutMs: 15000 });
      for (const p of r.replicaElectionResults[0].partitionResult) {
        assert.ok([ErrorCode.NONE, ErrorCode.ELECTION_NOT_NEEDED].includes(p.errorCode), `partition ${p.partitionId}: error ${p.errorCode} ${p.errorMessage}`);
      }
    } finally {
      c.close();
    }
    const onPreferred = (m: any): boolean => led(m) && m.topics.find((x: any) => x.name === TOPIC).partitions.every((p: any) => p.leaderId === PREFERRED);
    for (const n of nodes) await metadataUntil(n.kafkaPort, onPreferred, 15_000);
  } finally {
    for (const n of nodes) n.proc.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    cleanup();
  }
});
