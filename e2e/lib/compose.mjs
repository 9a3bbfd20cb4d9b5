// Reads docker/compose.yaml and docker/Dockerfile the way Docker would (YAML merge keys, the runtime stage's ENV)
// and checks that they describe a coherent Tributary cluster. Pure: no processes, no network.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** Parsed compose file; `<<` merge keys resolved as Docker Compose resolves them. */
export function loadCompose(path) {
  return parse(readFileSync(path, 'utf8'), { merge: true });
}

/**
 * The environment the image gives every container: ENV of the last stage of the Dockerfile, TRIBUTARY_* and AWS_*
 * only (PATH and NODE_ENV do not configure the broker). Supports `ENV A=1 \` continuation lines, as used there.
 */
export function imageEnvironment(dockerfileText) {
  const lines = dockerfileText.replace(/\\\n/g, ' ').split('\n');
  let env = {};
  for (const raw of lines) {
    const line = raw.trim();
    if (/^FROM\s/i.test(line)) env = {}; // a new stage starts from its base image's environment
    const m = /^ENV\s+(.*)$/i.exec(line);
    if (!m) continue;
    for (const pair of m[1].trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`unsupported ENV form (use NAME=value): ${line}`);
      const name = pair.slice(0, eq);
      if (/^(TRIBUTARY|AWS)_/.test(name)) env[name] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** `environment:` as a map (compose allows a list of NAME=value too); values as strings. */
export function serviceEnvironment(service) {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Published ports "[ip:]host:container" → [{ hostIp, hostPort, containerPort }]. */
export function publishedPorts(service) {
  return (service.ports ?? []).map((spec) => {
    const parts = String(spec).split(':');
    if (parts.length < 2 || parts.length > 3) throw new Error(`unsupported port form "${spec}" (use [ip:]host:container)`);
    const [hostIp, hostPort, containerPort] = parts.length === 3 ? parts : ['0.0.0.0', ...parts];
    return { hostIp, hostPort: Number(hostPort), containerPort: Number(containerPort) };
  });
}

export function splitHostPort(value) {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i), port: Number(value.slice(i + 1)) };
}

/** Broker services: the ones whose environment sets TRIBUTARY_NODE_ID. */
export function brokerServiceNames(compose) {
  return Object.keys(compose.services ?? {}).filter((name) => serviceEnvironment(compose.services[name]).TRIBUTARY_NODE_ID !== undefined);
}

/** The one-shot bucket creation: `mc mb [--ignore-existing] <alias>/<bucket>` with `MC_HOST_<alias>` credentials. */
export function bucketCreation(compose) {
  for (const [name, service] of Object.entries(compose.services ?? {})) {
    const argv = [...[service.entrypoint ?? []].flat(), ...[service.command ?? []].flat()].map(String);
    const mb = argv.indexOf('mb');
    if (argv[0] !== 'mc' || mb < 0) continue;
    const target = argv.slice(mb + 1).find((a) => !a.startsWith('-'));
    const [alias, bucket] = target.split('/');
    const hostUrl = serviceEnvironment(service)[`MC_HOST_${alias}`];
    if (hostUrl === undefined) return { service: name, bucket, problem: `MC_HOST_${alias} is not set` };
    const url = new URL(hostUrl);
    return {
      service: name,
      bucket,
      accessKeyId: decodeURIComponent(url.username),
      secretAccessKey: decodeURIComponent(url.password),
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    };
  }
  return null;
}

/**
 * Everything that must hold for `docker compose up` to give a working cluster that host clients can use.
 * Returns a list of problems (empty = coherent). `configVariables` is the broker's CONFIG_VARIABLES.
 */
export function composeProblems(compose, imageEnv, configVariables) {
  const problems = [];
  const known = new Set(configVariables);
  const services = compose.services ?? {};
  const brokers = brokerServiceNames(compose);
  if (brokers.length < 3) problems.push(`expected at least three broker services, found ${brokers.length}`);
  const env = Object.fromEntries(brokers.map((name) => [name, { ...imageEnv, ...serviceEnvironment(services[name]) }]));
  const nodeIdOf = new Map(brokers.map((name) => [name, Number(env[name].TRIBUTARY_NODE_ID)]));
  if (new Set(nodeIdOf.values()).size !== brokers.length) problems.push('node ids are not unique');

  const creation = bucketCreation(compose);
  if (creation === null) problems.push('no one-shot "mc mb" service creates the bucket');
  else if (creation.problem) problems.push(`${creation.service}: ${creation.problem}`);
  const s3Service = creation && !creation.problem ? services[creation.host] : undefined;
  if (creation && !creation.problem && s3Service === undefined) problems.push(`${creation.service}: the S3 host "${creation.host}" is not a service`);
  const s3Env = s3Service ? serviceEnvironment(s3Service) : {};
  if (s3Service && (s3Env.MINIO_ROOT_USER !== creation.accessKeyId || s3Env.MINIO_ROOT_PASSWORD !== creation.secretAccessKey)) {
    problems.push(`${creation.service}: its credentials are not MinIO's MINIO_ROOT_USER / MINIO_ROOT_PASSWORD`);
  }
  if (s3Service && !s3Service.healthcheck) problems.push(`${creation.host}: no healthcheck (the bucket creation waits for it)`);
  if (creation && !creation.problem && services[creation.service].depends_on?.[creation.host]?.condition !== 'service_healthy') {
    problems.push(`${creation.service}: must depend on ${creation.host} with condition service_healthy`);
  }

  const volumes = compose.volumes ?? {};
  const usedVolumes = new Set();
  for (const name of brokers) {
    const service = services[name];
    const e = env[name];
    const where = (m) => problems.push(`${name}: ${m}`);
    for (const key of Object.keys(serviceEnvironment(service))) {
      if (!/^(TRIBUTARY|AWS)_/.test(key)) where(`${key} is not a TRIBUTARY_* or AWS_* variable`);
      else if (key.startsWith('TRIBUTARY_') && !known.has(key)) where(`${key} is not a variable the broker reads`);
    }
    if (service.command !== undefined || service.entrypoint !== undefined) where('overrides the image command (configure through the environment only)');
    if (!service.build && !service.image) where('has neither build nor image');
    if (creation && services[name].depends_on?.[creation.service]?.condition !== 'service_completed_successfully') {
      where(`must depend on ${creation.service} with condition service_completed_successfully`);
    }
    // Client addresses: what Metadata advertises must be a published port of this container's Kafka listener.
    const kafka = splitHostPort(e.TRIBUTARY_KAFKA_LISTEN ?? '127.0.0.1:9092');
    const ports = publishedPorts(service);
    const kafkaPublished = ports.find((p) => p.containerPort === kafka.port);
    if (!kafkaPublished) where(`Kafka port ${kafka.port} is not published`);
    else {
      const reachableHost = kafkaPublished.hostIp === '0.0.0.0' ? '127.0.0.1' : kafkaPublished.hostIp;
      const advertised = `${reachableHost}:${kafkaPublished.hostPort}`;
      if (e.TRIBUTARY_ADVERTISED_ADDRESS !== advertised) where(`advertises ${e.TRIBUTARY_ADVERTISED_ADDRESS ?? '(nothing)'}, but host clients reach it at ${advertised}`);
    }
    if (!['0.0.0.0', '::'].includes(kafka.host)) where(`Kafka listener ${kafka.host} is not reachable through a published port (listen on 0.0.0.0)`);
    // Peers: every other broker, by service name, at its cluster listener port, with its node id.
    const expectedPeers = brokers
      .filter((other) => other !== name)
      .map((other) => `${nodeIdOf.get(other)}@${other}:${splitHostPort(env[other].TRIBUTARY_CLUSTER_LISTEN ?? '127.0.0.1:9093').port}`)
      .sort();
    const peers = (e.TRIBUTARY_PEERS ?? '').split(',').filter(Boolean).sort();
    if (peers.join(',') !== expectedPeers.join(',')) where(`TRIBUTARY_PEERS is ${peers.join(',') || '(empty)'}, expected ${expectedPeers.join(',')}`);
    if (nodeIdOf.get(name) < 1) where('node ids start at 1 in a cluster');
    // Object store: the bucket the init service creates, on the S3 service, with its credentials.
    if (e.TRIBUTARY_OBJECT_STORE !== 's3') where('TRIBUTARY_OBJECT_STORE must be s3 (nodes share snapshots through the bucket)');
    if (creation && !creation.problem) {
      if (e.TRIBUTARY_S3_BUCKET !== creation.bucket) where(`TRIBUTARY_S3_BUCKET ${e.TRIBUTARY_S3_BUCKET} is not the bucket ${creation.service} creates (${creation.bucket})`);
      const endpoint = e.TRIBUTARY_S3_ENDPOINT ? new URL(e.TRIBUTARY_S3_ENDPOINT) : null;
      if (!endpoint || endpoint.hostname !== creation.host || Number(endpoint.port || 80) !== creation.port) {
        where(`TRIBUTARY_S3_ENDPOINT ${e.TRIBUTARY_S3_ENDPOINT} is not ${creation.host}:${creation.port}`);
      }
      if (e.AWS_ACCESS_KEY_ID !== creation.accessKeyId || e.AWS_SECRET_ACCESS_KEY !== creation.secretAccessKey) where('AWS_* credentials differ from the S3 service\'s');
    }
    // Data on a named volume of its own, mounted where TRIBUTARY_DATA_DIR points.
    const dataDir = e.TRIBUTARY_DATA_DIR;
    const mount = (service.volumes ?? []).map((v) => String(v).split(':')).find(([, target]) => target === dataDir);
    if (!mount) where(`no volume mounted at TRIBUTARY_DATA_DIR (${dataDir})`);
    else if (!(mount[0] in volumes)) where(`${mount[0]} is not a named volume`);
    else if (usedVolumes.has(mount[0])) where(`${mount[0]} is shared with another broker`);
    else usedVolumes.add(mount[0]);
  }
  const clusterIds = new Set(brokers.map((name) => env[name].TRIBUTARY_CLUSTER_ID));
  if (clusterIds.size !== 1) problems.push('brokers do not share one TRIBUTARY_CLUSTER_ID');
  return problems;
}
