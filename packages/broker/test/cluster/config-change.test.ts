// A topic config change in cluster mode reaches every replica's partition log: IncrementalAlterConfigs sets
// segment.bytes on an RF 3 topic; each broker reopens its replica's log with it (RaftPartition.replaceLog), so later
// appends roll segments at the new size on all three, and every replica still serves the same records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf, recordsIn } from '../support/batches.js';
import { clusterEnv, freePorts, metadataUntil, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'reconfigured';
const SEGMENT_BYTES = 1024;

/** Segment files of the topic's partition 0 in a node's data directory. */
function segmentFiles(dataDir: string): string[] {
  const root = join(dataDir, 'partitions');
  const dir = existsSync(root) ? readdirSync(root).find((n) => n.endsWith(`-${TOPIC}-0`)) : undefined;
  return dir === undefined ? [] : readdirSync(join(root, dir)).filter((n) => n.endsWith('.log'));
}

test('segment.bytes changed by IncrementalAlterConfigs takes effect on every replica\'s log', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-reconf-');
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes: ClusterNodeProcess[] = [];
  try {
    nodes.push(...(await Promise.all([1, 2, 3].map((id) => startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Configchangecluster'))))));
    const port = (id: number): number => nodes[id - 1]!.kafkaPort;
    const created = await withClient(port(1), (c) =>
      c.request(ApiKey.CreateTopics, 7, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 15000, validateOnly: false }),
    );
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(created.topics[0].replicationFactor, 3, 'CreateTopics v5+ reports the topic\'s real replication factor');
    const md = await metadataUntil(port(1), (m) => (m.topics.find((t: any) => t.name === TOPIC)?.partitions[0]?.leaderId ?? -1) > 0, 20_000);
    const leader = md.topics.find((t: any) => t.name === TOPIC).partitions[0].leaderId as number;
    const values: string[] = [];
    const produce = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const value = `${values.length}-${'x'.repeat(300)}`;
        const records = Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }]));
        const r = await withClient(port(leader), (c) =>
          c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] }),
        );
        const p = r.responses[0].partitionResponses[0];
        assert.equal(p.errorCode, ErrorCode.NONE, p.errorMessage);
        assert.equal(p.baseOffset, values.length);
        values.push(value);
      }
    };
    await produce(4);
    for (const d of dirs) assert.equal(segmentFiles(d).length, 1, 'one segment under the default segment.bytes');

    const altered = await withClient(port(2), (c) =>
      c.request(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: 'segment.bytes', configOperation: 0, value: String(SEGMENT_BYTES) }] }],
        validateOnly: false,
      }),
    );
    assert.equal(altered.responses[0].errorCode, ErrorCode.NONE, altered.responses[0].errorMessage);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !nodes.every((n) => n.output().includes('partition log reopened with new topic configs'))) await new Promise((r) => setTimeout(r, 100));
    for (const n of nodes) assert.match(n.output(), /partition log reopened with new topic configs/, `node ${n.id} reopened its replica's log`);

    await produce(16); // ~350 bytes per batch: a new segment every few batches
    for (const [i, d] of dirs.entries()) {
      const deadlineSegments = Date.now() + 10_000;
      while (segmentFiles(d).length < 4 && Date.now() < deadlineSegments) await new Promise((r) => setTimeout(r, 100));
      assert.ok(segmentFiles(d).length >= 4, `node ${i + 1} rolls segments at ${SEGMENT_BYTES} bytes (${segmentFiles(d).length} segments)`);
    }
    // Every replica serves the same records, in order (a fetch returns data from one segment: read on until the end).
    for (const id of [1, 2, 3]) {
      const got: string[] = [];
      for (let attempt = 0; got.length < values.length && attempt < 100; attempt++) {
        const fetched = await withClient(port(id), (c) =>
          c.request(ApiKey.Fetch, 12, {
            replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
            topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: got.length, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
            forgottenTopicsData: [], rackId: '',
          }),
        );
        const p = fetched.responses[0].partitions[0];
        assert.equal(p.errorCode, ErrorCode.NONE);
        got.push(...recordsIn(p.records).map((r) => r.value!.toString()));
      }
      assert.deepEqual(got, values, `node ${id} serves every record once, in order`);
    }
  } finally {
    for (const n of nodes) {
      n.proc.kill('SIGKILL');
      await n.exited;
    }
    cleanup();
  }
});
