// Issue 5's partition reassignment, driven by Apache Kafka's own `kafka-reassign-partitions` (ReassignPartitionsCommand
// from the 4.1 jars) against four broker processes, while an idempotent acks=all producer runs throughout (only
// retriable errors allowed; every acknowledged record must be stored exactly once at its offset).
//   1. topic of 4 partitions on brokers 1-3 (kafka-topics --replica-assignment), 1,600 records first (partition
//      snapshots every 100 entries, so the Raft logs are compacted and broker 4 starts from snapshot data);
//   2. --execute moves p0 to 2,3,4 and p1 to 4,3,2; --verify until both are complete (it also clears throttles);
//      broker 1 no longer has a directory for them;
//   3. broker 4 killed; --execute moves p2 to 4,1,2 and p3 to 1,2,4: both stay in progress (4 cannot catch up);
//      the leader of p2 is killed -9 mid-way and restarted; p3's move is cancelled with --cancel;
//   4. broker 4 restarted: p2's move completes under its new leader; p3 is back on 1,2,3.
// The end: heal, graceful stop, and the replica checker over every replica of the final assignment (byte-identical).
import { writeFileSync } from 'node:fs';
import { recordLine } from '../lib/records.mjs';
import { RawIdempotentProducer } from '../lib/raw-producer.mjs';
import { healStopAndCheck, startCluster } from '../lib/cluster-suite.mjs';
import { javaCommand } from '../lib/java.mjs';
import { runOk, sleep } from '../lib/proc.mjs';

const TOPIC = 'moves';
const PARTITIONS = 4;
const RECORDS_BEFORE = 1600;
const ENV = { TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: '100', TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '1' };

