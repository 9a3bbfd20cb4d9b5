// Test helpers for cluster mode: free loopback ports, broker nodes started with `start` and TRIBUTARY_PEERS
// (their bound addresses come from the "listening" log line), `tributary cluster` processes, CreateTopics, a Metadata
// poll until a condition holds, and a kafkajs read of a known number of records.
import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { ApiKey } from '@tributary/protocol';
import { BIN } from '../support/broker-process.js';
import { WireClient } from '../support/wire-client.js';

export const METADATA_V = 12;

/**
 * Every node process a test file started. A test that fails or times out part-way (e.g. one node of a
 * `Promise.all` start fails) may not stop the others; their pipes would keep the test file's process alive forever,
 * so whatever is still running when the file's tests are done is killed here.
 */
const spawnedNodes = new Set<ChildProcess>();
after(() => {
  for (const proc of spawnedNodes) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
});

/** `count` distinct ports that were free a moment ago (bound together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = createServer();
      await new Promise<void>((r, j) => {
        s.once('error', j);
        s.listen(0, '127.0.0.1', () => r());
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/** `count` consecutive free ports (for `tributary cluster`, which numbers ports from a base); bounded attempts. */
export async function freeConsecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const servers: Server[] = [];
    let ok = true;
    for (let i = 0; i < count && ok; i++) {
      const s = createServer();
      ok = await new Promise<boolean>((r) => {
        s.once('error', () => r(false));
        s.listen(base + i, '127.0.0.1', () => r(true));
      });
      if (ok) servers.push(s);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
    if (ok) return base;
  }
  throw new Error('no consecutive free ports found');
}

export interface ClusterNodeProcess {
  readonly id: number;
  readonly proc: ChildProcess;
  readonly kafkaPort: number;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/**
 * The environment of cluster node `id`. The preferred-leader balancer is off unless `overrides` turns it on: most
 * cluster tests speak the raw protocol without retries and assume a partition's leader stays put while they work;
 * a balancing move would answer their produce NOT_LEADER_OR_FOLLOWER (retriable, as real clients treat it).
 */
export function clusterEnv(id: number, dataDir: string, clusterPorts: readonly number[], clusterId: string, overrides: Record<string, string> = {}): Record<string, string> {
  const peers = clusterPorts.map((p, i) => ({ id: i + 1, p })).filter((x) => x.id !== id).map((x) => `${x.id}@127.0.0.1:${x.p}`);
  return {
    PATH: process.env['PATH'] ?? '',
    TRIBUTARY_NODE_ID: String(id),
    TRIBUTARY_DATA_DIR: dataDir,
    TRIBUTARY_KAFKA_LISTEN: '127.0.0.1:0',
    TRIBUTARY_HTTP_LISTEN: '127.0.0.1:0',
    TRIBUTARY_CLUSTER_LISTEN: `127.0.0.1:${clusterPorts[id - 1]}`,
    TRIBUTARY_PEERS: peers.join(','),
    TRIBUTARY_CLUSTER_ID: clusterId,
    TRIBUTARY_LOG_LEVEL: 'info',
    // Snapshots in cluster mode need a store every node reads: the nodes of one test share <parent>/object-store.
    TRIBUTARY_OBJECT_STORE_DIR: join(dirname(dataDir), 'object-store'),
    TRIBUTARY_LEADER_BALANCE_INTERVAL_MS: '0',
    ...overrides,
  };
}

export async function startClusterNode(id: number, env: Record<string, string>, startTimeoutMs = 30_000): Promise<ClusterNodeProcess> {
  const proc = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  spawnedNodes.add(proc);
  let output = '';
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => { spawnedNodes.delete(proc); r(code); }));
  const kafkaPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`node ${id} did not start in time; output:\n${output}`));
    }, startTimeoutMs);
    let pending = '';
    proc.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const e = JSON.parse(line) as { event?: string; kafka?: string };
          if (e.event === 'listening' && e.kafka) {
            clearTimeout(timer);
            resolve(Number(e.kafka.slice(e.kafka.lastIndexOf(':') + 1)));
          }
        } catch {
          // not JSON
        }
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node ${id} exited with ${code} before listening; output:\n${output}`));
    });
  });
  return { id, proc, kafkaPort, output: () => output, exited };
}

export interface LocalClusterProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything the process wrote so far, stdout and stderr. */
  readonly output: () => string;
  /** The servers of the "bootstrap servers: …" line, once printed; rejects after `timeoutMs` without it. */
  readonly bootstrapServers: (timeoutMs: number) => Promise<string[]>;
}

/**
 * `tributary cluster <args>` as a child process (log level warn). The caller stops it; if a test fails before that,
 * the file's `after` hook kills it like the `start` nodes.
 */
export function launchLocalCluster(args: readonly string[]): LocalClusterProcess {
  const proc = spawn(process.execPath, [BIN, 'cluster', ...args], {
    env: { PATH: process.env['PATH'] ?? '', TRIBUTARY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawnedNodes.add(proc);
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => { spawnedNodes.delete(proc); r(code); }));
  let output = '';
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  const bootstrapServers = (timeoutMs: number): Promise<string[]> => new Promise<string[]>((resolve, reject) => {
    // added after the collector above, so `output` already holds the chunk that fired it
    const check = (): void => {
      const m = /bootstrap servers: (\S+)/.exec(output);
      if (m === null) return;
      clearTimeout(timer);
      proc.stdout!.off('data', check);
      resolve(m[1]!.split(','));
    };
    const timer = setTimeout(() => {
      proc.stdout!.off('data', check);
      reject(new Error(`no bootstrap line; output:\n${output}`));
    }, timeoutMs);
    proc.stdout!.on('data', check);
    check();
  });
  return { proc, exited, output: () => output, bootstrapServers };
}

/**
 * Runs `consumer` (connected, not yet subscribed) on `topic` from the beginning until it has seen `count` record
 * values, and returns them in arrival order; rejects after `timeoutMs` naming how many arrived.
 */
export async function consumeValues(consumer: Consumer, topic: string, count: number, timeoutMs: number): Promise<string[]> {
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${count}`)), timeoutMs);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  return seen;
}

