// Deleting a topic in cluster mode: each replica removes the partition's Raft group from its host (RaftHost.removeGroup:
// the WAL forgets it, so it does not come back at restart) and deletes the partition data; a broker that was down
// during the deletion forgets the groups and deletes the data when it starts again. Three `start` processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf } from '../support/batches.js';
import { clusterEnv, freePorts, metadataUntil, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'doomed';

const partitionDirs = (dataDir: string): string[] => {
  const root = join(dataDir, 'partitions');
  return existsSync(root) ? readdirSync(root).filter((n) => n.includes(`-${TOPIC}-`)) : [];
};

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return check();
}

test('topic deletion removes each replica\'s Raft group and data; a broker down during it cleans up at start', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-topic-del-');
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes = new Map<number, ClusterNodeProcess>();
  const start = async (id: number): Promise<ClusterNodeProcess> => {
    const n = await startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, 'Topicdeletioncluster'));
    nodes.set(id, n);
    return n;
  };
  const kill = async (id: number): Promise<void> => {
    const n = nodes.get(id)!;
    n.proc.kill('SIGKILL');
    await n.exited;
    nodes.delete(id);
  };
  const port = (id: number): number => nodes.get(id)!.kafkaPort;
  const create = () =>
    withClient(port(1), (c) => c.request(ApiKey.CreateTopics, 7, { topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 15000, validateOnly: false }));
  const produceToLeaders = async (value: string): Promise<void> => {
    const md = await metadataUntil(port(1), (m) => {
      const t = m.topics.find((x: any) => x.name === TOPIC);
      return t !== undefined && t.partitions.length === 2 && t.partitions.every((p: any) => p.leaderId > 0 && nodes.has(p.leaderId));
    }, 20_000);
    for (const p of md.topics.find((x: any) => x.name === TOPIC).partitions) {
      const records = Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }]));
      const r = await withClient(port(p.leaderId), (c) =>
        c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: p.partitionIndex, records }] }] }),
      );
      assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
  };
  try {
    await Promise.all([1, 2, 3].map(start));
    assert.equal((await create()).topics[0].errorCode, ErrorCode.NONE);
    await produceToLeaders('before');
    for (const d of dirs) assert.ok(await until(() => partitionDirs(d).length === 2, 10_000), `two partition replicas in ${d}`);

    // Broker 3 is down while the topic is deleted.
    await kill(3);
    const deleted = await withClient(port(1), (c) => c.request(ApiKey.DeleteTopics, 4, { topicNames: [TOPIC], timeoutMs: 15000 }));
    assert.equal(deleted.responses[0].errorCode, ErrorCode.NONE);
    for (const id of [1, 2]) assert.ok(await until(() => partitionDirs(dirs[id - 1]!).length === 0, 10_000), `broker ${id} deleted the partition data`);
    assert.equal(partitionDirs(dirs[2]!).length, 2, 'the down broker still has its copy');

    // Broker 1 restarts: its WAL forgot the removed groups (nothing to clean up, nothing hosted again).
    await kill(1);
    const restarted = await start(1);
    await metadataUntil(port(1), (m) => m.brokers.length === 3, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(restarted.output(), /forgot the Raft state of a deleted partition/, 'removeGroup made the WAL forget the groups');
    assert.doesNotMatch(restarted.output(), new RegExp(`"topic":"${TOPIC}"[^\\n]*hosting partition replica`));

    // Broker 3 comes back after the deletion: it forgets both groups and deletes its copy at start.
    const late = await start(3);
    assert.ok(await until(() => partitionDirs(dirs[2]!).length === 0, 15_000), 'the late broker deleted its copy');
    assert.equal(late.output().match(/forgot the Raft state of a deleted partition/g)?.length, 2, late.output());

    // The name can be used again (new Raft groups).
    assert.equal((await create()).topics[0].errorCode, ErrorCode.NONE);
    await produceToLeaders('after');
  } finally {
    for (const id of [...nodes.keys()]) await kill(id);
    cleanup();
  }
});
