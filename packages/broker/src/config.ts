// Node configuration: every environment variable the broker reads is parsed and validated here, and only here.
// A bad value is reported as one line naming the variable and the reason; the CLI prints them and exits 2.
import { resolve, join } from 'node:path';
import { z } from 'zod';

export type CliMode = 'dev' | 'start';
export type FsyncPolicy = 'always' | 'interval' | 'never';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface PeerAddress extends HostPort {
  readonly nodeId: number;
}

export interface S3Config {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly forcePathStyle: boolean;
}

export interface SnapshotConfig {
  readonly enabled: boolean;
  readonly logThreshold: number;
  readonly timeThresholdSecs: number;
  readonly maxConcurrent: number;
  readonly compression: 'gzip' | 'none';
  readonly retentionCount: number;
  readonly intervalSecs: number;
}

export interface LogDefaults {
  readonly segmentBytesMax: number;
  readonly segmentMsMax: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly indexIntervalBytes: number;
  readonly messageMaxBytes: number;
}

export interface ConsumerGroupSettings {
  /** Kafka: group.initial.rebalance.delay.ms. */
  readonly initialRebalanceDelayMs: number;
  /** Kafka: group.min.session.timeout.ms / group.max.session.timeout.ms. */
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** Kafka: offsets.retention.minutes, in ms. */
  readonly offsetsRetentionMs: number;
}

export interface BrokerConfig {
  readonly mode: CliMode;
  readonly nodeId: number;
  readonly kafkaListen: HostPort;
  /** What Metadata tells clients; undefined = the host of kafkaListen and the port actually bound. */
  readonly advertisedAddress: HostPort | undefined;
  readonly clusterListen: HostPort;
  /**
   * The cluster address other nodes reach this node at, registered in the metadata group (so nodes whose
   * TRIBUTARY_PEERS never named it still find it); undefined = the listen address, unless that is a wildcard.
   */
  readonly clusterAdvertisedAddress: HostPort | undefined;
  /**
   * Cluster mode (the catalogue and every partition are Raft groups): TRIBUTARY_PEERS or TRIBUTARY_METADATA_VOTERS is
   * set. TRIBUTARY_METADATA_VOTERS=<this node> without peers forms a one-node cluster: every partition a single-voter
   * Raft group, the replicated code path with nothing to replicate to (a baseline for replication's cost).
   */
  readonly clusterMode: boolean;
  /** Cluster mode: the nodes this one contacts at start (all of them at formation; a few seeds when joining). */
  readonly peers: readonly PeerAddress[];
  /**
   * Cluster mode: the voters the metadata Raft group was formed with (TRIBUTARY_METADATA_VOTERS; default this node and
   * its peers). A node listed here forms the cluster; a node not listed joins a running one as a learner.
   */
  readonly metadataVoters: readonly number[];
  readonly httpListen: HostPort;
  readonly dataDir: string;
  readonly defaultPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly autoCreateTopics: boolean;
  readonly objectStore: 'local' | 's3';
  readonly objectStoreDir: string;
  /** TRIBUTARY_OBJECT_STORE_DIR was set (not the per-node default `<dataDir>/object-store`). */
  readonly objectStoreDirConfigured: boolean;
  readonly s3: S3Config | undefined;
  readonly snapshot: SnapshotConfig;
  /** Cluster mode: size at which the Raft WAL starts a new segment file (compaction deletes whole segments only). */
  readonly raftSegmentBytesMax: number;
  readonly fsyncPolicy: FsyncPolicy;
  readonly flushIntervalMs: number;
  readonly socketRequestMaxBytes: number;
  readonly log: LogDefaults;
  readonly retentionCheckIntervalMs: number;
  /** Idempotent-producer state is forgotten this long after the producer's last batch (Kafka: producer.id.expiration.ms). */
  readonly producerIdExpirationMs: number;
  readonly consumerGroups: ConsumerGroupSettings;
  /** Cluster mode: a follower not caught up to the leader's log of this long ago, or not heard from as long, leaves the ISR. */
  readonly replicaLagTimeMs: number;
  /**
   * Cluster mode: Raft election timeout (a follower that hears no leader this long campaigns; a leader that hears
   * from no majority this long steps down). Counted in 100 ms host ticks.
   */
  readonly raftElectionTimeoutMs: number;
  /** Cluster mode: how often each broker moves the leadership of partitions it leads to their preferred replica (0 = never). */
  readonly leaderBalanceIntervalMs: number;
  /** Cluster mode: a broker whose heartbeats the metadata leader has not received for this long is fenced (Kafka: broker.session.timeout.ms). */
  readonly brokerSessionTimeoutMs: number;
  /** Cluster mode: how often each broker heartbeats to the metadata leader (Kafka: broker.heartbeat.interval.ms). */
  readonly brokerHeartbeatIntervalMs: number;
  readonly logLevel: LogLevel;
  /** undefined = generate one on first start and keep it in the catalogue. */
  readonly clusterId: string | undefined;
}