/** Runs `fn` with a fresh loopback connection to `port`, closed afterwards whatever `fn` does. */
export async function withClient<T>(port: number, fn: (client: WireClient) => Promise<T>): Promise<T> {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export function metadata(port: number, topics: string[] | null = null): Promise<any> {
  return withClient(port, (client) =>
    client.request(ApiKey.Metadata, METADATA_V, {
      topics: topics === null ? null : topics.map((name) => ({ topicId: Buffer.alloc(16), name })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    }),
  );
}

/**
 * One CreateTopics (v7) on `port` of `name` with `configs` (Kafka config names to values); resolves with the topic's
 * result, `errorCode` included, so a test can expect a refusal as well as a success.
 */
export function createTopic(port: number, name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}): Promise<any> {
  return withClient(port, async (client) => {
    const r = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions, replicationFactor, assignments: [], configs: Object.entries(configs).map(([configName, value]) => ({ name: configName, value })) }],
      timeoutMs: 15000,
      validateOnly: false,
    });
    return r.topics[0];
  });
}

/** Polls Metadata on `port` until `check` returns true (bounded by `timeoutMs`); returns the last response. */
export async function metadataUntil(port: number, check: (md: any) => boolean, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const md = await metadata(port);
    if (check(md) || Date.now() > deadline) return md;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until Metadata on `port` lists (at least) `brokerIds` as unfenced brokers. A node serves once its own
 * registration is applied on the metadata leader, so right after a cluster starts a node's copy of the catalogue may
 * lack the others; a request naming brokers (a manual replica assignment) must wait for them like a client would.
 */
export async function brokersListed(port: number, brokerIds: readonly number[], timeoutMs = 20_000): Promise<void> {
  const listsAll = (md: any): boolean => brokerIds.every((id) => md.brokers.some((b: any) => b.nodeId === id));
  const md = await metadataUntil(port, listsAll, timeoutMs);
  if (!listsAll(md)) throw new Error(`Metadata on port ${port} lists brokers ${md.brokers.map((b: any) => b.nodeId).join(', ')}, not all of ${brokerIds.join(', ')}`);
}

/** The HTTP port a node bound (from its "listening" log line). */
export function httpPortOf(n: ClusterNodeProcess): number {
  const line = n.output().split('\n').find((l) => l.includes('"event":"listening"'));
  if (line === undefined) throw new Error(`node ${n.id} has not logged "listening"`);
  const http = (JSON.parse(line) as { http: string }).http;
  return Number(http.slice(http.lastIndexOf(':') + 1));
}

/** One acks=all Produce of `records` (a record batch) to `topic`/`partition`; resolves with the partition response. */
export function produceBatch(port: number, topic: string, partition: number, records: Buffer): Promise<any> {
  return withClient(port, async (client) => {
    const r = await client.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    return r.responses[0].partitionResponses[0];
  });
}

/** Every record batch byte a node serves for a partition from offset 0 up to its high watermark (bounded rounds). */
export async function fetchPartition(port: number, topic: string, partition: number, lastOffsetOf: (records: Buffer) => number): Promise<{ errorCode: number; highWatermark: number; records: Buffer }> {
  const chunks: Buffer[] = [];
  let offset = 0;
  let highWatermark = 0;
  for (let round = 0; round < 1000; round++) {
    const fetchOffset = offset;
    const p: any = await withClient(port, async (client) => {
      const r = await client.request(ApiKey.Fetch, 12, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      return r.responses[0].partitions[0];
    });
    if (p.errorCode !== 0) return { errorCode: p.errorCode as number, highWatermark, records: Buffer.concat(chunks) };
    highWatermark = Number(p.highWatermark);
    const records: Buffer = p.records ?? Buffer.alloc(0);
    if (records.length === 0) break;
    chunks.push(records);
    offset = lastOffsetOf(records) + 1;
    if (offset >= highWatermark) break;
  }
  return { errorCode: 0, highWatermark, records: Buffer.concat(chunks) };
}
