// docs/OPERATIONS.md, followed literally: the shell blocks of section 1 (three `tributary start` processes and
// SeaweedFS), section 5 (rolling restart), section 7 (rebuilding a wiped node from S3) and section 6 (adding a fourth
// broker, then moving replicas onto it with Kafka's reassignment tool) are taken from the page and run by bash as
// they are, with one change: the page's working directory `.data/ops` becomes this suite's work dir. A producer
// (acks=all, one record per send, client retries off so it sees every error) runs throughout. Passes when the
// producer saw only retriable errors, every acknowledged record is read back exactly once at its offset, the rebuilt
// node restored its replicas from the store, the added node holds replicas, and all replicas end byte-identical.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { SkipSuite } from '../lib/suite.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { sleep } from '../lib/proc.mjs';
import { Kafka, logLevel } from '../lib/kafkajs-helpers.mjs';
import { weedInstalled, WEED_BIN } from '../lib/seaweed-s3.mjs';

const GUIDE = join(repoRoot, 'docs/OPERATIONS.md');
const TOPIC = 'ops';
const BOOTSTRAP = ['127.0.0.1:11092', '127.0.0.1:12092', '127.0.0.1:13092'];
/** The fixed ports the guide's trial cluster uses (Kafka, cluster, HTTP per node; SeaweedFS). */
const GUIDE_PORTS = [11092, 11093, 11644, 12092, 12093, 12644, 13092, 13093, 13644, 14092, 14093, 14644, 18333, 19333, 18080, 18888];

/** The first ```sh block after `heading` in the guide. */
export function shellBlockAfter(markdown, heading) {
  const at = markdown.indexOf(heading);
  if (at < 0) throw new Error(`docs/OPERATIONS.md has no "${heading}"`);
  const start = markdown.indexOf('```sh\n', at);
  const end = markdown.indexOf('\n```\n', start);
  if (start < 0 || end < 0) throw new Error(`no sh block after "${heading}"`);
  return markdown.slice(start + '```sh\n'.length, end) + '\n';
}

