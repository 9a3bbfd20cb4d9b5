// Issue 5's fault loop: N brokers, a 12-partition RF 3 topic, a Java idempotent acks=all producer writing
// sequence-numbered records at a steady rate (logging every ack), a Java consumer-group member reading all along, and
// a seeded fault loop that, one fault at a time, (a) kill -9s the leader of a random partition and restarts it,
// (b) kill -9s a random broker and restarts it, (c) SIGSTOPs a random broker for longer than the election timeout
// (1 s) and SIGCONTs it, (d) kill -9s a follower, lets it fall behind, SIGSTOPs the leader, restarts the follower
// (so it cannot catch up) and SIGCONTs the leader seconds later: the stale follower must not win the election that
// follows (Raft's up-to-date vote check; without it committed records are overwritten). Then it heals, lets the consumer catch up, stops every node gracefully and runs the checker
// (replica-check.mjs) over the acks, the consumer's rows and every replica's log files.
//
// Consumer groups are replicated in cluster mode (the metadata leader coordinates every group; committed offsets live
// in the metadata group), so the consumer bootstraps from every node and any node may be faulted.
// TRIBUTARY_E2E_CHAOS_PROTECT_NODE=<id> spares one node (the consumer then bootstraps from it alone), as the loop did
// before groups were replicated.
//
// Environment (all optional): TRIBUTARY_E2E_CHAOS_SECONDS (fault period, default 75), TRIBUTARY_E2E_CHAOS_SEED
// (replays a run: the seed is printed), TRIBUTARY_E2E_CHAOS_RATE (records/s, default 400).
import { existsSync, writeFileSync } from 'node:fs';
import { generateRecords, lineCount, prng, readAcks, readConsumed, recordLine, writeRecordsFile } from './records.mjs';
import { healStopAndCheck, postMortem, startCluster } from './cluster-suite.mjs';
import { ensureJavaClient, ensureJavaProgram, javaClient, javaCommand } from './java.mjs';
import { run, sleep } from './proc.mjs';

const TOPIC = 'chaos';
const PARTITIONS = 12;
const GROUP = 'chaos-readers';

