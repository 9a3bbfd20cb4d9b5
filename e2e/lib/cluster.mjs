// A local Tributary cluster of N broker processes (`tributary start` with `TRIBUTARY_PEERS`), each with its own data
// dir and loopback ports chosen up front (a restarted node keeps its ports, so clients and peers reconnect), and the
// faults the cluster suites inject: kill -9, restart, SIGSTOP/SIGCONT, graceful stop. It can find the leader of a
// partition (Metadata), wait until the cluster has healed (every partition led, every replica caught up) and read each
// replica's partition log files for the checker (replica-check.mjs).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, run, sleep, terminate } from './proc.mjs';
import { waitUntilServing } from './serving.mjs';
import { repoRoot } from './paths.mjs';
import { createTopic, metadata, withConnection } from './kafka-wire.mjs';

const CLI = join(repoRoot, 'packages/broker/bin/tributary.js');
const HOST = '127.0.0.1';
const PARTITION_DIR = /^g(\d+)-(.+)-(\d+)$/;
const SEGMENT_LOG = /^\d{20}\.log$/;

/** `count` distinct free ports (each probed while the earlier ones are remembered, so no two are equal). */
async function distinctFreePorts(count) {
  const ports = new Set();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export class ClusterNode {
  constructor({ id, dataDir, logFile, ports, env, nodeArgs = [] }) {
    this.id = id;
    this.nodeArgs = nodeArgs;
    this.dataDir = dataDir;
    this.logFile = logFile;
    this.kafkaPort = ports.kafka;
    this.httpPort = ports.http;
    this.clusterPort = ports.cluster;
    this.env = env;
    this.proc = null;
    this.paused = false;
    this.starts = 0;
  }

  get bootstrap() {
    return `${HOST}:${this.kafkaPort}`;
  }

  get running() {
    return this.proc !== null;
  }

  /** Running and not SIGSTOPped: it can answer requests. */
  get serving() {
    return this.proc !== null && !this.paused;
  }

  /** Starts the process on its ports and data dir; resolves once it announces its Kafka listener and accepts connections. */
  async start(timeoutMs = 60_000) {
    if (this.proc) throw new Error(`node ${this.id} already running`);
    mkdirSync(this.dataDir, { recursive: true });
    this.starts++;
    const proc = run(process.execPath, [...this.nodeArgs, CLI, 'start'], { env: this.env, cwd: repoRoot, logFile: this.logFile });
    this.proc = proc;
    this.paused = false;
    proc.exited.then(() => {
      if (this.proc === proc) this.proc = null;
    });
    await waitUntilServing(proc, { host: HOST, kafkaPort: this.kafkaPort, httpPort: this.httpPort, timeoutMs, what: `node ${this.id}`, stillCurrent: () => this.proc === proc });
    return this;
  }

  /** SIGKILL: no flush, no leadership handover. Resolves once the process is gone. */
  async kill9() {
    const proc = this.proc;
    if (!proc) return;
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.proc = null;
    this.paused = false;
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing (a long GC pause / a hung VM). */
  pause() {
    if (!this.proc || this.paused) throw new Error(`node ${this.id} is not running or already paused`);
    this.proc.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume() {
    if (!this.proc || !this.paused) return;
    this.proc.child.kill('SIGCONT');
    this.paused = false;
  }

  /** SIGTERM (graceful: hands leadership over first); SIGKILL after timeoutMs. Returns the exit status. */
  async stop(timeoutMs = 20_000) {
    const proc = this.proc;
    if (!proc) return null;
    this.resume();
    const result = await terminate(proc, timeoutMs);
    this.proc = null;
    return result;
  }

  /** Metadata v7 from this node, or null when it does not answer in time (down, paused, starting). */
  async metadata(topics = null, timeoutMs = 2000) {
    if (!this.serving) return null;
    try {
      return await withConnection(HOST, this.kafkaPort, (c) => metadata(c, topics, timeoutMs), { timeoutMs });
    } catch {
      return null;
    }
  }

  /** Partition directories of `topic` in this node's data dir: Map partition -> dir. */
  partitionDirs(topic) {
    const root = join(this.dataDir, 'partitions');
    const out = new Map();
    if (!existsSync(root)) return out;
    for (const name of readdirSync(root)) {
      const m = PARTITION_DIR.exec(name);
      if (m && m[2] === topic) {
        const partition = Number(m[3]);
        if (out.has(partition)) throw new Error(`node ${this.id}: two directories for ${topic}-${partition} (${out.get(partition)}, ${name})`);
        out.set(partition, join(root, name));
      }
    }
    return out;
  }

  /** Segment files of one partition directory, by base offset: [{ name, bytes }]. */
  static readSegments(dir) {
    return readdirSync(dir)
      .filter((n) => SEGMENT_LOG.test(n))
      .sort()
      .map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
  }

  /** Total bytes of a partition directory's segment files (cheap: stat only). */
  static segmentBytes(dir) {
    if (!existsSync(dir)) return -1;
    return readdirSync(dir)
      .filter((n) => SEGMENT_LOG.test(n))
      .reduce((s, n) => s + statSync(join(dir, n)).size, 0);
  }
}

export class LocalCluster {
  /**
   * @param {{ nodes: number, workDir: string, logDir: string, env?: Record<string,string>, clusterId?: string,
   *           log?: (msg: string) => void, nodeArgs?: string[] }} o   nodeArgs: node flags (e.g. --cpu-prof)
   */
  constructor(o) {
    /** The formation nodes (the metadata group's voters); nodes added later (addNode) join as learners. */
    this.size = o.nodes;
    this.workDir = o.workDir;
    this.logDir = o.logDir;
    this.extraEnv = o.env ?? {};
    this.clusterId = o.clusterId ?? `E2eCluster${Date.now().toString(36)}`;
    this.log = o.log ?? (() => {});
    this.nodeArgs = o.nodeArgs ?? [];
    this.nodes = [];
  }

  /** Chooses every node's ports, then starts all nodes together (the metadata group needs a quorum to serve). */
  async start(timeoutMs = 90_000) {
    for (let attempt = 1; ; attempt++) {
      await this.prepare();
      try {
        await Promise.all(this.nodes.map((n) => n.start(timeoutMs)));
        break;
      } catch (e) {
        // A port probed free was taken by another process before the node bound it (a shared machine): start the
        // whole cluster again on new ports (peers' addresses are part of every node's configuration), bounded.
        await this.killAll();
        if (attempt >= 3 || !/EADDRINUSE/.test(e.message)) throw e;
        this.log(`a chosen port was taken before the nodes bound it (attempt ${attempt}); starting again on new ports`);
        this.nodes = [];
        rmSync(this.workDir, { recursive: true, force: true });
      }
    }
    await this.waitForBrokers(timeoutMs);
    this.log(`cluster of ${this.size} serving: ${this.bootstrap}`);
    return this;
  }

  /** Chooses every node's ports and environment without starting anything (for tests that start nodes one by one). */
  async prepare() {
    if (this.nodes.length > 0) return this;
    const ports = await distinctFreePorts(this.size * 3);
    const at = (id) => ({ kafka: ports[(id - 1) * 3], http: ports[(id - 1) * 3 + 1], cluster: ports[(id - 1) * 3 + 2] });
    for (let id = 1; id <= this.size; id++) {
      const peers = [];
      for (let p = 1; p <= this.size; p++) if (p !== id) peers.push(`${p}@${HOST}:${at(p).cluster}`);
      // The voters named explicitly (the default for formation nodes anyway): with one node there are no peers, and
      // TRIBUTARY_METADATA_VOTERS is what keeps it in cluster mode (a one-node cluster, single-voter Raft groups).
      const voters = Array.from({ length: this.size }, (_, i) => i + 1).join(',');
      this.nodes.push(this.makeNode(id, at(id), { TRIBUTARY_PEERS: peers.join(','), TRIBUTARY_METADATA_VOTERS: voters }));
    }
    return this;
  }

  makeNode(id, ports, clusterEnv) {
    const dataDir = join(this.workDir, `node-${id}`);
    const env = {
      TRIBUTARY_NODE_ID: String(id),
      TRIBUTARY_DATA_DIR: dataDir,
      TRIBUTARY_KAFKA_LISTEN: `${HOST}:${ports.kafka}`,
      TRIBUTARY_HTTP_LISTEN: `${HOST}:${ports.http}`,
      TRIBUTARY_CLUSTER_LISTEN: `${HOST}:${ports.cluster}`,
      ...clusterEnv,
      TRIBUTARY_CLUSTER_ID: this.clusterId,
      // Snapshots of one node must be readable by the others (a lagging or wiped node bootstraps from them): one
      // local object store directory for the whole cluster, as on a single machine in production.
      TRIBUTARY_OBJECT_STORE_DIR: join(this.workDir, 'object-store'),
      TRIBUTARY_LOG_LEVEL: 'info',
      ...this.extraEnv,
    };
    return new ClusterNode({ id, dataDir, logFile: join(this.logDir, `node-${id}.log`), ports, env, nodeArgs: this.nodeArgs });
  }

  /**
   * Starts one more node (the next id) that joins the running cluster: its TRIBUTARY_PEERS names only `seeds` (node
   * ids, default the first formation node) and TRIBUTARY_METADATA_VOTERS the formation nodes, so it joins the metadata
   * group as a learner. Resolves once every node's Metadata lists it.
   */
  async addNode({ seeds = [1], env = {}, timeoutMs = 60_000 } = {}) {
    const id = this.nodes.length + 1;
    const taken = new Set(this.nodes.flatMap((n) => [n.kafkaPort, n.httpPort, n.clusterPort]));
    const ports = (await distinctFreePorts(3 + taken.size)).filter((p) => !taken.has(p)).slice(0, 3);
    const node = this.makeNode(id, { kafka: ports[0], http: ports[1], cluster: ports[2] }, {
      TRIBUTARY_PEERS: seeds.map((s) => `${s}@${HOST}:${this.node(s).clusterPort}`).join(','),
      TRIBUTARY_METADATA_VOTERS: Array.from({ length: this.size }, (_, i) => i + 1).join(','),
    });
    Object.assign(node.env, env);
    this.nodes.push(node);
    await node.start(timeoutMs);
    await this.waitForBrokers(timeoutMs);
    this.log(`node ${id} joined: ${this.bootstrap}`);
    return node;
  }

  node(id) {
    const n = this.nodes[id - 1];
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get bootstrap() {
    return this.nodes.map((n) => n.bootstrap).join(',');
  }

  /** Every node lists every node (formation and added) as a live registered broker. */
  async waitForBrokers(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answers = await Promise.all(this.nodes.map((n) => n.metadata()));
      if (answers.every((md) => md !== null && md.brokers.length === this.nodes.length)) return;
      if (Date.now() > deadline) throw new Error(`brokers not all registered within ${timeoutMs} ms: ${answers.map((md) => md?.brokers.length ?? 'no answer').join(', ')}`);
      await sleep(200);
    }
  }

  /** Metadata from the first serving node that answers (nodes in the given order). */
  async anyMetadata(topics = null, order = this.nodes) {
    for (const n of order) {
      const md = await n.metadata(topics);
      if (md) return md;
    }
    return null;
  }

  /**
   * The leader of each partition of `topic`, as the serving replicas see it: a node counts as leader when it
   * reports itself as leader (its Raft role), and among several claims the highest epoch wins (a paused
   * old leader may still believe it leads). Returns Map partition -> { leader, epoch, replicas, isr } (leader -1 = none).
   */
  async leaders(topic) {
    const answers = await Promise.all(this.nodes.map(async (n) => ({ id: n.id, md: await n.metadata([topic]) })));
    const out = new Map();
    for (const { id, md } of answers) {
      const t = md?.topics.find((x) => x.name === topic);
      for (const p of t?.partitions ?? []) {
        const cur = out.get(p.partition) ?? { leader: -1, epoch: -1, replicas: p.replicas, isr: [] };
        if (p.leader === id && p.leaderEpoch > cur.epoch) out.set(p.partition, { leader: id, epoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr });
        else if (!out.has(p.partition)) out.set(p.partition, cur);
      }
    }
    return out;
  }

  async leaderOf(topic, partition) {
    return (await this.leaders(topic)).get(partition)?.leader ?? -1;
  }

  /** Creates a topic through any serving node and waits until every partition has a leader. */
  async createTopic(create, { viaNode = 1, timeoutMs = 30_000 } = {}) {
    const n = this.node(viaNode);
    const r = await withConnection(HOST, n.kafkaPort, (c) => createTopic(c, create));
    if (r.errorCode !== 0) throw new Error(`CreateTopics ${create.name}: error ${r.errorCode} ${r.message ?? ''}`);
    await this.waitForLeaders(create.name, create.partitions, timeoutMs);
  }

  async waitForLeaders(topic, partitions, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ls = await this.leaders(topic);
      const missing = [];
      for (let p = 0; p < partitions; p++) if ((ls.get(p)?.leader ?? -1) < 0) missing.push(p);
      if (missing.length === 0) return ls;
      if (Date.now() > deadline) throw new Error(`${topic}: partitions ${missing.join(',')} have no leader after ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  /**
   * Healed: every node running and serving; every partition of `topic` has a leader that every replica agrees on
   * (same leader and epoch), whose ISR is all replicas; and every replica's segment files hold the same number of
   * bytes. Holds for two polls in a row (`settleMs` apart). Returns the leaders map.
   */
  async waitHealed(topic, partitions, { timeoutMs = 60_000, settleMs = 1000 } = {}) {
    for (const n of this.nodes) {
      if (n.paused) n.resume();
      if (!n.running) await n.start();
    }
    const deadline = Date.now() + timeoutMs;
    let okPolls = 0;
    let why = '';
    for (;;) {
      const answers = await Promise.all(this.nodes.map(async (n) => ({ n, md: await n.metadata([topic]) })));
      const ls = await this.leaders(topic);
      why = '';
      for (let p = 0; p < partitions && why === ''; p++) {
        const l = ls.get(p);
        if (!l || l.leader < 0) why = `partition ${p} has no leader`;
        else if ([...l.replicas].sort().join() !== [...l.isr].sort().join()) why = `partition ${p}: ISR [${l.isr}] of replicas [${l.replicas}]`;
        else {
          for (const { n, md } of answers) {
            if (!l.replicas.includes(n.id)) continue;
            const mp = md?.topics.find((x) => x.name === topic)?.partitions.find((x) => x.partition === p);
            if (!mp || mp.leader !== l.leader || mp.leaderEpoch !== l.epoch) {
              why = `partition ${p}: node ${n.id} sees leader ${mp?.leader}/${mp?.leaderEpoch}, not ${l.leader}/${l.epoch}`;
              break;
            }
          }
          if (why === '') {
            const sizes = l.replicas.map((id) => ClusterNode.segmentBytes(this.node(id).partitionDirs(topic).get(p) ?? ''));
            if (new Set(sizes).size !== 1) why = `partition ${p}: replica log sizes ${l.replicas.map((id, i) => `${id}=${sizes[i]}`).join(' ')}`;
          }
        }
      }
      if (why === '') {
        if (++okPolls >= 2) return ls;
      } else okPolls = 0;
      if (Date.now() > deadline) throw new Error(`cluster not healed within ${timeoutMs} ms: ${why}`);
      await sleep(okPolls > 0 ? settleMs : 300);
    }
  }

  /** Graceful stop of every node (in parallel); returns [{id, code, signal}]. */
  async stopAll() {
    return Promise.all(this.nodes.map(async (n) => ({ id: n.id, ...((await n.stop()) ?? { code: null }) })));
  }

  /** Last resort in cleanup: SIGKILL whatever still runs (SIGCONT first is not needed for SIGKILL). */
  async killAll() {
    await Promise.all(this.nodes.map((n) => n.kill9()));
  }

  /**
   * Every replica's segment files of `topic` (nodes must be stopped, so the files are complete and quiet):
   * Map partition -> Map nodeId -> [{ name, bytes }]. `assignments` (partition -> replica ids) decides which nodes
   * must hold a copy; a replica without a directory gets an empty list (the checker reports it).
   */
  readReplicaLogs(topic, assignments) {
    const out = new Map();
    for (const [partition, replicas] of assignments) {
      const byNode = new Map();
      for (const id of replicas) {
        const dir = this.node(id).partitionDirs(topic).get(partition);
        byNode.set(id, dir === undefined ? null : ClusterNode.readSegments(dir));
      }
      out.set(partition, byNode);
    }
    return out;
  }
}
