#!/usr/bin/env node
// Tributary vs Apache Kafka on the same machine, in one run, one system after the other (never both at once: they
// would fight for the same cores). For each system: start it (fresh data dir, ephemeral loopback ports), create the
// topics, run the workloads below, stop it. Prints a table with both systems and the ratio Tributary/Kafka and writes
// bench/results/<timestamp>.json.
//
//   npx turbo run build && bash scripts/install/java.sh
//   node bench/kafka-compare.mjs [--records 500000] [--record-size 1024] [--partitions 1] [--systems kafka,tributary]
//        [--kafkajs-records 200000 (also librdkafka)] [--latency-rate 5000] [--latency-records 50000] [--e2e-records 1000]
//        [--workload-timeout-s 240]
//        [--profile true] [--keep-data true] [--only <workload ids>]
// Systems: kafka, tributary (its default fsync policy), tributary-fsync-always|interval|never (TRIBUTARY_FSYNC_POLICY).
//
// Workloads (all with 1 KiB records by default, "batches as the client makes them": client defaults, no tuning):
//   java-producer-acks1 / -acksall   org.apache.kafka.tools.ProducerPerformance, --throughput -1 (as fast as it goes)
//   java-producer-acksall-rate       ProducerPerformance acks=all at a fixed rate: latency when not saturated
//   java-consumer                    org.apache.kafka.tools.ConsumerPerformance over the acks=1 topic (consumer group)
//   kcat-consumer                    kcat (librdkafka) reading the same topic by assignment, no group
//   kafkajs-producer-acks1 / -acksall  bench/kafkajs-producer.mjs
//   librdkafka-producer-acks1 / -acksall  bench/librdkafka-producer.py (confluent-kafka-python, librdkafka batching)
//   java-end-to-end-latency          org.apache.kafka.tools.EndToEndLatency (one record at a time, acks=all, produce -> consume)
import { readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startApacheKafka } from '../scripts/apache-kafka.mjs';
import { parseConsumerPerformance, parseFlagsOrExit, parseProducerPerformance, positiveIntFlagOrExit } from './lib/stats.mjs';
import { benchRunContext } from './lib/run-context.mjs';
import { repoRoot, javaLibDir, killRunningTools, runTool, runJavaTool, startTributary } from './lib/processes.mjs';

const flags = parseFlagsOrExit(
  process.argv.slice(2),
  {
    records: '500000',
    'record-size': '1024',
    partitions: '1',
    systems: 'kafka,tributary',
    'kafkajs-records': '200000',
    'latency-rate': '5000',
    'latency-records': '50000',
    'e2e-records': '1000',
    'workload-timeout-s': '240',
    profile: 'false',
    'keep-data': 'false',
    only: '',
  },
  'kafka-compare',
);
const int = (name) => positiveIntFlagOrExit(flags, name, 'kafka-compare');
const records = int('records');
const recordSize = int('record-size');
const partitions = int('partitions');
const kafkajsRecords = int('kafkajs-records');
const latencyRate = int('latency-rate');
const latencyRecords = int('latency-records');
const e2eRecords = int('e2e-records');
const workloadTimeoutMs = int('workload-timeout-s') * 1000;
const systems = flags.systems.split(',').map((s) => s.trim()).filter(Boolean);
// 'tributary' runs the broker's default fsync policy; 'tributary-fsync-<policy>' sets TRIBUTARY_FSYNC_POLICY.
const systemPattern = /^(kafka|tributary(?:-fsync-(always|interval|never))?)$/;
for (const s of systems) {
  if (!systemPattern.test(s)) {
    console.error(`kafka-compare: unknown system '${s}' (kafka, tributary, tributary-fsync-always|interval|never)`);
    process.exit(2);
  }
}
if (new Set(systems).size !== systems.length) {
  console.error('kafka-compare: a system is listed twice');
  process.exit(2);
}
const onlyWorkloads = flags.only ? new Set(flags.only.split(',')) : null;

const { stamp, resultsDir, runDir, log } = benchRunContext('tributary-bench');

const topicAcks1 = 'bench-java-acks1';
const topics = [
  topicAcks1,
  'bench-java-acksall',
  'bench-java-rate',
  'bench-java-e2e',
  'bench-kafkajs-acks1',
  'bench-kafkajs-acksall',
  'bench-librdkafka-acks1',
  'bench-librdkafka-acksall',
];

function failure(run, what) {
  const why = run.timedOut ? `timed out after ${Math.round(run.elapsedMs)} ms` : `exit ${run.code ?? run.signal}`;
  const detail = (run.stderr || run.stdout).trim().split('\n').slice(-5).join(' | ');
  return { error: `${what}: ${why}: ${detail}` };
}

