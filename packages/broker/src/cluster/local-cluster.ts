// `tributary cluster --nodes N [--joining-nodes M]`: N broker processes on loopback, node ids 1..N (the formation
// nodes: the metadata group's voters), then M more (ids N+1..N+M) that join the running cluster as metadata learners,
// each with its own ports and data directory (<data-dir>/node-<id>), sharing one cluster id (kept in
// <data-dir>/cluster-id) and one local object store for snapshots (<data-dir>/object-store). Prints the bootstrap
// servers once every node serves; SIGINT/SIGTERM stops every node (SIGTERM each, wait for all to exit).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { newClusterId } from '../catalogue/sqlite-catalogue.js';

export interface LocalClusterOptions {
  /** Formation nodes (metadata voters). */
  readonly nodes: number;
  /** Nodes that join the running cluster as metadata learners (started with the others; they retry until it forms). */
  readonly joiningNodes: number;
  readonly dataDir: string;
  readonly kafkaBasePort: number;
  readonly httpBasePort: number;
  readonly clusterBasePort: number;
}

const USAGE = 'usage: tributary cluster --nodes N [--joining-nodes M] [--data-dir DIR] [--kafka-base-port P] [--http-base-port P] [--cluster-base-port P]';
const START_TIMEOUT_MS = 90_000;

/** Parses the arguments after `cluster`; a string is the reason they are bad. */
export function parseLocalClusterArgs(args: readonly string[]): LocalClusterOptions | string {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--experimental-cluster') continue;
    const v = args[i + 1];
    if (!a.startsWith('--') || v === undefined) return `unexpected argument "${a}"\n${USAGE}`;
    values.set(a.slice(2), v);
    i++;
  }
  for (const k of values.keys()) {
    if (!['nodes', 'joining-nodes', 'data-dir', 'kafka-base-port', 'http-base-port', 'cluster-base-port'].includes(k)) return `unknown option --${k}\n${USAGE}`;
  }
  const int = (name: string, dflt: number, min: number, max: number): number | string => {
    const raw = values.get(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max ? n : `--${name}: expected an integer in ${min}..${max}, got "${raw}"`;
  };
  const nodes = int('nodes', Number.NaN, 1, 5);
  const joining = int('joining-nodes', 0, 0, 16);
  if (values.get('nodes') === undefined) return `--nodes is required\n${USAGE}`;
  const kafka = int('kafka-base-port', 9092, 0, 65535);
  const http = int('http-base-port', 9644, 0, 65535);
  const cluster = int('cluster-base-port', 19093, 1, 65535);
  for (const v of [nodes, joining, kafka, http, cluster]) if (typeof v === 'string') return v;
  const n = (nodes as number) + (joining as number);
  for (const [name, base] of [['kafka', kafka], ['http', http], ['cluster', cluster]] as const) {
    if ((base as number) !== 0 && (base as number) + n - 1 > 65535) return `--${name}-base-port: ports ${base as number}..${(base as number) + n - 1} exceed 65535`;
  }
  return {
    nodes: nodes as number,
    joiningNodes: joining as number,
    dataDir: resolve(values.get('data-dir') ?? './.data/cluster'),
    kafkaBasePort: kafka as number,
    httpBasePort: http as number,
    clusterBasePort: cluster as number,
  };
}

const port = (base: number, id: number): number => (base === 0 ? 0 : base + id - 1);

/** The environment of node `id` (1-based). */
export function nodeEnvironment(o: LocalClusterOptions, id: number, clusterId: string): Record<string, string> {
  // Formation nodes list each other; a joining node lists the formation nodes as seeds and as the metadata voters.
  const peers: string[] = [];
  const voters: number[] = [];
  for (let p = 1; p <= o.nodes; p++) {
    voters.push(p);
    if (p !== id) peers.push(`${p}@127.0.0.1:${port(o.clusterBasePort, p)}`);
  }
  return {
    ...(id > o.nodes ? { TRIBUTARY_METADATA_VOTERS: voters.join(',') } : {}),
    TRIBUTARY_NODE_ID: String(id),
    TRIBUTARY_DATA_DIR: join(o.dataDir, `node-${id}`),
    TRIBUTARY_KAFKA_LISTEN: `127.0.0.1:${port(o.kafkaBasePort, id)}`,
    TRIBUTARY_HTTP_LISTEN: `127.0.0.1:${port(o.httpBasePort, id)}`,
    TRIBUTARY_CLUSTER_LISTEN: `127.0.0.1:${port(o.clusterBasePort, id)}`,
    TRIBUTARY_PEERS: peers.join(','),
    TRIBUTARY_CLUSTER_ID: clusterId,
    // One object store for the whole local cluster: a node restores from the snapshots other nodes wrote.
    TRIBUTARY_OBJECT_STORE_DIR: join(o.dataDir, 'object-store'),
  };
}

/** Runs the cluster until a signal; resolves with the exit code. `binPath` is the `tributary` script. */
export async function runLocalCluster(o: LocalClusterOptions, binPath: string): Promise<number> {
  mkdirSync(o.dataDir, { recursive: true });
  const idFile = join(o.dataDir, 'cluster-id');
  const clusterId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : newClusterId();
  writeFileSync(idFile, clusterId);
  const children = new Map<number, ChildProcess>();
  const exited = new Map<number, Promise<void>>();
  let stopping = false;
  const total = o.nodes + o.joiningNodes;
  for (let id = 1; id <= total; id++) {
    const env = nodeEnvironment(o, id, clusterId);
    mkdirSync(env.TRIBUTARY_DATA_DIR!, { recursive: true });
    rmSync(join(env.TRIBUTARY_DATA_DIR!, 'ports.json'), { force: true });
    const child = spawn(process.execPath, [binPath, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.set(id, child);
    exited.set(
      id,
      new Promise((r) =>
        child.once('exit', (code, signal) => {
          children.delete(id);
          if (!stopping) process.stderr.write(`tributary cluster: node ${id} exited (${signal ?? `code ${code}`})\n`);
          r();
        }),
      ),
    );
  }
  let resolveStop: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((r) => (resolveStop = r));
  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const c of children.values()) c.kill('SIGTERM');
    void Promise.all(exited.values()).then(() => resolveStop(0));
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  void Promise.all(exited.values()).then(() => {
    if (!stopping) resolveStop(1); // every node died on its own
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  const bootstrap: string[] = [];
  for (let id = 1; id <= total && !stopping; id++) {
    const file = join(o.dataDir, `node-${id}`, 'ports.json');
    while (!existsSync(file) && Date.now() < deadline && !stopping && children.has(id)) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(file)) {
      if (!stopping) {
        process.stderr.write(`tributary cluster: node ${id} did not start within ${START_TIMEOUT_MS} ms; stopping\n`);
        stopAll();
      }
      await stopped;
      return 1;
    }
    bootstrap.push((JSON.parse(readFileSync(file, 'utf8')) as { advertised: string }).advertised);
  }
  if (!stopping) process.stdout.write(`tributary cluster: ${total} node(s) serving${o.joiningNodes > 0 ? ` (${o.joiningNodes} joined as metadata learners)` : ''}, cluster id ${clusterId}\nbootstrap servers: ${bootstrap.join(',')}\n`);
  return stopped;
}
