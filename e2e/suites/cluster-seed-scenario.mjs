// Issue 5's seed scenario: 20 writes to a table-like (keyed) topic, RF 3, with a restart of the partition leader
// after every third write (alternately kill -9 and graceful SIGTERM, each followed by a start on the same data dir).
// Each write is one idempotent batch retried, with the same producer id and sequence, until a leader acknowledges it.
// At the end all 20 are present exactly once, at their acknowledged offsets 0..19, on every replica, byte for byte.
import { recordLine } from '../lib/records.mjs';
import { RawIdempotentProducer } from '../lib/raw-producer.mjs';
import { healStopAndCheck, startCluster } from '../lib/cluster-suite.mjs';

const TOPIC = 'seed-table';
const WRITES = 20;

export default {
  name: 'cluster-seed-scenario',
  description: '3 nodes, RF 3: 20 keyed writes, leader restarted after every third; all 20 once on every replica',
  timeoutMs: 180_000,
  async run(ctx) {
    const cluster = await startCluster(ctx, { nodes: 3 });
    await cluster.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 3 });
    const producer = await new RawIdempotentProducer(cluster, TOPIC).init();
    const rows = [...Array(WRITES).keys()].map((i) => ({ key: Buffer.from(`row-${i % 7}`), value: Buffer.from(`write ${i}: balance ${(i * 37) % 101}`), headers: [] }));
    const acks = [];
    let restarts = 0;
    let retries = 0;
    for (let i = 0; i < WRITES; i++) {
      const sent = await producer.sendUntilAcked(producer.nextBatch(0, [rows[i]]));
      retries += sent.attempts - 1;
      acks.push({ index: i, partition: 0, offset: sent.baseOffset });
      if ((i + 1) % 3 === 0) {
        const leader = await cluster.leaderOf(TOPIC, 0);
        const node = cluster.node(leader);
        const how = restarts % 2 === 0 ? 'kill -9' : 'SIGTERM';
        if (how === 'kill -9') await node.kill9();
        else await node.stop();
        await node.start();
        restarts++;
        ctx.log(`write ${i + 1}: restarted leader ${leader} (${how})`);
      }
    }
    const stats = await healStopAndCheck(ctx, cluster, { topic: TOPIC, partitions: 1, produced: rows.map(recordLine), acks });
    if (stats.storedRecords !== WRITES) throw new Error(`${stats.storedRecords} records stored, expected ${WRITES}`);
    if (stats.replicaCopies !== 3) throw new Error(`${stats.replicaCopies} replicas read, expected 3`);
    return { writes: WRITES, restarts, retries, stored: stats.storedRecords, replicas: stats.replicaCopies };
  },
};
