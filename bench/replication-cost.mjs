#!/usr/bin/env node
// Replication's cost at the product level (issue 4's yardstick): the same Java ProducerPerformance run against a
// 1-node cluster with RF 1 and a 3-node cluster with RF 3, for Apache Kafka and for Tributary, on this machine, and
// the RF3 / RF1 ratio of records/s per system. Kafka's own ratio here says how much of a drop the machine imposes
// (three replicas sharing its cores and one disk); Tributary's ratio beside it says how much more its design adds.
// Tributary's RF 1 is a one-node cluster (cluster mode: single-voter Raft groups), not the single-node broker, so
// both shapes run the same code.
//
// Each measurement is one `bench/rf3-compare.mjs --nodes N --systems S --runs 1+W` child process (a fresh cluster per
// measurement, its JSON read back; the last run counts, the W = --warmup-runs before it on the same cluster warm the
// JVMs' JIT and Node's, which a fresh cluster otherwise pays inside the measurement: three cold JVMs on 2 cores ran
// Kafka RF 3 at about half its third run's rate here), in the order, per round: Kafka RF1, Kafka RF3, Tributary RF1,
// Tributary RF3; --runs rounds, so slow drift of the machine (other work, page cache) reaches both shapes alike.
// Prints per system the medians of records/s, MB/s, p50 and p99 for each shape and the RF3/RF1 ratios; writes
// bench/results/replication-cost-<timestamp>.json. Hold the machine lock around it:
//
//   flock /tmp/tributary-bench.lock node bench/replication-cost.mjs [--records 300000] [--record-size 1024]
//        [--partitions 12] [--acks all|1] [--runs 3] [--warmup-runs 0] [--systems kafka,tributary] [--workload-timeout-s 300]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseFlagsOrExit, positiveIntFlagOrExit, medianOfProducerRuns } from './lib/stats.mjs';
import { benchRunContext } from './lib/run-context.mjs';
import { repoRoot, runTool } from './lib/processes.mjs';

const flags = parseFlagsOrExit(
  process.argv.slice(2),
  { records: '300000', 'record-size': '1024', partitions: '12', acks: 'all', runs: '3', 'warmup-runs': '0', systems: 'kafka,tributary', 'workload-timeout-s': '300' },
  'replication-cost',
);
const int = (name) => positiveIntFlagOrExit(flags, name, 'replication-cost');
const runs = int('runs');
const warmupRuns = flags['warmup-runs'] === '0' ? 0 : int('warmup-runs');
const workloadTimeoutS = int('workload-timeout-s');
const systems = flags.systems.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of systems) {
  if (s !== 'kafka' && s !== 'tributary') {
    console.error(`replication-cost: unknown system '${s}' (kafka, tributary)`);
    process.exit(2);
  }
}
/** The two shapes compared: no replication, and Kafka's usual replicated setup. */
const SHAPES = [
  { name: 'RF1', nodes: 1 },
  { name: 'RF3', nodes: 3 },
];
const passThrough = ['--records', String(int('records')), '--record-size', String(int('record-size')), '--partitions', String(int('partitions')), '--acks', flags.acks, '--workload-timeout-s', String(workloadTimeoutS)];

const { stamp, resultsDir, runDir, log } = benchRunContext('tributary-replication-cost');
rmSync(runDir, { recursive: true, force: true }); // each child rf3-compare has its own scratch directory

