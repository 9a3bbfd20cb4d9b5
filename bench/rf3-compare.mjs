#!/usr/bin/env node
// Issue 5's performance check: replicated produce, acks=all (or --acks 1), RF 3, on a 3-node Tributary cluster and on a 3-node
// Apache Kafka KRaft cluster on the same machine, one after the other (never both at once: 2 cores). Same tool
// (org.apache.kafka.tools.ProducerPerformance, idempotence on, acks=all, client defaults otherwise; with --acks 1
// idempotence is off, as the Java client requires acks=all for it), same topic
// (--partitions, RF 3, min.insync.replicas=2), same record count and size. --nodes 1 (RF 1, min.insync.replicas=1) is
// the same measurement without replication: a one-node Kafka, and a one-node Tributary cluster (still cluster mode:
// every partition a single-voter Raft group); bench/replication-cost.mjs runs both shapes and prints RF3 / RF1. Prints MB/s, records/s, p50/p99 for each
// and Tributary/Kafka ratios against the targets (throughput >= 0.5x Kafka, p99 <= 2x Kafka); writes
// bench/results/rf3-<timestamp>.json (rf<R>-n<N>-<timestamp>.json for other shapes).
//
//   npx tsc -b packages/broker && bash scripts/install/java.sh
//   node bench/rf3-compare.mjs [--records 500000] [--record-size 1024] [--partitions 12] [--systems kafka,tributary]
//        [--nodes 3] [--replication-factor <nodes>] [--runs 1] [--workload-timeout-s 300] [--kafka-heap 1g] [--profile true] [--keep-data true] [--acks all|1] [--idempotence true|false]
//        [--throughput N]   (records/s the producer is held to; -1 = as fast as it can, the default: a fixed rate
//                            below saturation makes p50/p99 the acknowledgement latency rather than buffer waits)
//
// --profile true runs every Tributary node under `node --cpu-prof` (profiles written at graceful stop into
// bench/results/prof-rf3-<timestamp>/ (prof-<shape>-… for other shapes); summarise with `node bench/profile-summary.mjs <file>`).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { startApacheKafkaCluster } from '../scripts/apache-kafka.mjs';
import { LocalCluster } from '../e2e/lib/cluster.mjs';
import { createTopic, metadata, withConnection } from '../e2e/lib/kafka-wire.mjs';
import { parseFlagsOrExit, parseProducerPerformance, positiveIntFlagOrExit, medianOfProducerRuns } from './lib/stats.mjs';
import { benchRunContext } from './lib/run-context.mjs';
import { runJavaTool } from './lib/processes.mjs';

const flags = parseFlagsOrExit(
  process.argv.slice(2),
  { records: '500000', 'record-size': '1024', nodes: '3', 'replication-factor': '', partitions: '12', systems: 'kafka,tributary', runs: '1', 'workload-timeout-s': '300', 'kafka-heap': '1g', profile: 'false', 'keep-data': 'false', acks: 'all', throughput: '-1', idempotence: '' },
  'rf3-compare',
);
const int = (name) => positiveIntFlagOrExit(flags, name, 'rf3-compare');
const records = int('records');
const recordSize = int('record-size');
const partitions = int('partitions');
const runs = int('runs');
const workloadTimeoutMs = int('workload-timeout-s') * 1000;
const systems = flags.systems.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of systems) {
  if (s !== 'kafka' && s !== 'tributary') {
    console.error(`rf3-compare: unknown system '${s}' (kafka, tributary)`);
    process.exit(2);
  }
}
if (flags.acks !== 'all' && flags.acks !== '1') {
  console.error(`rf3-compare: --acks must be all or 1, got '${flags.acks}'`);
  process.exit(2);
}
/** The producer's acks and idempotence (default on with acks=all; the Java client refuses it without acks=all). */
const idempotence = flags.idempotence === '' ? flags.acks === 'all' : flags.idempotence === 'true';
if (idempotence && flags.acks !== 'all') {
  console.error('rf3-compare: --idempotence true needs --acks all (the Java client refuses it otherwise)');
  process.exit(2);
}
const PRODUCER_PROPS = [`acks=${flags.acks}`, `enable.idempotence=${idempotence}`];
const ACKS_LABEL = `acks=${flags.acks}, ${idempotence ? 'idempotent' : 'not idempotent'}`;
const throughput = flags.throughput === '-1' ? -1 : int('throughput');
const NODES = int('nodes');
const REPLICATION_FACTOR = flags['replication-factor'] === '' ? NODES : int('replication-factor');
if (REPLICATION_FACTOR > NODES) {
  console.error(`rf3-compare: --replication-factor ${REPLICATION_FACTOR} exceeds --nodes ${NODES}`);
  process.exit(2);
}
// acks=all waits for the in-sync replicas; with RF 3 two of them must be in sync (Kafka's usual setting), with RF 1 one.
const TOPIC_CONFIGS = { 'min.insync.replicas': String(Math.min(2, REPLICATION_FACTOR)) };
/** The shape in names and labels: rf3 for the default (3 nodes, RF 3), rf1-n3 for RF 1 on 3 nodes. */
const SHAPE = `rf${REPLICATION_FACTOR}${NODES === REPLICATION_FACTOR ? '' : `-n${NODES}`}`;