/** Every ```sh block after `heading` up to the next `## ` or `### ` heading, in order. */
export function shellBlocksIn(markdown, heading) {
  const at = markdown.indexOf(heading);
  if (at < 0) throw new Error(`docs/OPERATIONS.md has no "${heading}"`);
  const ends = ['\n## ', '\n### '].map((h) => markdown.indexOf(h, at + heading.length)).filter((i) => i >= 0);
  const section = markdown.slice(at, ends.length === 0 ? undefined : Math.min(...ends));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)\n```\n/g)].map((m) => m[1] + '\n');
  if (blocks.length === 0) throw new Error(`no sh block in "${heading}"`);
  return blocks;
}

function portInUse(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs `script` with bash from the repository root (OPS exported); resolves its output, rejects on failure. */
function bash(ctx, name, script, { ops, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: repoRoot, env: { ...process.env, OPS: ops }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      ctx.log(`${name}: exit ${code ?? signal}`);
      if (code === 0) resolve(output);
      else reject(new Error(`${name} failed (${code ?? signal}${signal === 'SIGKILL' ? `, over ${timeoutMs} ms` : ''}):\n${output.slice(-3000)}`));
    });
  });
}

/** Sends one record per request until stopped; every error is recorded (by its root cause) and the send retried. */
function startProbeProducer() {
  const kafka = new Kafka({ clientId: 'ops-guide-probe', brokers: BOOTSTRAP, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3000, requestTimeout: 10_000 });
  const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 0 } });
  const state = { acks: [], errors: new Map(), nonRetriable: [], stop: false };
  const note = (error) => {
    let e = error;
    // With client retries off, kafkajs wraps the broker's error in a "retries exceeded" / "non-retriable" error.
    while ((e.cause ?? e.originalError) && /Retr/.test(e.name)) e = e.cause ?? e.originalError;
    const key = `${e.type ?? e.name}`;
    state.errors.set(key, (state.errors.get(key) ?? 0) + 1);
    if (e.retriable !== true) state.nonRetriable.push(`${key}: ${e.message}`);
  };
  state.done = (async () => {
    for (;;) {
      try {
        await producer.connect();
        break;
      } catch (e) {
        note(e);
        await sleep(200);
      }
    }
    for (let i = 0; !state.stop; i++) {
      const value = `probe-${i}`;
      for (;;) {
        try {
          const [r] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: String(i), value }] });
          state.acks.push({ value, partition: r.partition, offset: Number(r.baseOffset) });
          break;
        } catch (e) {
          note(e);
          await sleep(100);
        }
      }
      await sleep(20);
    }
    await producer.disconnect().catch(() => {});
  })();
  return state;
}

/** Every record of the topic, read from the partition leaders with a group-less consumer per partition. */
async function readTopic(expected) {
  const kafka = new Kafka({ clientId: 'ops-guide-reader', brokers: BOOTSTRAP, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `ops-guide-reader-${Date.now()}` });
  const rows = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void rows.push({ partition, offset: Number(message.offset), value: message.value.toString() }) });
    const deadline = Date.now() + 60_000;
    while (rows.length < expected && Date.now() < deadline) await sleep(200);
    await sleep(1000); // anything beyond the expected count is an extra copy: give it a moment to show
  } finally {
    await consumer.disconnect();
  }
  return rows;
}

export default {
  name: 'operations-guide',
  description: 'docs/OPERATIONS.md sections 1, 5, 7, 6 run as written: cluster start, rolling restart, wiped-node rebuild, adding a broker and moving replicas onto it, producer running',
  timeoutMs: 300_000,
  async run(ctx) {
    const ci = process.env.CI === 'true';
    const missing = !weedInstalled() ? `SeaweedFS (${WEED_BIN})` : !existsSync('/usr/bin/kcat') ? 'kcat' : null;
    if (missing) {
      if (ci) throw new Error(`${missing} is not installed`);
      throw new SkipSuite(`${missing} is not installed`);
    }
    const busy = [];
    for (const port of GUIDE_PORTS) if (await portInUse(port)) busy.push(port);
    if (busy.length > 0) throw new Error(`the guide's fixed ports are in use here: ${busy.join(', ')}`);

    const guide = readFileSync(GUIDE, 'utf8');
    const ops = ctx.path('ops');
    // The one change to the guide's commands: its working directory.
    const start = shellBlockAfter(guide, '### With processes').replace('OPS=.data/ops;', `OPS=${ops};`);
    if (!start.includes(`OPS=${ops};`)) throw new Error('section 1 no longer starts with OPS=.data/ops: update this suite');
    const rolling = shellBlockAfter(guide, '## 5. Rolling restart');
    const rebuild = shellBlockAfter(guide, '## 7. Wiping and rebuilding a node');
    const [addBroker, moveReplicas, ...more] = shellBlocksIn(guide, '## 6. Adding a broker');
    if (moveReplicas === undefined || more.length > 0) throw new Error('section 6 no longer has exactly two sh blocks (start the broker, move replicas): update this suite');
    ctx.onCleanup(() => bash(ctx, 'cleanup', 'for f in $OPS/node-*.pid $OPS/weed.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; true', { ops, timeoutMs: 10_000 }));

    await bash(ctx, 'section 1 (start)', start, { ops, timeoutMs: 120_000 });
    const probe = startProbeProducer();
    ctx.onCleanup(async () => {
      probe.stop = true;
      await probe.done;
    });
    const waitAcks = async (n) => {
      const deadline = Date.now() + 60_000;
      while (probe.acks.length < n && Date.now() < deadline) await sleep(100);
      if (probe.acks.length < n) throw new Error(`producer acknowledged ${probe.acks.length} of ${n} records in 60 s`);
    };
    await waitAcks(100);
    await bash(ctx, 'section 5 (rolling restart)', rolling, { ops, timeoutMs: 120_000 });
    await waitAcks(probe.acks.length + 100);
    const rebuildOut = await bash(ctx, 'section 7 (rebuild a wiped node)', rebuild, { ops, timeoutMs: 120_000 });
    const restoredReplicas = Number(rebuildOut.trim().split('\n').at(-1));
    if (!(restoredReplicas > 0)) throw new Error(`the rebuilt node restored no replica from the store:\n${rebuildOut.slice(-1500)}`);
    ctx.counts.restoredReplicas = restoredReplicas;
    await waitAcks(probe.acks.length + 100);
    // Section 6 last, so sections 5 and 7 run on the three-node cluster they describe.
    const addOut = await bash(ctx, 'section 6 (add broker 4)', addBroker, { ops, timeoutMs: 120_000 });
    const brokersListed = Number(addOut.trim().split('\n').at(-1));
    if (brokersListed !== 4) throw new Error(`after adding node 4, Metadata lists ${brokersListed} brokers:\n${addOut.slice(-1500)}`);
    await waitAcks(probe.acks.length + 50);
    const moveOut = await bash(ctx, 'section 6 (move replicas onto broker 4)', moveReplicas, { ops, timeoutMs: 240_000 });
    const onNode4 = Number(moveOut.trim().split('\n').at(-1));
    if (!(onNode4 > 0)) throw new Error(`no partition has a replica on node 4 after the reassignment:\n${moveOut.slice(-2000)}`);
    ctx.counts.partitionsOnNode4 = onNode4;
    await waitAcks(probe.acks.length + 100);
    probe.stop = true;
    await probe.done;
    ctx.counts.acked = probe.acks.length;
    ctx.counts.errors = [...probe.errors].map(([k, v]) => `${k}:${v}`).join(',') || 'none';
    if (probe.nonRetriable.length > 0) throw new Error(`the producer saw non-retriable errors:\n  ${probe.nonRetriable.slice(0, 10).join('\n  ')}`);

    const rows = await readTopic(probe.acks.length);
    const at = new Map(rows.map((r) => [`${r.partition}/${r.offset}`, r.value]));
    const copies = new Map();
    for (const r of rows) copies.set(r.value, (copies.get(r.value) ?? 0) + 1);
    const lost = probe.acks.filter((a) => at.get(`${a.partition}/${a.offset}`) !== a.value);
    const notOnce = probe.acks.filter((a) => copies.get(a.value) !== 1);
    if (lost.length > 0 || notOnce.length > 0) throw new Error(`${lost.length} acknowledged records missing or moved, ${notOnce.length} not exactly once (of ${probe.acks.length})`);
    ctx.counts.readBack = rows.length;
    const admin = new Kafka({ clientId: 'ops-guide-admin', brokers: BOOTSTRAP, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const replicasOf = new Map();
    try {
      for (const p of (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions) replicasOf.set(p.partitionId, p.replicas);
    } finally {
      await admin.disconnect();
    }

    // The guide's stop line, then every replica of every partition byte for byte.
    await bash(ctx, 'stop', 'kill -TERM $(cat $OPS/node-*.pid); for f in $OPS/node-*.pid; do while kill -0 "$(cat $f)" 2>/dev/null; do sleep 0.2; done; done', { ops, timeoutMs: 60_000 });
    // After the reassignment each partition's replicas are those Metadata names (node 4 among them for some).
    const dirOf = (node, partition) => {
      const root = join(ops, `node-${node}`, 'partitions');
      const name = readdirSync(root).find((d) => new RegExp(`^g\\d+-${TOPIC}-${partition}$`).test(d));
      if (name === undefined) throw new Error(`node ${node} holds no directory of ${TOPIC}-${partition} (replicas ${replicasOf.get(partition)})`);
      return join(root, name);
    };
    if (replicasOf.size === 0) throw new Error(`no partitions of ${TOPIC} in Metadata`);
    for (const [partition, replicas] of replicasOf) {
      const contents = replicas.map((n) => {
        const d = dirOf(n, partition);
        return Buffer.concat(readdirSync(d).filter((f) => f.endsWith('.log')).sort().map((f) => readFileSync(join(d, f))));
      });
      if (!contents.every((c) => c.equals(contents[0]))) throw new Error(`${TOPIC}-${partition}: replicas ${replicas} differ (${contents.map((c) => c.length).join(' / ')} bytes)`);
    }
    if (![...replicasOf.values()].some((r) => r.includes(4))) throw new Error('Metadata names node 4 as a replica of no partition');
    ctx.counts.identicalPartitions = replicasOf.size;
    return ctx.counts;
  },
};