export type ConfigResult = { ok: true; config: BrokerConfig } | { ok: false; errors: string[] };

/** One entry per variable: its default (per mode) and what it means. The README table is written from this list. */
export const CONFIG_VARIABLES = [
  'TRIBUTARY_NODE_ID',
  'TRIBUTARY_KAFKA_LISTEN',
  'TRIBUTARY_ADVERTISED_ADDRESS',
  'TRIBUTARY_CLUSTER_LISTEN',
  'TRIBUTARY_CLUSTER_ADVERTISED_ADDRESS',
  'TRIBUTARY_PEERS',
  'TRIBUTARY_METADATA_VOTERS',
  'TRIBUTARY_HTTP_LISTEN',
  'TRIBUTARY_DATA_DIR',
  'TRIBUTARY_DEFAULT_PARTITIONS',
  'TRIBUTARY_DEFAULT_REPLICATION_FACTOR',
  'TRIBUTARY_AUTO_CREATE_TOPICS',
  'TRIBUTARY_OBJECT_STORE',
  'TRIBUTARY_OBJECT_STORE_DIR',
  'TRIBUTARY_S3_BUCKET',
  'TRIBUTARY_S3_PREFIX',
  'TRIBUTARY_S3_ENDPOINT',
  'TRIBUTARY_S3_REGION',
  'TRIBUTARY_S3_FORCE_PATH_STYLE',
  'TRIBUTARY_SNAPSHOT_ENABLED',
  'TRIBUTARY_SNAPSHOT_LOG_THRESHOLD',
  'TRIBUTARY_SNAPSHOT_TIME_THRESHOLD_SECS',
  'TRIBUTARY_SNAPSHOT_MAX_CONCURRENT',
  'TRIBUTARY_SNAPSHOT_COMPRESSION',
  'TRIBUTARY_SNAPSHOT_RETENTION_COUNT',
  'TRIBUTARY_SNAPSHOT_INTERVAL_SECS',
  'TRIBUTARY_RAFT_SEGMENT_BYTES',
  'TRIBUTARY_FSYNC_POLICY',
  'TRIBUTARY_FLUSH_INTERVAL_MS',
  'TRIBUTARY_SOCKET_REQUEST_MAX_BYTES',
  'TRIBUTARY_MESSAGE_MAX_BYTES',
  'TRIBUTARY_LOG_SEGMENT_BYTES',
  'TRIBUTARY_LOG_SEGMENT_MS',
  'TRIBUTARY_LOG_INDEX_INTERVAL_BYTES',
  'TRIBUTARY_LOG_RETENTION_MS',
  'TRIBUTARY_LOG_RETENTION_BYTES',
  'TRIBUTARY_LOG_RETENTION_CHECK_INTERVAL_MS',
  'TRIBUTARY_PRODUCER_ID_EXPIRATION_MS',
  'TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS',
  'TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS',
  'TRIBUTARY_GROUP_MAX_SESSION_TIMEOUT_MS',
  'TRIBUTARY_OFFSETS_RETENTION_MINUTES',
  'TRIBUTARY_REPLICA_LAG_TIME_MS',
  'TRIBUTARY_LEADER_BALANCE_INTERVAL_MS',
  'TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS',
  'TRIBUTARY_BROKER_SESSION_TIMEOUT_MS',
  'TRIBUTARY_BROKER_HEARTBEAT_INTERVAL_MS',
  'TRIBUTARY_LOG_LEVEL',
  'TRIBUTARY_CLUSTER_ID',
] as const;

