#!/usr/bin/env node
// Issue 6's performance clause: produce latency with the snapshot loop running versus off. A 3-node Tributary cluster
// (shared local object store), one topic (--partitions, RF 3, min.insync.replicas=2), Java ProducerPerformance
// (acks=all, idempotent); the same workload with TRIBUTARY_SNAPSHOT_ENABLED=false and =true (low log threshold and a
// 1 s loop, so snapshots, uploads and compactions run during the measurement), alternating, --runs times each.
// Prints MB/s, records/s, p50/p99 per run and the snapshots the nodes made (from /metrics); writes
// bench/results/snapshot-loop-<timestamp>.json.
//
//   npx tsc -b packages/broker && bash scripts/install/java.sh
//   node bench/snapshot-loop-compare.mjs [--records 200000] [--record-size 1024] [--partitions 6] [--runs 1]
//        [--log-threshold 500] [--workload-timeout-s 300] [--throughput -1 | records/s]
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../e2e/lib/cluster.mjs';
import { createTopic, metadata, withConnection } from '../e2e/lib/kafka-wire.mjs';
import { parseFlagsOrExit, parseProducerPerformance, positiveIntFlagOrExit } from './lib/stats.mjs';
import { benchRunContext } from './lib/run-context.mjs';
import { runJavaTool } from './lib/processes.mjs';

const flags = parseFlagsOrExit(
  process.argv.slice(2),
  { records: '200000', 'record-size': '1024', partitions: '6', runs: '1', 'log-threshold': '500', 'workload-timeout-s': '300', throughput: '-1' },
  'snapshot-loop-compare',
);
const int = (name) => positiveIntFlagOrExit(flags, name, 'snapshot-loop-compare');
const records = int('records');
const recordSize = int('record-size');
const partitions = int('partitions');
const runs = int('runs');
const logThreshold = int('log-threshold');
const workloadTimeoutMs = int('workload-timeout-s') * 1000;
// Records/s for ProducerPerformance; -1 = as fast as it can. At saturation its latency mostly measures the client's own
// buffer, so a paced run (below what the cluster sustains) is the one that shows the broker's produce latency.
const throughput = flags.throughput === '-1' ? -1 : int('throughput');
const { stamp, resultsDir, runDir, log } = benchRunContext('tributary-snaploop');

/** Sum of one metric (all label sets) over the nodes' /metrics. */
async function metricSum(cluster, name) {
  let sum = 0;
  for (const n of cluster.nodes) {
    const text = await fetch(`http://127.0.0.1:${n.httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text());
    for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function oneRun(mode, index) {
  const snapshotsOn = mode === 'on';
  const cluster = new LocalCluster({
    nodes: 3,
    workDir: join(runDir, `${mode}-${index}`),
    logDir: join(runDir, `${mode}-${index}`),
    env: {
      TRIBUTARY_LOG_LEVEL: 'warn',
      TRIBUTARY_SNAPSHOT_ENABLED: String(snapshotsOn),
      TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: String(logThreshold),
      TRIBUTARY_SNAPSHOT_INTERVAL_SECS: '1',
    },
    log,
  });
  await cluster.start();
  try {
    const topic = `snaploop-${index}`;
    const port = cluster.node(1).kafkaPort;
    const created = await withConnection('127.0.0.1', port, (c) => createTopic(c, { name: topic, partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }));
    if (created.errorCode !== 0) throw new Error(`CreateTopics: error ${created.errorCode}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const md = await withConnection('127.0.0.1', port, (c) => metadata(c, [topic])).catch(() => null);
      const t = md?.topics.find((x) => x.name === topic);
      if (t && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0 && p.isr.length === 3)) break;
      if (Date.now() > deadline) throw new Error(`${topic} not fully replicated within 60 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const createdBefore = snapshotsOn ? await metricSum(cluster, 'tributary_snapshot_created_total') : 0;
    log(`snapshots ${mode}: run ${index}: ProducerPerformance ${records} x ${recordSize} B, acks=all, ${partitions} partitions RF 3 (load ${os.loadavg()[0].toFixed(2)})`);
    const run = await runJavaTool(
      'org.apache.kafka.tools.ProducerPerformance',
      ['--topic', topic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', String(throughput),
        '--producer-props', `bootstrap.servers=${cluster.bootstrap}`, 'acks=all', 'enable.idempotence=true'],
      { timeoutMs: workloadTimeoutMs },
    );
    const parsed = run.code === 0 ? parseProducerPerformance(run.stdout) : { error: `ProducerPerformance exit ${run.code ?? run.signal}: ${(run.stderr || run.stdout).trim().split('\n').slice(-3).join(' | ')}` };
    const result = { mode, index, loadAverage1m: Number(os.loadavg()[0].toFixed(2)), ...parsed };
    if (snapshotsOn) {
      result.snapshotsDuringRun = (await metricSum(cluster, 'tributary_snapshot_created_total')) - createdBefore;
      result.snapshotFailures = await metricSum(cluster, 'tributary_snapshot_failed_total');
    }
    log(`snapshots ${mode}: run ${index}: ${result.error ? `ERROR ${result.error}` : `${result.mbPerSec} MB/s, ${result.recordsPerSec} records/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`}${snapshotsOn ? `, ${result.snapshotsDuringRun} snapshots during the run` : ''}`);
    return result;
  } finally {
    await cluster.stopAll();
  }
}

const results = [];
for (let i = 1; i <= runs; i++) {
  // Alternate the order so a drift in the machine's load does not always favour the same mode.
  for (const mode of i % 2 === 1 ? ['off', 'on'] : ['on', 'off']) results.push(await oneRun(mode, i));
}
const file = join(resultsDir, `snapshot-loop-${stamp}.json`);
writeFileSync(file, JSON.stringify({ records, recordSize, partitions, logThreshold, results }, null, 2));
console.log('| run | snapshots | MB/s | records/s | p50 ms | p99 ms | snapshots during run | load (1 min) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(r.error
    ? `| ${r.index} | ${r.mode} | error: ${r.error} |||||`
    : `| ${r.index} | ${r.mode} | ${r.mbPerSec} | ${r.recordsPerSec} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.snapshotsDuringRun ?? '-'} | ${r.loadAverage1m} |`);
}
console.log(`(written to ${file})`);
