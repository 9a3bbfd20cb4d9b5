#!/usr/bin/env node
// Starts and stops a real Apache Kafka broker (KRaft, combined broker+controller) on 127.0.0.1 for benches and e2e suites.
// The jars come from scripts/install/java.sh (.cache/java/lib). Nothing here is a fake: it is the upstream broker.
//
//   node scripts/apache-kafka.mjs start --dir D [--port P] [--controller-port C] [--heap 1g]
//       formats D/data (once) and starts the broker in the background; prints one JSON line
//       {"bootstrap":"127.0.0.1:P","pid":...,"dir":"D","log":"D/kafka.log"} once the broker serves.
//       Ports default to free ephemeral ports. The broker keeps running after this command exits.
//   node scripts/apache-kafka.mjs stop --dir D
//       SIGTERM (then SIGKILL after 30 s) the broker whose pid is in D/kafka.pid.
//
// As a module: `import { startApacheKafka } from './scripts/apache-kafka.mjs'`
//   const kafka = await startApacheKafka({ dir, port?, controllerPort?, heap?, serverProperties? }); kafka.bootstrap; await kafka.stop();
//   const cluster = await startApacheKafkaCluster({ dir, nodes: 3, heap? }); cluster.bootstrap; await cluster.stop();
//       N nodes (broker + controller each) sharing one voter list and cluster id, node i in dir/node-<i>.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const javaLibDir = join(repoRoot, '.cache', 'java', 'lib');
const brokerLog4jConfig = join(repoRoot, 'bench', 'java', 'log4j2-broker.properties');
const startTimeoutMs = 120_000;
const stopTimeoutMs = 30_000;

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). The tiny race with other processes is acceptable for loopback tests. */
export async function freePort() {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Kafka's cluster id format: 16 random bytes, URL-safe base64 without padding. Like Kafka's Uuid.randomUuid, never
 * one starting with '-' (the storage tool would read it as an option).
 */
export function randomClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function requireJars() {
  const brokerJar = existsSync(javaLibDir) && readdirSync(javaLibDir).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
  if (!brokerJar) {
    throw new Error(`Apache Kafka jars missing in ${javaLibDir}: run bash scripts/install/java.sh first`);
  }
}

/**
 * server.properties for one KRaft node in combined mode.
 * voters: [{ nodeId, host, controllerPort }] (one entry for a single node; N for a cluster).
 */
export function nodeProperties({ nodeId, port, controllerPort, dataDir, voters, extra = {} }) {
  const replication = Math.min(3, voters.length);
  const props = {
    'process.roles': 'broker,controller',
    'node.id': String(nodeId),
    'controller.quorum.voters': voters.map((v) => `${v.nodeId}@${v.host}:${v.controllerPort}`).join(','),
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': '1',
    'auto.create.topics.enable': 'true',
    'offsets.topic.replication.factor': String(replication),
    'transaction.state.log.replication.factor': String(replication),
    'transaction.state.log.min.isr': String(Math.min(2, replication)),
    'share.coordinator.state.topic.replication.factor': String(replication),
    'share.coordinator.state.topic.min.isr': String(Math.min(2, replication)),
    'group.initial.rebalance.delay.ms': '0',
    // Everything else (threads, flush policy: no explicit fsync, OS page cache) stays at Kafka's shipped defaults.
    ...extra,
  };
  return Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

function javaArgs(heap, mainClass, args) {
  return [
    `-Xmx${heap}`,
    `-Xms${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${brokerLog4jConfig}`,
    '-cp',
    `${javaLibDir}/*`,
    mainClass,
    ...args,
  ];
}

function formatStorage({ dir, propertiesFile, clusterId }) {
  if (existsSync(join(dir, 'data', 'meta.properties'))) return; // already formatted: keep the data
  const result = spawnSync(
    'java',
    [
      '-Xmx256m',
      `-Dlog4j2.configurationFile=${join(repoRoot, 'bench', 'java', 'log4j2.properties')}`,
      '-cp',
      `${javaLibDir}/*`,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      propertiesFile,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`kafka StorageTool format failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function canConnect(port) {
  return await new Promise((resolveConnect) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the broker log says it started and its client port accepts connections. */
async function waitUntilServing({ pid, port, logFile }) {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) {
      throw new Error(`Apache Kafka (pid ${pid}) exited during start; see ${logFile}:\n${tail(logFile)}`);
    }
    const started = existsSync(logFile) && /Kafka Server started/.test(readFileSync(logFile, 'utf8'));
    if (started && (await canConnect(port))) return;
    await delay(250);
  }
  throw new Error(`Apache Kafka did not serve on 127.0.0.1:${port} within ${startTimeoutMs} ms; see ${logFile}:\n${tail(logFile)}`);
}

function tail(file, lines = 30) {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Starts one single-node KRaft Apache Kafka in `dir` (created if needed). Resolves once it serves. */
export async function startApacheKafka({ dir, port, controllerPort, heap = '1g', serverProperties = {} }) {
  requireJars();
  port ??= await freePort();
  controllerPort ??= await freePort();
  const voters = [{ nodeId: 1, host: '127.0.0.1', controllerPort }];
  const node = await launchNode({ dir: resolve(dir), nodeId: 1, port, controllerPort, voters, clusterId: randomClusterId(), heap, serverProperties });
  await node.serving;
  return node.handle;
}

/**
 * Starts an N-node KRaft Apache Kafka cluster (every node broker + controller, one shared voter list and cluster id)
 * on free loopback ports, node i in `dir/node-<i>` (the same layout as a single node: data/, kafka.log, kafka.pid).
 * Resolves once every node serves: { bootstrap: "h:p,h:p,...", nodes: [handle...], stop() }.
 */
export async function startApacheKafkaCluster({ dir, nodes = 3, heap = '1g', serverProperties = {} }) {
  requireJars();
  dir = resolve(dir);
  const ports = new Set();
  while (ports.size < nodes * 2) ports.add(await freePort());
  const list = [...ports];
  const voters = [...Array(nodes).keys()].map((i) => ({ nodeId: i + 1, host: '127.0.0.1', controllerPort: list[nodes + i] }));
  const clusterIdFile = join(dir, 'cluster-id');
  mkdirSync(dir, { recursive: true });
  const clusterId = existsSync(clusterIdFile) ? readFileSync(clusterIdFile, 'utf8').trim() : randomClusterId();
  writeFileSync(clusterIdFile, clusterId);
  const launched = [];
  try {
    for (let i = 0; i < nodes; i++) {
      launched.push(await launchNode({ dir: join(dir, `node-${i + 1}`), nodeId: i + 1, port: list[i], controllerPort: list[nodes + i], voters, clusterId, heap, serverProperties }));
    }
    // The controllers need a quorum before any broker reports started: wait for all together.
    await Promise.all(launched.map((n) => n.serving));
  } catch (err) {
    await Promise.all(launched.map((n) => n.handle.stop()));
    throw err;
  }
  const handles = launched.map((n) => n.handle);
  return {
    bootstrap: handles.map((h) => h.bootstrap).join(','),
    nodes: handles,
    dir,
    stop: async () => {
      await Promise.all(handles.map((h) => h.stop()));
    },
  };
}

/** Writes one node's properties, formats its storage (once) and spawns it; `serving` resolves once it serves. */
async function launchNode({ dir, nodeId, port, controllerPort, voters, clusterId, heap, serverProperties }) {
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'kafka.pid');
  if (existsSync(pidFile)) {
    const oldPid = Number(readFileSync(pidFile, 'utf8'));
    if (isOurBroker(oldPid, dir)) throw new Error(`an Apache Kafka (pid ${oldPid}) already runs from ${dir}; stop it first`);
  }
  const propertiesFile = join(dir, 'server.properties');
  writeFileSync(propertiesFile, nodeProperties({ nodeId, port, controllerPort, dataDir: join(dir, 'data'), voters, extra: serverProperties }));
  formatStorage({ dir, propertiesFile, clusterId });

  const logFile = join(dir, 'kafka.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn('java', javaArgs(heap, 'kafka.Kafka', [propertiesFile]), {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  writeFileSync(pidFile, String(pid));
  const serving = waitUntilServing({ pid, port, logFile }).catch(async (err) => {
    await stopPid(pid);
    throw err;
  });
  const bootstrap = `127.0.0.1:${port}`;
  return { serving, handle: { bootstrap, port, controllerPort, pid, dir, logFile, stop: () => stopApacheKafka({ dir }) } };
}

async function stopPid(pid) {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + stopTimeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return;
    await delay(200);
  }
  process.kill(pid, 'SIGKILL');
  while (processAlive(pid)) await delay(100);
}

/**
 * Whether `pid` is the Kafka broker started from `dir` (guards against a stale pid file whose pid was reused by an
 * unrelated process). Where /proc is unavailable, a live pid is trusted.
 */
function isOurBroker(pid, dir) {
  if (!processAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(join(dir, 'server.properties'));
  } catch {
    return !existsSync('/proc/self');
  }
}

/** Stops the broker whose pid is recorded in dir/kafka.pid; false when none was running. */
export async function stopApacheKafka({ dir }) {
  dir = resolve(dir);
  const pidFile = join(dir, 'kafka.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad pid file ${pidFile}`);
  const running = isOurBroker(pid, dir);
  if (running) await stopPid(pid);
  rmSync(pidFile, { force: true });
  return running;
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i];
    const value = rest[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`bad argument '${key}'`);
    opts[key.slice(2)] = value;
    i++;
  }
  return { command, opts };
}

function parsePort(text, name) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number, got '${text}'`);
  return n === 0 ? undefined : n;
}

async function main() {
  const usage = 'usage: node scripts/apache-kafka.mjs start --dir D [--port P] [--controller-port C] [--heap 1g] | stop --dir D';
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${err.message}\n${usage}`);
    process.exit(2);
  }
  const { command, opts } = parsed;
  if (!opts.dir || (command !== 'start' && command !== 'stop')) {
    console.error(usage);
    process.exit(2);
  }
  if (command === 'start') {
    const kafka = await startApacheKafka({
      dir: opts.dir,
      port: parsePort(opts.port, 'port'),
      controllerPort: parsePort(opts['controller-port'], 'controller-port'),
      heap: opts.heap ?? '1g',
    });
    console.log(JSON.stringify({ bootstrap: kafka.bootstrap, pid: kafka.pid, dir: kafka.dir, log: kafka.logFile }));
  } else {
    const stopped = await stopApacheKafka({ dir: opts.dir });
    console.log(JSON.stringify({ stopped }));
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`apache-kafka: ${err.message}`);
    process.exit(1);
  });
}
