// Benchmark (not a test): OffsetCommit latency and throughput at the group coordinator, in cluster mode (3 broker
// processes, the coordinator = the metadata leader, each commit one metadata Raft entry) and on a single node
// (SQLite, synchronous=FULL), with the same requests. Prints one JSON line per mode.
//   node packages/broker/dist/test/cluster/bench-offset-commit.js
// Env: COMMITS (sequential commits, default 500), PARTITIONS (per request, default 6), CONCURRENCY (parallel
// committers of distinct groups for the throughput run, default 16; each sends COMMITS / CONCURRENCY requests).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { startBroker, tempDataDir } from '../support/broker-process.js';
import { WireClient } from '../support/wire-client.js';
import { clusterEnv, freePorts, metadataUntil, startClusterNode, type ClusterNodeProcess } from './cluster-support.js';

const commits = Number(process.env['COMMITS'] ?? 500);
const partitions = Number(process.env['PARTITIONS'] ?? 6);
const concurrency = Number(process.env['CONCURRENCY'] ?? 16);
const TOPIC = 'bench-commits';

function percentile(sortedMs: number[], p: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!;
}

async function createTopic(port: number, replicationFactor: number): Promise<void> {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    const r = await client.request(ApiKey.CreateTopics, 7, { topics: [{ name: TOPIC, numPartitions: partitions, replicationFactor, assignments: [], configs: [] }], timeoutMs: 15_000, validateOnly: false });
    if (r.topics[0].errorCode !== ErrorCode.NONE) throw new Error(`CreateTopics: ${r.topics[0].errorCode}`);
  } finally {
    client.close();
  }
}

/** Simple commits (generation -1, no member: the kcat / admin form) of `count` requests on one connection. */
async function commitLoop(port: number, groupId: string, count: number, latenciesMs: number[]): Promise<void> {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    for (let i = 0; i < count; i++) {
      const startedNs = process.hrtime.bigint();
      const r = await client.request(ApiKey.OffsetCommit, 8, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: TOPIC, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, committedOffset: i, committedLeaderEpoch: -1, committedMetadata: '' })) }],
      });
      latenciesMs.push(Number(process.hrtime.bigint() - startedNs) / 1e6);
      for (const t of r.topics) for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) throw new Error(`OffsetCommit error ${p.errorCode}`);
    }
  } finally {
    client.close();
  }
}

async function measure(mode: string, port: number): Promise<void> {
  await commitLoop(port, 'warm-up', 20, []);
  const sequential: number[] = [];
  await commitLoop(port, 'sequential', commits, sequential);
  sequential.sort((a, b) => a - b);
  const parallel: number[] = [];
  const startedMs = Date.now();
  await Promise.all(Array.from({ length: concurrency }, (_, i) => commitLoop(port, `parallel-${i}`, Math.ceil(commits / concurrency), parallel)));
  const elapsedMs = Date.now() - startedMs;
  parallel.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  console.log(
    JSON.stringify({
      mode,
      partitionsPerCommit: partitions,
      sequential: { commits: sequential.length, p50Ms: round(percentile(sequential, 50)), p99Ms: round(percentile(sequential, 99)), maxMs: round(sequential.at(-1)!) },
      parallel: { committers: concurrency, commits: parallel.length, commitsPerSec: Math.round((parallel.length * 1000) / elapsedMs), p50Ms: round(percentile(parallel, 50)), p99Ms: round(percentile(parallel, 99)) },
    }),
  );
}

const { dir, cleanup } = tempDataDir('trib-bench-commit-');
const nodes: ClusterNodeProcess[] = [];
try {
  const clusterPorts = await freePorts(3);
  for (const id of [1, 2, 3]) mkdirSync(join(dir, `node-${id}`), { recursive: true });
  // allSettled: nodes that started are killed in finally even when another failed to start.
  const started = await Promise.allSettled([1, 2, 3].map((id) => startClusterNode(id, clusterEnv(id, join(dir, `node-${id}`), clusterPorts, 'Benchoffsetcommitclust'))));
  for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  const md = await metadataUntil(nodes[0]!.kafkaPort, (m) => m.controllerId > 0 && m.brokers.length === 3);
  const coordinator = nodes.find((n) => n.id === md.controllerId)!;
  await createTopic(coordinator.kafkaPort, 3);
  await measure('cluster (3 nodes, RF 3 metadata group)', coordinator.kafkaPort);
  for (const n of nodes) n.proc.kill('SIGTERM');
  await Promise.all(nodes.map((n) => n.exited));

  mkdirSync(join(dir, 'single'), { recursive: true });
  const single = await startBroker({ dataDir: join(dir, 'single') });
  try {
    await createTopic(single.kafka.port, 1);
    await measure('single node (SQLite synchronous=FULL)', single.kafka.port);
  } finally {
    await single.stop('SIGTERM');
  }
} finally {
  for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.exited));
  cleanup();
}
