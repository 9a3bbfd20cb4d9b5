// docker/compose.yaml, run without Docker: each broker service becomes a `tributary start` process with exactly the
// environment the file (over the image's ENV) gives it, every service gets a loopback address of its own (as
// containers get one on their network), published ports become relays on 127.0.0.1 (as Docker publishes them),
// named volumes become directories, and SeaweedFS plays MinIO with the file's credentials and bucket.
// A host client then uses the cluster through the advertised addresses only.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { SkipSuite } from '../lib/suite.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { sleep } from '../lib/proc.mjs';
import { bucketCreation, brokerServiceNames, composeProblems, imageEnvironment, loadCompose, publishedPorts, serviceEnvironment, splitHostPort } from '../lib/compose.mjs';
import { S3ObjectStore } from '../../packages/snapshot/dist/src/index.js';
import { forwardPort } from '../lib/port-forward.mjs';
import { startSeaweedS3, weedInstalled, WEED_BIN } from '../lib/seaweed-s3.mjs';
import { generateRecords } from '../lib/records.mjs';
import { assertDelivery } from '../lib/verify.mjs';
import { Kafka, kafkajsConsumed, logLevel, produceWithAcks } from '../lib/kafkajs-helpers.mjs';
import { CONFIG_VARIABLES } from '../../packages/broker/dist/src/config.js';

const COMPOSE_FILE = join(repoRoot, 'docker/compose.yaml');
const DOCKERFILE = join(repoRoot, 'docker/Dockerfile');
/** Where the Dockerfile puts the repository's files in the image (WORKDIR /app, COPY packages → /app/packages). */
const IMAGE_APP_DIR = '/app';
const RECORDS = 900;
const TOPIC = 'compose-coherence';

/** The Dockerfile's HEALTHCHECK command (exec form), with image paths mapped onto this checkout. */
function healthcheckCommand(dockerfileText) {
  const m = /^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$/m.exec(dockerfileText);
  if (!m) throw new Error('docker/Dockerfile has no HEALTHCHECK in exec form');
  return JSON.parse(m[1]).map((arg) => (arg.startsWith(`${IMAGE_APP_DIR}/`) ? join(repoRoot, arg.slice(IMAGE_APP_DIR.length + 1)) : arg));
}

/** Runs argv with env (and nothing else but PATH); resolves { code, output }. */
function runWithEnv(argv, env, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(argv[0] === 'node' ? process.execPath : argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A quiet kafkajs client bootstrapped from several brokers, as a host application would be. */
function kafkaClient(brokers, clientId) {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 }, connectionTimeout: 5000 });
}

/** Replaces `name` where it is used as a host (`name:port`, `@name:`, `//name:`) by `ip`. */
function mapHost(value, name, ip) {
  return value.replace(new RegExp(`(^|[@/,])${name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}(?=:)`, 'g'), `$1${ip}`);
}