export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

const INT32_MAX = 2147483647;
/** Smallest TRIBUTARY_RAFT_SEGMENT_BYTES accepted (64 KiB). */
export const RAFT_SEGMENT_BYTES_MIN = 64 * 1024;

function parseHostPort(value: string): HostPort | string {
  // host:port, [v6]:port
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value);
  const plain = /^([^:[\]]+):(\d{1,5})$/.exec(value);
  const match = bracketed ?? plain;
  if (!match) return 'expected host:port (IPv6 as [addr]:port)';
  const port = Number(match[2]);
  if (port > 65535) return `port ${port} is out of range 0-65535`;
  return { host: match[1]!, port };
}

const hostPort = z.string().transform((value, ctx) => {
  const parsed = parseHostPort(value.trim());
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${parsed}, got "${value}"` });
    return z.NEVER;
  }
  return parsed;
});

function intIn(min: number, max: number) {
  return z.string().transform((value, ctx) => {
    const trimmed = value.trim();
    if (!/^-?\d+$/.test(trimmed)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an integer, got "${value}"` });
      return z.NEVER;
    }
    const n = Number(trimmed);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an integer in ${min}..${max}, got ${trimmed}` });
      return z.NEVER;
    }
    return n;
  });
}

const bool = z.string().transform((value, ctx) => {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected true or false, got "${value}"` });
  return z.NEVER;
});

function oneOf<T extends string>(values: readonly [T, ...T[]]) {
  return z.string().transform((value, ctx) => {
    const v = value.trim().toLowerCase();
    if ((values as readonly string[]).includes(v)) return v as T;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected one of ${values.join(' | ')}, got "${value}"` });
    return z.NEVER;
  });
}

const peers = z.string().transform((value, ctx) => {
  const out: PeerAddress[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const at = part.indexOf('@');
    const id = at > 0 ? Number(part.slice(0, at)) : NaN;
    const addr = at > 0 ? parseHostPort(part.slice(at + 1)) : 'missing "id@"';
    if (!Number.isInteger(id) || id < 0 || id > INT32_MAX || typeof addr === 'string') {
      const why = typeof addr === 'string' ? addr : 'node id must be a non-negative integer';
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `entry "${part}": ${why} (format id@host:port,...)` });
      return z.NEVER;
    }
    out.push({ nodeId: id, ...addr });
  }
  return out;
});

const nodeIdList = z.string().transform((value, ctx) => {
  const out: number[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const id = /^[0-9]+$/.test(part) ? Number(part) : NaN;
    if (!Number.isInteger(id) || id < 1 || id > INT32_MAX) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `entry "${part}": node ids are integers >= 1 (format id,id,...)` });
      return z.NEVER;
    }
    if (out.includes(id)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `node id ${id} appears twice` });
      return z.NEVER;
    }
    out.push(id);
  }
  return out.sort((a, b) => a - b);
});

const clusterId = z.string().transform((value, ctx) => {
  const v = value.trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected 1-64 characters of [A-Za-z0-9_-], got "${value}"` });
    return z.NEVER;
  }
  return v;
});

const nonEmpty = z.string().transform((value, ctx) => {
  const v = value.trim();
  if (v.length === 0) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must not be empty' });
    return z.NEVER;
  }
  return v;
});