/** One measurement: a child rf3-compare on a fresh cluster; its run's result (or { error }) and where its JSON is. */
async function measure(system, shape) {
  const args = [join(repoRoot, 'bench', 'rf3-compare.mjs'), '--nodes', String(shape.nodes), '--systems', system, '--runs', String(1 + warmupRuns), ...passThrough];
  // Cluster start and stop around the workloads: a few minutes at most beyond the workloads' own limits.
  const child = await runTool(process.execPath, args, { timeoutMs: ((1 + warmupRuns) * workloadTimeoutS + 300) * 1000 });
  const resultsFile = /^results: (.+\.json)$/m.exec(child.stdout)?.[1];
  if (child.code !== 0 || !resultsFile) {
    const why = child.timedOut ? 'timed out' : `exit ${child.code ?? child.signal}`;
    return { error: `rf3-compare ${why}: ${(child.stderr || child.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  }
  const report = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const systemResult = report.results[system];
  const run = systemResult.runs[warmupRuns] ?? { error: systemResult.error ?? 'no measured run recorded' };
  const warmups = systemResult.runs.slice(0, warmupRuns).map((r) => (r.error ? { error: r.error } : { recordsPerSec: r.recordsPerSec, p99: r.latencyMs.p99 }));
  return { ...run, warmups, resultsFile, loadAverageAtStart: systemResult.loadAverageAtStart };
}

const ratio = (a, b) => (a === null || b === null || b === 0 ? null : Number((a / b).toFixed(2)));

const started = Date.now();
const loadAverageAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
const measurements = Object.fromEntries(systems.map((s) => [s, Object.fromEntries(SHAPES.map((shape) => [shape.name, []]))]));
for (let round = 1; round <= runs; round++) {
  for (const system of systems) {
    for (const shape of SHAPES) {
      log(`round ${round}/${runs}: ${system} ${shape.name} (${shape.nodes} node${shape.nodes > 1 ? 's' : ''}), load ${os.loadavg()[0].toFixed(2)}`);
      const m = await measure(system, shape);
      measurements[system][shape.name].push(m);
      log(`round ${round}/${runs}: ${system} ${shape.name}: ${m.error ? `ERROR ${m.error}` : `${m.recordsPerSec} records/s, ${m.mbPerSec} MB/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms`}`);
    }
  }
}

const summary = {};
for (const system of systems) {
  const rf1 = medianOfProducerRuns(measurements[system].RF1);
  const rf3 = medianOfProducerRuns(measurements[system].RF3);
  summary[system] = {
    RF1: rf1,
    RF3: rf3,
    rf3OverRf1: rf1 && rf3 ? { recordsPerSec: ratio(rf3.recordsPerSec, rf1.recordsPerSec), p50: ratio(rf3.p50, rf1.p50), p99: ratio(rf3.p99, rf1.p99) } : null,
  };
}
const loadAverageAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));

console.log(`acks=${flags.acks}, ${flags.records} x ${flags['record-size']} B records, ${flags.partitions} partitions, Java ProducerPerformance; RF1 = 1 node, RF3 = 3 nodes (min.insync.replicas 2); median of ${runs} interleaved round(s), ${warmupRuns} warm-up run(s) on each fresh cluster before the measured one`);
console.log(['system'.padEnd(10), 'shape'.padEnd(5), 'records/s'.padStart(10), 'MB/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8)].join('  '));
for (const system of systems) {
  for (const shape of SHAPES) {
    const m = summary[system][shape.name];
    const failures = measurements[system][shape.name].filter((r) => r.error).map((r) => r.error);
    if (!m) console.log(`${system.padEnd(10)}  ${shape.name.padEnd(5)}  failed: ${failures.join('; ')}`);
    else console.log([system.padEnd(10), shape.name.padEnd(5), String(m.recordsPerSec).padStart(10), String(m.mbPerSec).padStart(8), String(m.p50).padStart(8), String(m.p99).padStart(8)].join('  ') + (m.runs < runs ? `  (${m.runs} of ${runs} runs succeeded)` : ''));
  }
}
for (const system of systems) {
  const r = summary[system].rf3OverRf1;
  console.log(`${system}: RF3/RF1 ${r ? `records/s ${r.recordsPerSec}x, p50 ${r.p50}x, p99 ${r.p99}x` : 'n/a (a shape failed)'}`);
}
console.log(`load average (1/5/15 min) at start ${loadAverageAtStart.join(' / ')}, at end ${loadAverageAtEnd.join(' / ')}`);

const report = {
  startedAt: new Date(started).toISOString(),
  durationS: Math.round((Date.now() - started) / 1000),
  command: `node bench/replication-cost.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { nproc: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? null, memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), node: process.version },
  params: { records: flags.records, recordSize: flags['record-size'], partitions: flags.partitions, acks: flags.acks, runs, warmupRuns, systems, shapes: SHAPES },
  loadAverageAtStart,
  loadAverageAtEnd,
  measurements,
  summary,
};
const resultsFile = join(resultsDir, `replication-cost-${stamp}.json`);
writeFileSync(resultsFile, JSON.stringify(report, null, 2) + '\n');
console.log(`results: ${resultsFile}`);