export default {
  name: 'cluster-reassign',
  description: '4 nodes: kafka-reassign-partitions --execute/--verify/--cancel moves RF 3 partitions (to a new broker, a leader kill mid-way, a cancel) under acks=all load',
  timeoutMs: 420_000,
  async run(ctx) {
    const cluster = await startCluster(ctx, { nodes: 4, env: ENV });
    const tool = async (mainClass, args, timeoutMs = 120_000) => {
      const [cmd, argv] = javaCommand(mainClass, ['--bootstrap-server', cluster.bootstrap, ...args]);
      const p = await runOk(cmd, argv, {}, timeoutMs);
      return p.tail();
    };
    const reassign = (args) => tool('org.apache.kafka.tools.reassign.ReassignPartitionsCommand', args);
    const planFile = (name, moves) => {
      const file = ctx.path(`${name}.json`);
      writeFileSync(file, JSON.stringify({ version: 1, partitions: Object.entries(moves).map(([p, replicas]) => ({ topic: TOPIC, partition: Number(p), replicas })) }));
      return file;
    };
    const replicasOf = async () => new Map([...(await cluster.leaders(TOPIC))].map(([p, l]) => [p, l.replicas]));
    /** --verify until no partition of `file` is still moving (bounded); returns the tool's last output. */
    const verifyUntilDone = async (file, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const out = await reassign(['--verify', '--reassignment-json-file', file]);
        if (!/still in progress/.test(out)) return out;
        if (Date.now() > deadline) throw new Error(`reassignment still in progress after ${timeoutMs} ms:\n${out}`);
        await sleep(1000);
      }
    };

    await tool('org.apache.kafka.tools.TopicCommand', ['--create', '--topic', TOPIC, '--replica-assignment', '1:2:3,2:3:1,3:1:2,1:2:3']);
    await cluster.waitForLeaders(TOPIC, PARTITIONS);

    const producer = await new RawIdempotentProducer(cluster, TOPIC).init();
    const produced = [];
    const acks = [];
    const sendOne = async () => {
      const index = produced.length;
      const partition = index % PARTITIONS;
      const rec = { key: Buffer.from(`k${index}`), value: Buffer.from(`record ${index}`), headers: [] };
      produced.push(recordLine(rec));
      const sent = await producer.sendUntilAcked(producer.nextBatch(partition, [rec]), { timeoutMs: 90_000 });
      acks.push({ index, partition, offset: sent.baseOffset });
      return sent.attempts;
    };
    for (let i = 0; i < RECORDS_BEFORE; i++) await sendOne();
    ctx.log(`${RECORDS_BEFORE} records acknowledged before the moves`);
    await sleep(2500); // the snapshot loop compacts every replica's Raft log

    let producing = true;
    let retries = 0;
    const background = (async () => {
      while (producing) retries += (await sendOne()) - 1;
    })();
    const counts = {};
    try {
      // --- 2: a move to the new broker, and one that makes it the preferred replica
      const plan1 = planFile('plan-1', { 0: [2, 3, 4], 1: [4, 3, 2] });
      const startedMs = Date.now();
      await reassign(['--execute', '--reassignment-json-file', plan1]);
      const out1 = await verifyUntilDone(plan1, 60_000);
      counts.firstMoveMs = Date.now() - startedMs;
      ctx.log(`moves of p0, p1 complete in ${counts.firstMoveMs} ms:\n${out1}`);
      if (!/Clearing topic-level throttles/.test(out1)) throw new Error(`--verify did not finish with clearing throttles:\n${out1}`);
      const after1 = await replicasOf();
      if (after1.get(0)?.join() !== '2,3,4' || after1.get(1)?.join() !== '4,3,2') throw new Error(`replicas after the first moves: ${JSON.stringify([...after1])}`);
      await waitFor('broker 1 to drop p0 and p1', 20_000, () => !cluster.node(1).partitionDirs(TOPIC).has(0) && !cluster.node(1).partitionDirs(TOPIC).has(1));

      // --- 3: broker 4 down; moves to it stay in progress; a leader dies mid-way; one move is cancelled
      await cluster.node(4).kill9();
      const plan2 = planFile('plan-2', { 2: [4, 1, 2], 3: [1, 2, 4] });
      await reassign(['--execute', '--reassignment-json-file', plan2]);
      await sleep(3000);
      const stuck = await reassign(['--verify', '--preserve-throttles', '--reassignment-json-file', plan2]);
      if (!/partition moves-2 is still in progress/.test(stuck) || !/partition moves-3 is still in progress/.test(stuck)) throw new Error(`moves to a dead broker should be in progress:\n${stuck}`);
      const listed = await reassign(['--list']);
      ctx.log(`with broker 4 down:\n${listed}`);
      const leader2 = await cluster.leaderOf(TOPIC, 2);
      const victim = cluster.node(leader2);
      await victim.kill9();
      ctx.log(`killed -9 broker ${leader2}, the leader of p2, mid-move`);
      await sleep(1500);
      await victim.start();
      const plan3 = planFile('plan-3', { 3: [1, 2, 4] });
      // --preserve-throttles: clearing throttles asks every broker (4 is down; Kafka's tool would time out as well)
      const cancelled = await reassign(['--cancel', '--preserve-throttles', '--reassignment-json-file', plan3]);
      if (!/Successfully cancelled partition reassignment for: moves-3/.test(cancelled)) throw new Error(`--cancel:\n${cancelled}`);
      ctx.log(`--cancel:\n${cancelled}`);
      await waitFor('the cancel of p3 to complete', 30_000, async () => !/moves-3/.test(await reassign(['--list'])));

      // --- 4: broker 4 back; p2's move completes
      await cluster.node(4).start();
      const out2 = await verifyUntilDone(planFile('plan-2-only', { 2: [4, 1, 2] }), 90_000);
      ctx.log(out2);
      const after2 = await replicasOf();
      if (after2.get(2)?.join() !== '4,1,2') throw new Error(`p2 replicas: ${after2.get(2)}`);
      if ([...(after2.get(3) ?? [])].sort().join() !== '1,2,3') throw new Error(`p3 should be back on 1,2,3: ${after2.get(3)}`);
      await waitFor('broker 3 to drop p2', 20_000, () => !cluster.node(3).partitionDirs(TOPIC).has(2));
      await waitFor('broker 4 to drop cancelled p3', 20_000, () => !cluster.node(4).partitionDirs(TOPIC).has(3));
      await sleep(1000);
    } finally {
      producing = false;
      await background;
    }
    const stats = await healStopAndCheck(ctx, cluster, { topic: TOPIC, partitions: PARTITIONS, produced, acks });
    if (stats.storedRecords !== produced.length) throw new Error(`${stats.storedRecords} records stored for ${produced.length} acknowledged`);
    return { ...counts, records: produced.length, retries, replicaCopies: stats.replicaCopies };
  },
};

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}
