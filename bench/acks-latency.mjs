#!/usr/bin/env node
// Acknowledgement latency of acks=1 against acks=all on a 3-node cluster, RF 3: one connection to the partition
// leader sends single-batch Produce requests one at a time, alternating acks=1 and acks=all (the order swapped every
// round), so both see the same moment's load on this shared machine; the latency is request → response. Runs on a
// 3-node Tributary cluster and on a 3-node Apache Kafka KRaft cluster, one after the other. Writes
// bench/results/acks-latency-<timestamp>.json.
//
//   npx tsc -b packages/broker && bash scripts/install/java.sh
//   node bench/acks-latency.mjs [--rounds 500] [--record-size 1024] [--records-per-batch 16] [--systems tributary,kafka]
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startApacheKafkaCluster } from '../scripts/apache-kafka.mjs';
import { LocalCluster } from '../e2e/lib/cluster.mjs';
import { ERROR, createTopic, metadata, produce, withConnection, WireConnection } from '../e2e/lib/kafka-wire.mjs';
import { encodeBatch } from '../e2e/lib/record-batch.mjs';
import { parseFlagsOrExit, positiveIntFlagOrExit, summarizeLatencies } from './lib/stats.mjs';
import { benchRunContext } from './lib/run-context.mjs';

const flags = parseFlagsOrExit(process.argv.slice(2), { rounds: '500', 'record-size': '1024', 'records-per-batch': '16', systems: 'tributary,kafka' }, 'acks-latency');
const rounds = positiveIntFlagOrExit(flags, 'rounds', 'acks-latency');
const recordSize = positiveIntFlagOrExit(flags, 'record-size', 'acks-latency');
const recordsPerBatch = positiveIntFlagOrExit(flags, 'records-per-batch', 'acks-latency');
const systems = flags.systems.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of systems) {
  if (s !== 'kafka' && s !== 'tributary') {
    console.error(`acks-latency: unknown system '${s}' (kafka, tributary)`);
    process.exit(2);
  }
}
const TOPIC = 'acks-latency';
const WARM_UP_ROUNDS = 20;
const { stamp, resultsDir, runDir, log } = benchRunContext('tributary-acks-latency');

async function startSystem(system) {
  const dir = join(runDir, system);
  if (system === 'kafka') {
    const kafka = await startApacheKafkaCluster({ dir, nodes: 3, heap: '1g' });
    return { firstPort: kafka.nodes[0].port, stop: kafka.stop };
  }
  const cluster = new LocalCluster({ nodes: 3, workDir: dir, logDir: dir, env: { TRIBUTARY_LOG_LEVEL: 'warn' }, log });
  await cluster.start();
  return { firstPort: cluster.node(1).kafkaPort, stop: () => cluster.stopAll() };
}

/** The leader's port once the partition is fully replicated (ISR = 3), bounded. */
async function leaderPort(firstPort) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const md = await withConnection('127.0.0.1', firstPort, (c) => metadata(c, [TOPIC])).catch(() => null);
    const p = md?.topics.find((t) => t.name === TOPIC)?.partitions[0];
    if (p && p.leader >= 0 && p.isr.length === 3) return md.brokers.find((b) => b.nodeId === p.leader).port;
    if (Date.now() > deadline) throw new Error(`${TOPIC} not fully replicated within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function measure(system) {
  const loadAtStart = Number(os.loadavg()[0].toFixed(2));
  log(`${system}: starting 3 nodes (load ${loadAtStart})`);
  const handle = await startSystem(system);
  try {
    const created = await withConnection('127.0.0.1', handle.firstPort, (c) => createTopic(c, { name: TOPIC, partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }));
    if (created.errorCode !== 0) throw new Error(`${system}: CreateTopics error ${created.errorCode}`);
    const port = await leaderPort(handle.firstPort);
    const conn = await WireConnection.connect('127.0.0.1', port);
    const value = Buffer.alloc(recordSize, 0x61);
    const batch = () => encodeBatch(Array.from({ length: recordsPerBatch }, () => ({ key: null, value })));
    const latencies = { 1: [], [-1]: [] };
    let nextOffset = 0;
    try {
      log(`${system}: ${rounds} rounds of one acks=1 and one acks=all request (${recordsPerBatch} x ${recordSize} B each)`);
      for (let round = 0; round < WARM_UP_ROUNDS + rounds; round++) {
        for (const acks of round % 2 === 0 ? [1, -1] : [-1, 1]) {
          const started = process.hrtime.bigint();
          const r = await produce(conn, { topic: TOPIC, partition: 0, batch: batch(), acks, timeoutMs: 10_000 });
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (r.errorCode !== ERROR.NONE) throw new Error(`${system}: acks=${acks} produce error ${r.errorCode}`);
          if (Number(r.baseOffset) !== nextOffset) throw new Error(`${system}: acks=${acks} answered offset ${r.baseOffset}, expected ${nextOffset}`);
          nextOffset += recordsPerBatch;
          if (round >= WARM_UP_ROUNDS) latencies[acks].push(ms);
        }
      }
    } finally {
      conn.close();
    }
    const result = { loadAtStart, loadAtEnd: Number(os.loadavg()[0].toFixed(2)), acks1: summarizeLatencies(latencies[1]), acksAll: summarizeLatencies(latencies[-1]) };
    log(`${system}: acks=1 p50 ${result.acks1.p50} p99 ${result.acks1.p99} ms; acks=all p50 ${result.acksAll.p50} p99 ${result.acksAll.p99} ms`);
    return result;
  } finally {
    await handle.stop();
  }
}

const results = {};
for (const s of systems) {
  try {
    results[s] = await measure(s);
  } catch (err) {
    results[s] = { error: err.message };
    log(`${s}: ${err.message}`);
  }
}
console.log(`acks latency, RF 3, 1 partition, ${rounds} sequential requests per acks level, ${recordsPerBatch} x ${recordSize} B per request, interleaved`);
console.log(['system'.padEnd(10), 'acks'.padEnd(5), 'avg ms'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'max ms'.padStart(8), 'load'.padStart(12)].join('  '));
for (const s of systems) {
  const r = results[s];
  if (r.error) { console.log(`${s.padEnd(10)}  failed: ${r.error}`); continue; }
  for (const [acks, l] of [['1', r.acks1], ['all', r.acksAll]]) {
    console.log([s.padEnd(10), acks.padEnd(5), String(l.avg).padStart(8), String(l.p50).padStart(8), String(l.p99).padStart(8), String(l.max).padStart(8), `${r.loadAtStart}-${r.loadAtEnd}`.padStart(12)].join('  '));
  }
}
const file = join(resultsDir, `acks-latency-${stamp}.json`);
writeFileSync(file, JSON.stringify({
  command: `node bench/acks-latency.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  params: { rounds, recordSize, recordsPerBatch, warmUpRounds: WARM_UP_ROUNDS },
  machine: { nproc: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? null, node: process.version },
  results,
}, null, 2) + '\n');
console.log(`results: ${file}`);
rmSync(runDir, { recursive: true, force: true });
