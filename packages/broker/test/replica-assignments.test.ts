// CreateTopics with manual replica assignments: Apache Kafka's rules (checkReplicaAssignments), and a single node
// taking and refusing them over the wire (there the only broker a replica may be on is the node itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { checkReplicaAssignments } from '../src/replica-assignments.js';
import { startBroker, tempDataDir } from './support/broker-process.js';
import { WireClient } from './support/wire-client.js';

const BROKERS = [1, 2, 3];
const assigned = (...lists: number[][]) => lists.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds }));

test('valid assignments give each partition its replicas, preferred leader first, whatever the request order', () => {
  const r = checkReplicaAssignments([{ partitionIndex: 1, brokerIds: [1, 3] }, { partitionIndex: 0, brokerIds: [3, 2] }], -1, -1, BROKERS);
  assert.deepEqual(r, { ok: true, replicasByPartition: [[3, 2], [1, 3]] });
});

test('numPartitions or replicationFactor set next to assignments: INVALID_REQUEST (Kafka)', () => {
  for (const [numPartitions, replicationFactor] of [[3, -1], [-1, 3], [1, 1]] as const) {
    const r = checkReplicaAssignments(assigned([1, 2, 3]), numPartitions, replicationFactor, BROKERS);
    assert.equal(r.ok ? 'ok' : r.error, 'INVALID_REQUEST', `numPartitions ${numPartitions}, replicationFactor ${replicationFactor}`);
  }
});

test('each broken rule is INVALID_REPLICA_ASSIGNMENT', () => {
  const cases: [string, { partitionIndex: number; brokerIds: number[] }[]][] = [
    ['a broker twice in one partition', assigned([1, 1, 2])],
    ['an unregistered broker', assigned([1, 2, 4])],
    ['different replica counts', assigned([1, 2, 3], [1, 2])],
    ['no replica', assigned([])],
    ['a gap in the partition numbers', [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [2] }]],
    ['numbering not from 0', [{ partitionIndex: 1, brokerIds: [1] }]],
    ['a partition twice', [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [2] }]],
  ];
  for (const [why, assignments] of cases) {
    const r = checkReplicaAssignments(assignments, -1, -1, BROKERS);
    assert.equal(r.ok ? 'ok' : r.error, 'INVALID_REPLICA_ASSIGNMENT', why);
  }
});

test('single node: an assignment on the node itself creates the topic; any other broker is refused', { timeout: 30_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-assign-');
  const broker = await startBroker({ dataDir: dir, env: { TRIBUTARY_NODE_ID: '7' } });
  const c = await WireClient.connect(broker.kafka.host, broker.kafka.port);
  try {
    const create = (name: string, numPartitions: number, replicationFactor: number, assignments: { partitionIndex: number; brokerIds: number[] }[]) =>
      c
        .request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions, replicationFactor, assignments, configs: [] }], timeoutMs: 5000, validateOnly: false })
        .then((r: any) => r.topics[0]);
    const ok = await create('assigned', -1, -1, assigned([7], [7]));
    assert.equal(ok.errorCode, ErrorCode.NONE, ok.errorMessage);
    assert.equal(ok.numPartitions, 2);
    const md = await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: Buffer.alloc(16), name: 'assigned' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual(md.topics[0].partitions.map((p: any) => [p.partitionIndex, p.leaderId, p.replicaNodes]), [[0, 7, [7]], [1, 7, [7]]]);
    assert.equal((await create('elsewhere', -1, -1, assigned([1]))).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await create('both', 1, -1, assigned([7]))).errorCode, ErrorCode.INVALID_REQUEST);
  } finally {
    c.close();
    await broker.stop();
    cleanup();
  }
});