export default {
  name: 'compose-coherence',
  description: 'docker/compose.yaml as processes: 3 brokers with exactly its env, SeaweedFS as MinIO, host clients via published ports, one snapshot round',
  timeoutMs: 240_000,
  async run(ctx) {
    const compose = loadCompose(COMPOSE_FILE);
    const dockerfileText = readFileSync(DOCKERFILE, 'utf8');
    const imageEnv = imageEnvironment(dockerfileText);
    const problems = composeProblems(compose, imageEnv, CONFIG_VARIABLES);
    if (problems.length > 0) throw new Error(`docker/compose.yaml is not coherent:\n  ${problems.join('\n  ')}`);
    ctx.counts.staticProblems = 0;
    if (!weedInstalled()) {
      const reason = `SeaweedFS not installed at ${WEED_BIN} (bash scripts/install/seaweedfs.sh)`;
      if (process.env.CI === 'true') throw new Error(reason);
      throw new SkipSuite(reason);
    }

    // One loopback address per service, in a random 127.x.y.0/24 so parallel runs do not meet.
    const subnet = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const services = Object.keys(compose.services);
    const ipOf = new Map(services.map((name, i) => [name, `${subnet}.${i + 2}`]));
    ctx.log(`service addresses: ${[...ipOf].map(([n, ip]) => `${n}=${ip}`).join(' ')}`);

    // MinIO: SeaweedFS on the MinIO service's address and port, MinIO's root credentials; then the one-shot "mc mb".
    const creation = bucketCreation(compose);
    const minioEnv = serviceEnvironment(compose.services[creation.host]);
    const s3 = await startSeaweedS3({
      ip: ipOf.get(creation.host),
      s3Port: creation.port,
      accessKeyId: minioEnv.MINIO_ROOT_USER,
      secretAccessKey: minioEnv.MINIO_ROOT_PASSWORD,
      dataDir: ctx.path('minio-data'),
    });
    ctx.onCleanup(() => s3.stop());
    await s3.createBucket(creation.bucket, { accessKeyId: creation.accessKeyId, secretAccessKey: creation.secretAccessKey });
    ctx.log(`${creation.service}: bucket ${creation.bucket} created on ${s3.endpoint}`);

    // Published ports: a relay on the host address per mapping; host ports are remapped to free ones (the file's
    // 19092 etc. may be taken here), and so are the advertised addresses that name them.
    const hostAddress = new Map(); // "ip:hostPort" in the file -> "ip:port" on this machine
    for (const name of services) {
      for (const p of publishedPorts(compose.services[name])) {
        const host = p.hostIp === '0.0.0.0' ? '127.0.0.1' : p.hostIp;
        const relay = await forwardPort({ host, port: 0 }, { host: ipOf.get(name), port: p.containerPort });
        ctx.onCleanup(() => relay.close());
        hostAddress.set(`${host}:${p.hostPort}`, `${host}:${relay.port}`);
      }
    }

    // Each broker: image ENV, then the service's environment, with service names resolved to their addresses.
    const brokers = brokerServiceNames(compose).map((name) => {
      const env = { ...imageEnv, ...serviceEnvironment(compose.services[name]) };
      for (const [key, value] of Object.entries(env)) {
        let v = value;
        if (key === 'TRIBUTARY_ADVERTISED_ADDRESS') {
          // Read by clients on the host, which do not resolve service names: only a published port is reachable.
          env[key] = hostAddress.get(v) ?? v;
          continue;
        }
        for (const [service, ip] of ipOf) v = mapHost(v, service, ip);
        if (/_LISTEN$/.test(key)) v = v.replace(/^0\.0\.0\.0:/, `${ipOf.get(name)}:`); // the container's own address
        env[key] = v;
      }
      const volume = compose.services[name].volumes.map((m) => m.split(':')).find(([, target]) => target === env.TRIBUTARY_DATA_DIR)[0];
      env.TRIBUTARY_DATA_DIR = ctx.path(`volume-${volume}`);
      mkdirSync(env.TRIBUTARY_DATA_DIR, { recursive: true });
      return { name, env: { PATH: process.env.PATH, ...env }, proc: null, exited: null };
    });

    // The image's entrypoint is `tributary start`; all brokers start together (a node serves once it has joined).
    const entrypoint = join(repoRoot, 'packages/broker/bin/tributary.js');
    for (const b of brokers) {
      const log = createWriteStream(join(ctx.logDir, `${b.name}.log`));
      b.proc = spawn(process.execPath, [entrypoint, 'start'], { env: b.env, stdio: ['ignore', 'pipe', 'pipe'] });
      b.proc.stdout.pipe(log);
      b.proc.stderr.pipe(log);
      b.exited = new Promise((resolve) => b.proc.once('exit', (code, signal) => resolve({ code, signal })));
      ctx.onCleanup(async () => {
        if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill('SIGKILL');
        await b.exited;
      });
    }

    // Healthy = the image's HEALTHCHECK command, with the container's environment, exits 0.
    const healthcheck = healthcheckCommand(dockerfileText);
    const deadline = Date.now() + 90_000;
    for (const b of brokers) {
      for (;;) {
        const r = await runWithEnv(healthcheck, b.env, 5000);
        if (r.code === 0) break;
        if (b.proc.exitCode !== null) throw new Error(`${b.name} exited (${b.proc.exitCode}); see ${join(ctx.logDir, `${b.name}.log`)}`);
        if (Date.now() > deadline) throw new Error(`${b.name} not healthy after 90 s: ${r.output.trim()}`);
        await sleep(500);
      }
      ctx.log(`${b.name} healthy`);
    }
    ctx.counts.healthyBrokers = brokers.length;

    // A host client: bootstrap from the advertised (published) addresses; Metadata must hand back the same ones.
    const advertised = brokers.map((b) => b.env.TRIBUTARY_ADVERTISED_ADDRESS);
    const admin = kafkaClient(advertised, 'compose-admin').admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      const seen = cluster.brokers.map((b) => `${b.host}:${b.port}`).sort();
      if (seen.join(',') !== [...advertised].sort().join(',')) throw new Error(`Metadata lists ${seen.join(',')}, expected the published ${advertised.join(',')}`);
      // Created with the broker defaults the file sets (-1 = TRIBUTARY_DEFAULT_PARTITIONS / _REPLICATION_FACTOR).
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: -1, replicationFactor: -1 }], waitForLeaders: true, timeout: 30_000 });
      const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      const partitions = md.topics[0].partitions;
      const wantPartitions = Number(brokers[0].env.TRIBUTARY_DEFAULT_PARTITIONS);
      const wantReplicas = Number(brokers[0].env.TRIBUTARY_DEFAULT_REPLICATION_FACTOR);
      if (partitions.length !== wantPartitions || partitions.some((p) => p.replicas.length !== wantReplicas)) {
        throw new Error(`topic has ${partitions.length} partitions with ${partitions.map((p) => p.replicas.length)} replicas; the file says ${wantPartitions} x RF ${wantReplicas}`);
      }
      ctx.counts.partitions = partitions.length;
    } finally {
      await admin.disconnect();
    }

    const records = generateRecords(RECORDS, { seed: 77 });
    const producer = kafkaClient(advertised, 'compose-producer').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let acks;
    try {
      acks = await produceWithAcks(producer, TOPIC, records, { partitions: ctx.counts.partitions, batchSize: 100 });
    } finally {
      await producer.disconnect();
    }
    ctx.counts.acked = acks.length;

    // Bootstrapped from every broker: the metadata leader coordinates the group whichever broker is asked.
    const consumer = kafkaClient(advertised, 'compose-consumer').consumer({ groupId: 'compose-coherence', sessionTimeout: 10_000, heartbeatInterval: 1000 });
    const consumed = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      let done;
      const all = new Promise((resolve) => (done = resolve));
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          consumed.push(kafkajsConsumed(partition, message));
          if (consumed.length >= RECORDS) done();
        },
      });
      await Promise.race([all, sleep(60_000).then(() => Promise.reject(new Error(`consumed ${consumed.length} of ${RECORDS} in 60 s`)))]);
    } finally {
      await consumer.disconnect();
    }
    assertDelivery({ records, acks, consumed });
    ctx.counts.consumed = consumed.length;

    // One snapshot round through the published HTTP ports: every broker uploads to the bucket the file configures.
    for (const b of brokers) {
      const httpPort = splitHostPort(serviceEnvironment(compose.services[b.name]).TRIBUTARY_HTTP_LISTEN ?? imageEnv.TRIBUTARY_HTTP_LISTEN).port;
      const published = publishedPorts(compose.services[b.name]).find((p) => p.containerPort === httpPort);
      if (!published) throw new Error(`${b.name}: HTTP port ${httpPort} is not published`);
      const hostIp = published.hostIp === '0.0.0.0' ? '127.0.0.1' : published.hostIp;
      const url = `http://${hostAddress.get(`${hostIp}:${published.hostPort}`)}/admin/snapshots/trigger`;
      const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(120_000) });
      if (!res.ok) throw new Error(`${b.name}: POST /admin/snapshots/trigger answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }
    const e = brokers[0].env;
    const bucket = new S3ObjectStore({ bucket: e.TRIBUTARY_S3_BUCKET, endpoint: e.TRIBUTARY_S3_ENDPOINT, credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY } });
    const manifests = (await bucket.list('manifests/')).map((o) => o.key);
    for (const b of brokers) {
      if (!manifests.some((key) => key.includes(`.node-${b.env.TRIBUTARY_NODE_ID}/`))) throw new Error(`${b.name}: no snapshot manifest in the bucket (${manifests.length} in all)`);
    }
    ctx.counts.manifests = manifests.length;

    // `docker compose stop`: SIGTERM each container; every broker hands over leadership and exits 0.
    for (const b of brokers) {
      b.proc.kill('SIGTERM');
      const { code, signal } = await b.exited;
      if (code !== 0) throw new Error(`${b.name} exited with ${code ?? signal} on SIGTERM`);
    }
    ctx.counts.cleanStops = brokers.length;
    return ctx.counts;
  },
};