const url = z.string().transform((value, ctx) => {
  try {
    const u = new URL(value.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    return u.toString();
  } catch {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an http(s) URL, got "${value}"` });
    return z.NEVER;
  }
});

const DAY_MS = 24 * 60 * 60 * 1000;

/** Parsers per variable. Each is optional: absent or empty means "use the default". */
const schema = z.object({
  TRIBUTARY_NODE_ID: intIn(0, INT32_MAX).optional(),
  TRIBUTARY_KAFKA_LISTEN: hostPort.optional(),
  TRIBUTARY_ADVERTISED_ADDRESS: hostPort.optional(),
  TRIBUTARY_CLUSTER_LISTEN: hostPort.optional(),
  TRIBUTARY_CLUSTER_ADVERTISED_ADDRESS: hostPort.optional(),
  TRIBUTARY_PEERS: peers.optional(),
  TRIBUTARY_METADATA_VOTERS: nodeIdList.optional(),
  TRIBUTARY_HTTP_LISTEN: hostPort.optional(),
  TRIBUTARY_DATA_DIR: nonEmpty.optional(),
  TRIBUTARY_DEFAULT_PARTITIONS: intIn(1, 100000).optional(),
  TRIBUTARY_DEFAULT_REPLICATION_FACTOR: intIn(1, 32767).optional(),
  TRIBUTARY_AUTO_CREATE_TOPICS: bool.optional(),
  TRIBUTARY_OBJECT_STORE: oneOf(['local', 's3'] as const).optional(),
  TRIBUTARY_OBJECT_STORE_DIR: nonEmpty.optional(),
  TRIBUTARY_S3_BUCKET: nonEmpty.optional(),
  TRIBUTARY_S3_PREFIX: z.string().optional(),
  TRIBUTARY_S3_ENDPOINT: url.optional(),
  TRIBUTARY_S3_REGION: nonEmpty.optional(),
  TRIBUTARY_S3_FORCE_PATH_STYLE: bool.optional(),
  TRIBUTARY_SNAPSHOT_ENABLED: bool.optional(),
  TRIBUTARY_SNAPSHOT_LOG_THRESHOLD: intIn(1, Number.MAX_SAFE_INTEGER).optional(),
  TRIBUTARY_SNAPSHOT_TIME_THRESHOLD_SECS: intIn(1, Number.MAX_SAFE_INTEGER).optional(),
  TRIBUTARY_SNAPSHOT_MAX_CONCURRENT: intIn(1, 1024).optional(),
  TRIBUTARY_SNAPSHOT_COMPRESSION: oneOf(['gzip', 'none'] as const).optional(),
  TRIBUTARY_SNAPSHOT_RETENTION_COUNT: intIn(1, 1000000).optional(),
  TRIBUTARY_SNAPSHOT_INTERVAL_SECS: intIn(1, 86400).optional(),
  // At least 64 KiB: a segment must hold a few entries, and thousands of tiny files would cost more than they free.
  TRIBUTARY_RAFT_SEGMENT_BYTES: intIn(RAFT_SEGMENT_BYTES_MIN, INT32_MAX).optional(),
  TRIBUTARY_FSYNC_POLICY: oneOf(['always', 'interval', 'never'] as const).optional(),
  TRIBUTARY_FLUSH_INTERVAL_MS: intIn(1, DAY_MS).optional(),
  TRIBUTARY_SOCKET_REQUEST_MAX_BYTES: intIn(1024, INT32_MAX).optional(),
  TRIBUTARY_MESSAGE_MAX_BYTES: intIn(64, INT32_MAX).optional(),
  TRIBUTARY_LOG_SEGMENT_BYTES: intIn(1024, INT32_MAX).optional(),
  TRIBUTARY_LOG_SEGMENT_MS: intIn(1, Number.MAX_SAFE_INTEGER).optional(),
  TRIBUTARY_LOG_INDEX_INTERVAL_BYTES: intIn(1, INT32_MAX).optional(),
  TRIBUTARY_LOG_RETENTION_MS: intIn(-1, Number.MAX_SAFE_INTEGER).optional(),
  TRIBUTARY_LOG_RETENTION_BYTES: intIn(-1, Number.MAX_SAFE_INTEGER).optional(),
  TRIBUTARY_LOG_RETENTION_CHECK_INTERVAL_MS: intIn(10, DAY_MS).optional(),
  TRIBUTARY_PRODUCER_ID_EXPIRATION_MS: intIn(1000, Number.MAX_SAFE_INTEGER).optional(),
  TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS: intIn(0, 300000).optional(),
  TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS: intIn(1, INT32_MAX).optional(),
  TRIBUTARY_GROUP_MAX_SESSION_TIMEOUT_MS: intIn(1, INT32_MAX).optional(),
  TRIBUTARY_OFFSETS_RETENTION_MINUTES: intIn(1, 1000 * 365 * 24 * 60).optional(),
  TRIBUTARY_REPLICA_LAG_TIME_MS: intIn(500, DAY_MS).optional(),
  TRIBUTARY_LEADER_BALANCE_INTERVAL_MS: intIn(0, DAY_MS).optional(),
  TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS: intIn(300, 60_000).optional(),
  TRIBUTARY_BROKER_SESSION_TIMEOUT_MS: intIn(500, DAY_MS).optional(),
  TRIBUTARY_BROKER_HEARTBEAT_INTERVAL_MS: intIn(50, DAY_MS).optional(),
  TRIBUTARY_LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const).optional(),
  TRIBUTARY_CLUSTER_ID: clusterId.optional(),
});

export const DEFAULTS = {
  /** The Raft WAL's own default segment size (packages/raft FileWal). */
  raftSegmentBytesMax: 64 * 1024 * 1024,
  kafkaListen: '127.0.0.1:9092',
  clusterListen: '127.0.0.1:9093',
  httpListen: '127.0.0.1:9644',
  devDataDir: '.data/dev',
  defaultPartitions: 1,
  defaultReplicationFactor: 1,
  autoCreateTopics: true,
  fsyncPolicy: 'always' as FsyncPolicy,
  flushIntervalMs: 1000,
  socketRequestMaxBytes: 104857600,
  messageMaxBytes: 1048588,
  segmentBytesMax: 1073741824,
  segmentMsMax: 7 * DAY_MS,
  indexIntervalBytes: 4096,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  retentionCheckIntervalMs: 300000,
  producerIdExpirationMs: DAY_MS,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1800000,
  offsetsRetentionMinutes: 7 * 24 * 60,
  replicaLagTimeMs: 10000,
  leaderBalanceIntervalMs: 30000,
  raftElectionTimeoutMs: 1000,
  brokerSessionTimeoutMs: 9000,
  brokerHeartbeatIntervalMs: 2000,
} as const;

/**
 * Parses the node configuration from `env` (default: the process environment).
 * `cwd` resolves relative paths (dev keeps its data under `<cwd>/.data/dev`).
 */
export function loadConfig(mode: CliMode, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ConfigResult {
  const raw: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') raw[name] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      return `${name}: ${issue.message}`;
    });
    return { ok: false, errors };
  }
  const v = parsed.data;
  const errors: string[] = [];

  if (mode === 'start' && v.TRIBUTARY_DATA_DIR === undefined) {
    errors.push('TRIBUTARY_DATA_DIR: required by "tributary start" (the directory holding this node\'s data)');
  }
  const peerList = v.TRIBUTARY_PEERS ?? [];
  const clusterMode = peerList.length > 0 || v.TRIBUTARY_METADATA_VOTERS !== undefined;
  if (mode === 'start' && v.TRIBUTARY_NODE_ID === undefined && clusterMode) {
    errors.push('TRIBUTARY_NODE_ID: required when TRIBUTARY_PEERS or TRIBUTARY_METADATA_VOTERS is set');
  }
  const objectStore = v.TRIBUTARY_OBJECT_STORE ?? 'local';
  if (objectStore === 's3' && v.TRIBUTARY_S3_BUCKET === undefined) {
    errors.push('TRIBUTARY_S3_BUCKET: required when TRIBUTARY_OBJECT_STORE=s3');
  }
  const snapshotsEnabled = v.TRIBUTARY_SNAPSHOT_ENABLED ?? true;
  const selfId = v.TRIBUTARY_NODE_ID ?? 0;
  const metadataVoters = v.TRIBUTARY_METADATA_VOTERS ?? [selfId, ...peerList.map((p) => p.nodeId)].sort((a, b) => a - b);
  // The nodes this one knows of from its configuration; a joining node (seeds in TRIBUTARY_PEERS) counts the voters too.
  const knownNodes = new Set([selfId, ...peerList.map((p) => p.nodeId), ...(peerList.length > 0 ? metadataVoters : [])]);
  const replicationFactor = v.TRIBUTARY_DEFAULT_REPLICATION_FACTOR ?? DEFAULTS.defaultReplicationFactor;
  if (replicationFactor > knownNodes.size) {
    errors.push(
      `TRIBUTARY_DEFAULT_REPLICATION_FACTOR: ${replicationFactor} exceeds the number of nodes (${knownNodes.size})`,
    );
  }
  const minSessionTimeoutMs = v.TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS ?? DEFAULTS.groupMinSessionTimeoutMs;
  const maxSessionTimeoutMs = v.TRIBUTARY_GROUP_MAX_SESSION_TIMEOUT_MS ?? DEFAULTS.groupMaxSessionTimeoutMs;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    errors.push(
      `TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS: ${minSessionTimeoutMs} exceeds TRIBUTARY_GROUP_MAX_SESSION_TIMEOUT_MS (${maxSessionTimeoutMs})`,
    );
  }
  const brokerSessionTimeoutMs = v.TRIBUTARY_BROKER_SESSION_TIMEOUT_MS ?? DEFAULTS.brokerSessionTimeoutMs;
  const brokerHeartbeatIntervalMs = v.TRIBUTARY_BROKER_HEARTBEAT_INTERVAL_MS ?? DEFAULTS.brokerHeartbeatIntervalMs;
  if (brokerHeartbeatIntervalMs >= brokerSessionTimeoutMs) {
    // A session must outlive at least one missed heartbeat, or a single delayed one fences a healthy broker.
    errors.push(
      `TRIBUTARY_BROKER_HEARTBEAT_INTERVAL_MS: ${brokerHeartbeatIntervalMs} must be below TRIBUTARY_BROKER_SESSION_TIMEOUT_MS (${brokerSessionTimeoutMs})`,
    );
  }
  if (errors.length > 0) return { ok: false, errors };

  const dataDir = resolve(cwd, v.TRIBUTARY_DATA_DIR ?? DEFAULTS.devDataDir);
  const config: BrokerConfig = {
    mode,
    nodeId: v.TRIBUTARY_NODE_ID ?? 0,
    kafkaListen: v.TRIBUTARY_KAFKA_LISTEN ?? (parseHostPort(DEFAULTS.kafkaListen) as HostPort),
    advertisedAddress: v.TRIBUTARY_ADVERTISED_ADDRESS,
    clusterListen: v.TRIBUTARY_CLUSTER_LISTEN ?? (parseHostPort(DEFAULTS.clusterListen) as HostPort),
    clusterAdvertisedAddress: v.TRIBUTARY_CLUSTER_ADVERTISED_ADDRESS,
    clusterMode,
    peers: peerList,
    metadataVoters,
    httpListen: v.TRIBUTARY_HTTP_LISTEN ?? (parseHostPort(DEFAULTS.httpListen) as HostPort),
    dataDir,
    defaultPartitions: v.TRIBUTARY_DEFAULT_PARTITIONS ?? DEFAULTS.defaultPartitions,
    defaultReplicationFactor: replicationFactor,
    autoCreateTopics: v.TRIBUTARY_AUTO_CREATE_TOPICS ?? DEFAULTS.autoCreateTopics,
    objectStore,
    objectStoreDir: resolve(cwd, v.TRIBUTARY_OBJECT_STORE_DIR ?? join(dataDir, 'object-store')),
    objectStoreDirConfigured: v.TRIBUTARY_OBJECT_STORE_DIR !== undefined,
    s3:
      objectStore === 's3'
        ? {
            bucket: v.TRIBUTARY_S3_BUCKET!,
            prefix: v.TRIBUTARY_S3_PREFIX ?? '',
            endpoint: v.TRIBUTARY_S3_ENDPOINT,
            region: v.TRIBUTARY_S3_REGION ?? 'us-east-1',
            // Non-AWS endpoints (MinIO, SeaweedFS) need path-style addressing; AWS itself prefers virtual-hosted.
            forcePathStyle: v.TRIBUTARY_S3_FORCE_PATH_STYLE ?? v.TRIBUTARY_S3_ENDPOINT !== undefined,
          }
        : undefined,
    snapshot: {
      enabled: snapshotsEnabled,
      logThreshold: v.TRIBUTARY_SNAPSHOT_LOG_THRESHOLD ?? 10000,
      timeThresholdSecs: v.TRIBUTARY_SNAPSHOT_TIME_THRESHOLD_SECS ?? 3600,
      maxConcurrent: v.TRIBUTARY_SNAPSHOT_MAX_CONCURRENT ?? 2,
      compression: v.TRIBUTARY_SNAPSHOT_COMPRESSION ?? 'gzip',
      retentionCount: v.TRIBUTARY_SNAPSHOT_RETENTION_COUNT ?? 3,
      intervalSecs: v.TRIBUTARY_SNAPSHOT_INTERVAL_SECS ?? 60,
    },
    raftSegmentBytesMax: v.TRIBUTARY_RAFT_SEGMENT_BYTES ?? DEFAULTS.raftSegmentBytesMax,
    fsyncPolicy: v.TRIBUTARY_FSYNC_POLICY ?? DEFAULTS.fsyncPolicy,
    flushIntervalMs: v.TRIBUTARY_FLUSH_INTERVAL_MS ?? DEFAULTS.flushIntervalMs,
    socketRequestMaxBytes: v.TRIBUTARY_SOCKET_REQUEST_MAX_BYTES ?? DEFAULTS.socketRequestMaxBytes,
    log: {
      segmentBytesMax: v.TRIBUTARY_LOG_SEGMENT_BYTES ?? DEFAULTS.segmentBytesMax,
      segmentMsMax: v.TRIBUTARY_LOG_SEGMENT_MS ?? DEFAULTS.segmentMsMax,
      indexIntervalBytes: v.TRIBUTARY_LOG_INDEX_INTERVAL_BYTES ?? DEFAULTS.indexIntervalBytes,
      retentionMs: v.TRIBUTARY_LOG_RETENTION_MS ?? DEFAULTS.retentionMs,
      retentionBytes: v.TRIBUTARY_LOG_RETENTION_BYTES ?? DEFAULTS.retentionBytes,
      messageMaxBytes: v.TRIBUTARY_MESSAGE_MAX_BYTES ?? DEFAULTS.messageMaxBytes,
    },
    retentionCheckIntervalMs: v.TRIBUTARY_LOG_RETENTION_CHECK_INTERVAL_MS ?? DEFAULTS.retentionCheckIntervalMs,
    producerIdExpirationMs: v.TRIBUTARY_PRODUCER_ID_EXPIRATION_MS ?? DEFAULTS.producerIdExpirationMs,
    consumerGroups: {
      initialRebalanceDelayMs: v.TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS ?? DEFAULTS.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs,
      maxSessionTimeoutMs,
      offsetsRetentionMs: (v.TRIBUTARY_OFFSETS_RETENTION_MINUTES ?? DEFAULTS.offsetsRetentionMinutes) * 60_000,
    },
    replicaLagTimeMs: v.TRIBUTARY_REPLICA_LAG_TIME_MS ?? DEFAULTS.replicaLagTimeMs,
    leaderBalanceIntervalMs: v.TRIBUTARY_LEADER_BALANCE_INTERVAL_MS ?? DEFAULTS.leaderBalanceIntervalMs,
    raftElectionTimeoutMs: v.TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS ?? DEFAULTS.raftElectionTimeoutMs,
    brokerSessionTimeoutMs,
    brokerHeartbeatIntervalMs,
    logLevel: v.TRIBUTARY_LOG_LEVEL ?? 'info',
    clusterId: v.TRIBUTARY_CLUSTER_ID,
  };
  return { ok: true, config };
}

/**
 * Cluster mode with snapshots needs an object store every node can read: a replica restores from other nodes'
 * snapshots (a Raft snapshot image names the node that wrote it; a lagging or wiped node downloads from there),
 * so a per-node default directory would leave it with nothing to restore. Returns the problem, or null.
 * Checked by the CLI after the other cluster-mode checks (so their messages keep precedence).
 */
export function clusterObjectStoreProblem(config: BrokerConfig): string | null {
  if (!config.clusterMode || !config.snapshot.enabled || config.objectStore !== 'local' || config.objectStoreDirConfigured) return null;
  return (
    'TRIBUTARY_OBJECT_STORE_DIR: required in cluster mode when snapshots are enabled and TRIBUTARY_OBJECT_STORE=local ' +
    "(every node must read the others' snapshots: give all nodes on this machine one shared directory, " +
    'or use TRIBUTARY_OBJECT_STORE=s3, or set TRIBUTARY_SNAPSHOT_ENABLED=false)'
  );
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