async function javaProducer(bootstrap, { topic, acks, count, throughput }) {
  const run = await runJavaTool(
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic', topic,
      '--num-records', String(count),
      '--record-size', String(recordSize),
      '--throughput', String(throughput),
      '--producer-props', `bootstrap.servers=${bootstrap}`, `acks=${acks}`,
    ],
    { timeoutMs: workloadTimeoutMs },
  );
  const parsed = run.code === 0 ? parseProducerPerformance(run.stdout) : null;
  return parsed ?? failure(run, 'ProducerPerformance');
}

async function javaConsumer(bootstrap, { topic, count }) {
  const run = await runJavaTool(
    'org.apache.kafka.tools.ConsumerPerformance',
    ['--bootstrap-server', bootstrap, '--topic', topic, '--messages', String(count), '--timeout', '30000'],
    { timeoutMs: workloadTimeoutMs },
  );
  const parsed = run.code === 0 ? parseConsumerPerformance(run.stdout) : null;
  if (parsed && parsed.records < count) return { ...parsed, error: `consumed ${parsed.records} of ${count} records` };
  return parsed ?? failure(run, 'ConsumerPerformance');
}

const kcatChildren = new Set();

/** kcat reads the topic from the beginning by assignment (no consumer group) and exits after `count` records. */
async function kcatConsumer(bootstrap, { topic, count }) {
  return await new Promise((resolveRun) => {
    const started = process.hrtime.bigint();
    const child = spawn('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-c', String(count), '-e', '-q', '-f', '%o\n'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    kcatChildren.add(child);
    child.once('exit', () => kcatChildren.delete(child));
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), workloadTimeoutMs);
    child.once('error', (e) => resolveRun({ error: `kcat: ${e.message}` }));
    child.once('close', (code) => {
      clearTimeout(timer);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0 || lines !== count) {
        resolveRun({ error: `kcat: exit ${code}, ${lines} of ${count} records: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
        return;
      }
      resolveRun({
        records: lines,
        elapsedMs: Math.round(elapsedMs),
        recordsPerSec: Math.round((lines / elapsedMs) * 1000),
        mbPerSec: Number(((lines * recordSize) / (1024 * 1024) / (elapsedMs / 1000)).toFixed(2)),
      });
    });
  });
}

/** confluent-kafka-python (librdkafka) producer: librdkafka's own batching, latency per record. */
async function librdkafkaProducer(bootstrap, { topic, acks, count }) {
  const run = await runTool(
    '/usr/bin/python3',
    [join(repoRoot, 'bench', 'librdkafka-producer.py'), '--bootstrap', bootstrap, '--topic', topic, '--records', String(count),
      '--record-size', String(recordSize), '--acks', acks, '--timeout-s', String((workloadTimeoutMs - 5000) / 1000)],
    { timeoutMs: workloadTimeoutMs },
  );
  if (run.code !== 0) return failure(run, 'librdkafka-producer');
  try {
    return JSON.parse(run.stdout.trim().split('\n').pop());
  } catch {
    return failure(run, 'librdkafka-producer output');
  }
}

/**
 * org.apache.kafka.tools.EndToEndLatency: produce one record (acks=all), wait until a consumer sees it, repeat.
 * Output: "Avg latency: 24.7109 ms" and "Percentiles: 50th = 11, 99th = 173, 99.9th = 386".
 */
async function javaEndToEndLatency(bootstrap, { topic, count }) {
  const run = await runJavaTool(
    'org.apache.kafka.tools.EndToEndLatency',
    [bootstrap, topic, String(count), 'all', String(recordSize)],
    { timeoutMs: workloadTimeoutMs },
  );
  const avg = /Avg latency: ([\d.]+) ms/.exec(run.stdout);
  const pct = /Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)/.exec(run.stdout);
  if (run.code !== 0 || !avg || !pct) return failure(run, 'EndToEndLatency');
  return { records: count, latencyMs: { avg: Number(Number(avg[1]).toFixed(2)), p50: Number(pct[1]), p99: Number(pct[2]), p999: Number(pct[3]) } };
}

async function kafkajsProducer(bootstrap, { topic, acks, count }) {
  const run = await runTool(
    process.execPath,
    [join(repoRoot, 'bench', 'kafkajs-producer.mjs'), '--bootstrap', bootstrap, '--topic', topic, '--records', String(count),
      '--record-size', String(recordSize), '--acks', String(acks), '--timeout-ms', String(workloadTimeoutMs - 5000)],
    { timeoutMs: workloadTimeoutMs },
  );
  if (run.code !== 0) return failure(run, 'kafkajs-producer');
  try {
    return JSON.parse(run.stdout.trim().split('\n').pop());
  } catch {
    return failure(run, 'kafkajs-producer output');
  }
}

const workloads = [
  { id: 'java-producer-acks1', kind: 'produce', run: (b) => javaProducer(b, { topic: topicAcks1, acks: '1', count: records, throughput: -1 }) },
  { id: 'java-producer-acksall', kind: 'produce', run: (b) => javaProducer(b, { topic: 'bench-java-acksall', acks: 'all', count: records, throughput: -1 }) },
  { id: 'java-consumer', kind: 'consume', run: (b) => javaConsumer(b, { topic: topicAcks1, count: records }) },
  { id: 'kcat-consumer', kind: 'consume', run: (b) => kcatConsumer(b, { topic: topicAcks1, count: records }) },
  { id: 'kafkajs-producer-acks1', kind: 'produce', run: (b) => kafkajsProducer(b, { topic: 'bench-kafkajs-acks1', acks: 1, count: kafkajsRecords }) },
  { id: 'kafkajs-producer-acksall', kind: 'produce', run: (b) => kafkajsProducer(b, { topic: 'bench-kafkajs-acksall', acks: -1, count: kafkajsRecords }) },
  { id: 'librdkafka-producer-acks1', kind: 'produce', run: (b) => librdkafkaProducer(b, { topic: 'bench-librdkafka-acks1', acks: '1', count: kafkajsRecords }) },
  { id: 'librdkafka-producer-acksall', kind: 'produce', run: (b) => librdkafkaProducer(b, { topic: 'bench-librdkafka-acksall', acks: 'all', count: kafkajsRecords }) },
  { id: 'java-end-to-end-latency', kind: 'latency', run: (b) => javaEndToEndLatency(b, { topic: 'bench-java-e2e', count: e2eRecords }) },
  {
    id: 'java-producer-acksall-rate',
    kind: 'latency',
    run: (b) => javaProducer(b, { topic: 'bench-java-rate', acks: 'all', count: latencyRecords, throughput: latencyRate }),
  },
].filter((w) => !onlyWorkloads || onlyWorkloads.has(w.id));

async function createTopics(bootstrap) {
  const kafka = new Kafka({ clientId: 'tributary-bench-admin', brokers: [bootstrap], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

async function startSystem(system) {
  const dir = join(runDir, system);
  if (system === 'kafka') {
    const kafka = await startApacheKafka({ dir });
    return { bootstrap: kafka.bootstrap, stop: kafka.stop, logFile: kafka.logFile, settings: { fsync: 'none on ack (Kafka default: OS page cache)' } };
  }
  const fsyncPolicy = systemPattern.exec(system)[2];
  const env = fsyncPolicy ? { TRIBUTARY_FSYNC_POLICY: fsyncPolicy } : {};
  const cpuProfileDir = flags.profile === 'true' ? join(resultsDir, `prof-${stamp}`, system) : undefined;
  const trib = await startTributary({ dataDir: join(dir, 'data'), env, cpuProfileDir });
  return { bootstrap: trib.bootstrap, stop: trib.stop, logFile: trib.logFile, cpuProfileDir, settings: { fsyncPolicy: trib.fsyncPolicy } };
}

function describe(r) {
  const parts = [];
  if (r.mbPerSec !== undefined) parts.push(`${r.mbPerSec} MB/s, ${r.recordsPerSec} records/s`);
  if (r.latencyMs) parts.push(`p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms`);
  return parts.join(', ');
}

/** The system being measured, so Ctrl-C / SIGTERM can stop it and its tools instead of leaving orphans. */
let currentHandle = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping tools and the running system`);
    killRunningTools();
    for (const child of kcatChildren) child.kill('SIGKILL');
    const stopping = currentHandle ? currentHandle.stop() : Promise.resolve();
    stopping.finally(() => {
      if (flags['keep-data'] !== 'true') rmSync(runDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

async function benchSystem(system) {
  const result = { loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))), workloads: {} };
  log(`${system}: starting`);
  let handle;
  try {
    handle = await startSystem(system);
  } catch (err) {
    log(`${system}: failed to start: ${err.message}`);
    result.error = `start: ${err.message}`;
    return result;
  }
  currentHandle = handle;
  result.settings = handle.settings;
  log(`${system}: serving on ${handle.bootstrap} (log ${handle.logFile}, ${JSON.stringify(handle.settings)})`);
  try {
    await createTopics(handle.bootstrap);
    for (const w of workloads) {
      // Write back dirty pages left by the previous workload first: on ext4 (data=ordered) an fsync waits for
      // them, so without this a workload's latency depends on what ran before it.
      spawnSync('sync');
      log(`${system}: ${w.id} ...`);
      let r;
      try {
        r = await w.run(handle.bootstrap);
      } catch (err) {
        r = { error: err.message };
      }
      result.workloads[w.id] = r;
      log(`${system}: ${w.id}: ${r.error ? `ERROR ${r.error}` : describe(r)}`);
    }
  } catch (err) {
    result.error = err.message;
    log(`${system}: ${err.message}`);
  } finally {
    log(`${system}: stopping`);
    await handle.stop();
    currentHandle = null;
    if (handle.cpuProfileDir) {
      result.cpuProfiles = readdirSync(handle.cpuProfileDir).map((f) => join(handle.cpuProfileDir, f));
      log(`${system}: CPU profile(s): ${result.cpuProfiles.join(', ')}`);
    }
  }
  if (flags['keep-data'] !== 'true') rmSync(join(runDir, system), { recursive: true, force: true });
  return result;
}

function machineInfo() {
  const javaVersion = spawnSyncText('java', ['-version']).split('\n')[0] ?? null;
  const kafkaJar = readdirSync(javaLibDir).find((f) => /^kafka_2\.13-.*\.jar$/.test(f)) ?? '';
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    java: javaVersion,
    kafkaVersion: kafkaJar.replace(/^kafka_2\.13-|\.jar$/g, ''),
    kafkajs: JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'kafkajs', 'package.json'), 'utf8')).version,
    kcat: /Version ([\d.]+).*?(librdkafka [\d.]+)/.exec(spawnSyncText('kcat', ['-V']))?.slice(1).join(', ') ?? null,
    diskFree: spawnSyncText('df', ['-h', '--output=fstype,size,avail', os.tmpdir()]).split('\n')[1]?.trim() ?? null,
    os: `${os.type()} ${os.release()}`,
  };
}

function spawnSyncText(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

const metricRows = [
  { key: 'mbPerSec', label: 'MB/s', higherIsBetter: true },
  { key: 'recordsPerSec', label: 'records/s', higherIsBetter: true },
  { key: 'p50', label: 'p50 ms', higherIsBetter: false, latency: true },
  { key: 'p99', label: 'p99 ms', higherIsBetter: false, latency: true },
];

function metric(r, row) {
  if (!r || r.error) return null;
  const v = row.latency ? r.latencyMs?.[row.key] : r[row.key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function workloadFailed(results, id) {
  return systems.some((s) => results[s]?.workloads[id]?.error);
}

/** One row per workload and metric: each system's value, and each Tributary variant's ratio to Kafka. */
function buildComparison(results) {
  const rows = [];
  const variants = systems.filter((s) => s !== 'kafka');
  for (const w of workloads) {
    for (const row of metricRows) {
      const values = Object.fromEntries(systems.map((s) => [s, metric(results[s]?.workloads[w.id], row)]));
      if (Object.values(values).every((v) => v === null) && !workloadFailed(results, w.id)) continue;
      const k = values.kafka ?? null;
      const ratios = Object.fromEntries(
        variants.map((s) => [s, values[s] !== null && k !== null && k !== 0 ? Number((values[s] / k).toFixed(2)) : null]),
      );
      rows.push({ workload: w.id, metric: row.label, values, ratios });
    }
  }
  return rows;
}

function printTable(rows, results) {
  const cell = (v) => (v === null || v === undefined ? '-' : String(v));
  const variants = systems.includes('kafka') ? systems.filter((s) => s !== 'kafka') : [];
  const header = ['workload', 'metric', ...systems, ...variants.map((s) => `${s}/kafka`)];
  const body = rows.map((r) => [
    r.workload,
    r.metric,
    ...systems.map((s) => cell(r.values[s])),
    ...variants.map((s) => (r.ratios[s] === null ? '-' : `${r.ratios[s]}x`)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols) => cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const system of systems) {
    const res = results[system];
    if (res?.error) console.log(`${system}: ${res.error}`);
    for (const [id, r] of Object.entries(res?.workloads ?? {})) if (r.error) console.log(`${system} ${id}: ${r.error}`);
  }
}

const started = Date.now();
const results = {};
for (const system of systems) results[system] = await benchSystem(system);
const comparison = buildComparison(results);
const report = {
  startedAt: new Date(started).toISOString(),
  durationS: Math.round((Date.now() - started) / 1000),
  command: `node bench/kafka-compare.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  params: { records, recordSize, partitions, kafkajsRecords, latencyRate, latencyRecords, e2eRecords, systems },
  results,
  comparison,
};
const resultsFile = join(resultsDir, `${stamp}.json`);
writeFileSync(resultsFile, JSON.stringify(report, null, 2) + '\n');
if (flags['keep-data'] !== 'true') rmSync(runDir, { recursive: true, force: true });
printTable(comparison, results);
console.log(`\nresults: ${resultsFile} (${report.durationS} s)`);