const { stamp, resultsDir, runDir, log } = benchRunContext('tributary-rf3');

async function startSystem(system) {
  const dir = join(runDir, system);
  if (system === 'kafka') {
    const kafka = await startApacheKafkaCluster({ dir, nodes: NODES, heap: flags['kafka-heap'] });
    return { bootstrap: kafka.bootstrap, firstPort: kafka.nodes[0].port, stop: kafka.stop, logs: kafka.nodes.map((n) => n.logFile), settings: { fsync: 'none on ack (Kafka default: page cache + replication)' } };
  }
  const cpuProfileDir = flags.profile === 'true' ? join(resultsDir, `prof-${SHAPE}-${stamp}`) : null;
  const cluster = new LocalCluster({
    nodes: NODES,
    workDir: dir,
    logDir: dir,
    env: { TRIBUTARY_LOG_LEVEL: 'warn' },
    nodeArgs: cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [],
    log,
  });
  await cluster.start();
  return {
    bootstrap: cluster.bootstrap,
    firstPort: cluster.node(1).kafkaPort,
    stop: async () => {
      const exits = await cluster.stopAll();
      for (const e of exits) if (e.code !== 0) log(`tributary node ${e.id} exited ${e.code ?? e.signal}`);
    },
    logs: cluster.nodes.map((n) => n.logFile),
    cpuProfileDir,
    settings: { fsync: 'Raft WAL: one fsync per tick for all groups (group commit) before an entry counts toward commit', logLevel: 'warn' },
  };
}

async function createBenchTopic(system, handle, topic) {
  const r = await withConnection('127.0.0.1', handle.firstPort, (c) => createTopic(c, { name: topic, partitions, replicationFactor: REPLICATION_FACTOR, configs: TOPIC_CONFIGS }));
  if (r.errorCode !== 0) throw new Error(`${system}: CreateTopics ${topic}: error ${r.errorCode} ${r.message ?? ''}`);
  // Both systems: wait until every partition has a leader with a full ISR before the clock starts.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const md = await withConnection('127.0.0.1', handle.firstPort, (c) => metadata(c, [topic])).catch(() => null);
    const t = md?.topics.find((x) => x.name === topic);
    if (t && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0 && p.isr.length === REPLICATION_FACTOR)) return;
    if (Date.now() > deadline) throw new Error(`${system}: ${topic} not fully replicated within 60 s`);
    await new Promise((r2) => setTimeout(r2, 250));
  }
}

async function producerPerformance(bootstrap, topic) {
  const run = await runJavaTool(
    'org.apache.kafka.tools.ProducerPerformance',
    ['--topic', topic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', String(throughput),
      '--producer-props', `bootstrap.servers=${bootstrap}`, ...PRODUCER_PROPS],
    { timeoutMs: workloadTimeoutMs },
  );
  const parsed = run.code === 0 ? parseProducerPerformance(run.stdout) : null;
  if (parsed) return parsed;
  const why = run.timedOut ? `timed out after ${Math.round(run.elapsedMs)} ms` : `exit ${run.code ?? run.signal}`;
  return { error: `ProducerPerformance: ${why}: ${(run.stderr || run.stdout).trim().split('\n').slice(-5).join(' | ')}` };
}