function envInt(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** Runs the loop on a cluster of `nodes`; returns the counts the suite prints. */
export async function runFaultLoop(ctx, { nodes }) {
  const faultMs = envInt('TRIBUTARY_E2E_CHAOS_SECONDS', 75) * 1000;
  const seed = envInt('TRIBUTARY_E2E_CHAOS_SEED', Math.floor(Math.random() * 2 ** 31));
  const rate = envInt('TRIBUTARY_E2E_CHAOS_RATE', 400);
  const protectedNode = envInt('TRIBUTARY_E2E_CHAOS_PROTECT_NODE', 0);
  ctx.log(`seed ${seed} (TRIBUTARY_E2E_CHAOS_SEED=${seed} replays the fault choices), ${faultMs / 1000} s of faults, ${rate} records/s`);
  const rand = prng(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo));

  await Promise.all([ensureJavaClient(), ensureJavaProgram('ChaosConsumer')]);
  const cluster = await startCluster(ctx, { nodes, env: { TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } });
  await cluster.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });

  // Enough records to keep producing through the fault period (the producer paces itself at `rate`).
  const count = Math.ceil((rate * faultMs) / 1000);
  const records = generateRecords(count, { seed: seed % 1000, maxValueBytes: 200 });
  const recordsFile = ctx.path('chaos.records');
  writeRecordsFile(recordsFile, records);
  const acksFile = ctx.path('chaos.acks');
  const consumedFile = ctx.path('chaos.consumed');
  const stopFile = ctx.path('consumer.stop');

  const consumerBootstrap = protectedNode > 0 ? cluster.node(protectedNode).bootstrap : cluster.bootstrap;
  const [ccmd, cargs] = javaCommand('ChaosConsumer', ['--bootstrap', consumerBootstrap, '--topic', TOPIC, '--group', GROUP, '--out', consumedFile, '--stop-file', stopFile]);
  const consumer = run(ccmd, cargs, { logFile: ctx.path('consumer.log') });
  ctx.onCleanup(async () => {
    consumer.child.kill('SIGKILL');
    await consumer.exited;
  });
  const [pcmd, pargs] = javaClient('produce', {
    bootstrap: cluster.bootstrap,
    topic: TOPIC,
    records: recordsFile,
    'acks-out': acksFile,
    partitions: PARTITIONS,
    acks: 'all',
    idempotent: 'true',
    rate,
    'delivery-timeout-ms': 120_000,
  });
  const producer = run(pcmd, pargs, { logFile: ctx.path('producer.log') });
  ctx.onCleanup(async () => {
    producer.child.kill('SIGKILL');
    await producer.exited;
  });

  // --- the fault loop ------------------------------------------------------------------------------------------
  const faults = { killLeader: 0, killBroker: 0, pause: 0, staleFollower: 0 };
  const candidates = cluster.nodes.filter((n) => n.id !== protectedNode);
  const startedMs = Date.now();
  while (Date.now() - startedMs < faultMs) {
    if (producer.child.exitCode !== null) throw new Error(`producer exited during the fault loop\n${producer.tail()}`);
    if (consumer.child.exitCode !== null) throw new Error(`consumer exited during the fault loop\n${consumer.tail()}`);
    const kind = pick(['killLeader', 'killBroker', 'pause', 'staleFollower']);
    const at = `+${((Date.now() - startedMs) / 1000).toFixed(1)}s acks=${lineCount(acksFile)}`;
    if (kind === 'killLeader') {
      const leaders = await cluster.leaders(TOPIC);
      const led = [...leaders].filter(([, l]) => candidates.some((n) => n.id === l.leader));
      if (led.length === 0) {
        await sleep(200);
        continue;
      }
      const [partition, l] = pick(led);
      const node = cluster.node(l.leader);
      const downMs = between(300, 2500);
      await node.kill9();
      ctx.log(`${at} kill -9 node ${node.id} (leader of partition ${partition}, epoch ${l.epoch}), restart after ${downMs} ms`);
      await sleep(downMs);
      await node.start();
    } else if (kind === 'killBroker') {
      const node = pick(candidates);
      const downMs = between(300, 3000);
      await node.kill9();
      ctx.log(`${at} kill -9 node ${node.id}, restart after ${downMs} ms`);
      await sleep(downMs);
      await node.start();
    } else if (kind === 'staleFollower') {
      // A follower misses writes, comes back, and the leader dies before it caught up: the election must go to a
      // replica holding every committed entry (Raft's up-to-date vote check), never to the stale one.
      const leaders = await cluster.leaders(TOPIC);
      const options = [...leaders].filter(([, l]) => candidates.some((n) => n.id === l.leader) && l.replicas.some((r) => r !== l.leader && candidates.some((n) => n.id === r)));
      if (options.length === 0) {
        await sleep(200);
        continue;
      }
      const [partition, l] = pick(options);
      const follower = cluster.node(pick(l.replicas.filter((r) => r !== l.leader && candidates.some((n) => n.id === r))));
      const leader = cluster.node(l.leader);
      const behindMs = between(1000, 2500);
      await follower.kill9();
      await sleep(behindMs);
      // Freeze the leader first, so the restarted follower cannot catch up: the election that follows is between it
      // (missing ~behindMs of committed writes) and the third replica (holding them).
      leader.pause();
      await follower.start();
      const electionMs = between(2000, 3500);
      ctx.log(`${at} kill -9 follower ${follower.id} for ${behindMs} ms, SIGSTOP leader ${leader.id} (partition ${partition}), restart ${follower.id} behind, SIGCONT ${leader.id} after ${electionMs} ms`);
      await sleep(electionMs);
      leader.resume();
    } else {
      const node = pick(candidates);
      const pausedMs = between(1500, 4000);
      node.pause();
      ctx.log(`${at} SIGSTOP node ${node.id} for ${pausedMs} ms`);
      await sleep(pausedMs);
      node.resume();
    }
    faults[kind]++;
    // One fault at a time: the next starts once every partition has a leader again.
    await cluster.waitForLeaders(TOPIC, PARTITIONS, 60_000);
    await sleep(between(300, 1500));
  }
  ctx.log(`faults done after ${((Date.now() - startedMs) / 1000).toFixed(1)} s: ${JSON.stringify(faults)}`);

  // --- let the producer finish, heal, let the consumer catch up ------------------------------------------------
  const produced = await producer.wait(180_000, 'producer');
  const acks = await readAcks(acksFile);
  const failed = acks.filter((a) => a.error !== undefined);
  ctx.log(`producer exited ${produced.code}: ${acks.length - failed.length} acked, ${failed.length} failed${failed.length ? ` (first: ${failed[0].error})` : ''}`);
  if (acks.length - failed.length < count * 0.9) throw new Error(`only ${acks.length - failed.length} of ${count} records acknowledged\n${producer.tail()}`);

  try {
    await cluster.waitHealed(TOPIC, PARTITIONS, { timeoutMs: 90_000 });
  } catch (healError) {
    writeFileSync(stopFile, 'stop\n');
    await consumer.wait(30_000, 'consumer').catch(() => {});
    const consumed = existsSync(consumedFile) ? await readConsumed(consumedFile) : [];
    throw await postMortem(ctx, cluster, { topic: TOPIC, produced: records.map(recordLine), acks, consumed, ordered: false, healError });
  }
  const ackedPositions = new Set(acks.filter((a) => a.error === undefined).map((a) => `${a.partition}/${a.offset}`));
  const catchUpDeadline = Date.now() + 90_000;
  let seen = new Set();
  for (;;) {
    const rows = existsSync(consumedFile) ? await readConsumed(consumedFile) : [];
    seen = new Set(rows.map((r) => `${r.partition}/${r.offset}`));
    const missing = [...ackedPositions].filter((p) => !seen.has(p)).length;
    if (missing === 0) break;
    if (Date.now() > catchUpDeadline) throw new Error(`the consumer has not read ${missing} acknowledged records 90 s after the cluster healed\n${consumer.tail()}`);
    if (consumer.child.exitCode !== null) throw new Error(`consumer exited\n${consumer.tail()}`);
    await sleep(1000);
  }
  writeFileSync(stopFile, 'stop\n');
  await consumer.wait(30_000, 'consumer');
  const consumed = await readConsumed(consumedFile);

  const stats = await healStopAndCheck(ctx, cluster, {
    topic: TOPIC,
    partitions: PARTITIONS,
    produced: records.map(recordLine),
    acks,
    consumed,
    // An idempotent producer keeps each partition in send order; after a failed (expired) batch it may not.
    ordered: failed.length === 0,
  });
  return {
    nodes,
    seed,
    acked: stats.acked,
    failed: stats.failedAcks,
    stored: stats.storedRecords,
    consumedRows: stats.consumedRows,
    consumedDistinct: stats.consumedDistinct,
    killLeader: faults.killLeader,
    killBroker: faults.killBroker,
    pause: faults.pause,
    staleFollower: faults.staleFollower,
    lost: stats.lost,
    duplicated: stats.duplicated,
    verdict: 'ok',
  };
}