async function benchSystem(system) {
  const result = { loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))), runs: [] };
  log(`${system}: starting ${NODES} nodes`);
  const handle = await startSystem(system);
  result.settings = handle.settings;
  log(`${system}: serving on ${handle.bootstrap}`);
  try {
    for (let i = 1; i <= runs; i++) {
      const topic = `bench-${SHAPE}-${i}`;
      await createBenchTopic(system, handle, topic);
      spawnSync('sync');
      log(`${system}: run ${i}: ProducerPerformance ${records} x ${recordSize} B${throughput > 0 ? ` at ${throughput} records/s` : ''}, ${ACKS_LABEL}, ${partitions} partitions RF ${REPLICATION_FACTOR} (load ${os.loadavg()[0].toFixed(2)})`);
      const r = await producerPerformance(handle.bootstrap, topic);
      r.loadAverage1m = Number(os.loadavg()[0].toFixed(2));
      result.runs.push(r);
      log(`${system}: run ${i}: ${r.error ? `ERROR ${r.error}` : `${r.mbPerSec} MB/s, ${r.recordsPerSec} records/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms`}`);
    }
  } catch (err) {
    result.error = err.message;
    log(`${system}: ${err.message}`);
  } finally {
    log(`${system}: stopping`);
    await handle.stop();
    if (handle.cpuProfileDir) {
      result.cpuProfiles = readdirSync(handle.cpuProfileDir).map((f) => join(handle.cpuProfileDir, f));
      log(`${system}: CPU profiles: ${result.cpuProfiles.join(', ')}`);
    }
  }
  if (flags['keep-data'] !== 'true') rmSync(join(runDir, system), { recursive: true, force: true });
  return result;
}

const started = Date.now();
const results = {};
for (const system of systems) results[system] = await benchSystem(system);
const summary = Object.fromEntries(systems.map((s) => [s, medianOfProducerRuns(results[s].runs)]));
const k = summary.kafka;
const t = summary.tributary;
const ratios = k && t ? { throughput: Number((t.mbPerSec / k.mbPerSec).toFixed(2)), p50: Number((t.p50 / k.p50).toFixed(2)), p99: Number((t.p99 / k.p99).toFixed(2)) } : null;
const targets = ratios ? { throughputAtLeastHalf: ratios.throughput >= 0.5, p99AtMostDouble: ratios.p99 <= 2 } : null;

console.log(`RF=${REPLICATION_FACTOR} ${ACKS_LABEL}, ${records} x ${recordSize} B records${throughput > 0 ? ` at ${throughput}/s` : ''}, ${partitions} partitions, ${NODES} nodes, Java producer (median of ${runs} run(s))`);
console.log(['system'.padEnd(10), 'MB/s'.padStart(8), 'records/s'.padStart(10), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8)].join('  '));
for (const s of systems) {
  const m = summary[s];
  if (!m) console.log(`${s.padEnd(10)}  failed: ${results[s].error ?? results[s].runs.map((r) => r.error).join('; ')}`);
  else console.log([s.padEnd(10), String(m.mbPerSec).padStart(8), String(m.recordsPerSec).padStart(10), String(m.p50).padStart(8), String(m.p99).padStart(8)].join('  '));
}
if (ratios) {
  console.log(`tributary/kafka: throughput ${ratios.throughput}x (target >= 0.5x: ${targets.throughputAtLeastHalf ? 'met' : 'MISSED'}), p50 ${ratios.p50}x, p99 ${ratios.p99}x (target <= 2x: ${targets.p99AtMostDouble ? 'met' : 'MISSED'})`);
}
const report = {
  startedAt: new Date(started).toISOString(),
  durationS: Math.round((Date.now() - started) / 1000),
  command: `node bench/rf3-compare.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { nproc: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? null, memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), node: process.version },
  params: { acks: flags.acks, producerProps: PRODUCER_PROPS, throughput, records, recordSize, partitions, nodes: NODES, replicationFactor: REPLICATION_FACTOR, topicConfigs: TOPIC_CONFIGS, runs, systems },
  results,
  summary,
  ratios,
  targets,
};
const resultsFile = join(resultsDir, `${SHAPE}${flags.acks === 'all' ? '' : '-acks1'}-${stamp}.json`);
writeFileSync(resultsFile, JSON.stringify(report, null, 2) + '\n');
console.log(`results: ${resultsFile}`);
if (flags['keep-data'] !== 'true') rmSync(runDir, { recursive: true, force: true });
