// The `tributary` command: `dev` (zero-config single node), `start` (configured node; with TRIBUTARY_PEERS a
// cluster member), `cluster` (local multi-node cluster of `start` processes).
// Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage or bad configuration.
import { loadConfig, formatHostPort, clusterObjectStoreProblem, type BrokerConfig, type CliMode } from './config.js';
import { createLogger } from './observability/logger.js';
import { Broker } from './broker.js';
import { runtimeDeps } from './runtime-deps.js';
import { parseLocalClusterArgs, runLocalCluster } from './cluster/local-cluster.js';
import { parseSnapshotsArgs, runSnapshotsCli } from './cluster/snapshots/admin-cli.js';

/**
 * Cluster mode used to be opt-in behind this flag. TRIBUTARY_PEERS alone now selects it; the flag is still accepted
 * (and ignored, with a note on stderr) so scripts and deployments written for the opt-in keep working.
 */
const DEPRECATED_CLUSTER_FLAG = '--experimental-cluster';

const USAGE = `usage: tributary <command>

commands:
  dev                 single node with no configuration: Kafka on 127.0.0.1:9092, HTTP on 127.0.0.1:9644,
                      data under ./.data/dev (TRIBUTARY_* variables still override)
  start               one configured node (TRIBUTARY_DATA_DIR required; see packages/broker/README.md);
                      with TRIBUTARY_PEERS set it is a member of a replicated cluster
  cluster --nodes N [--joining-nodes M]
                      local multi-node cluster on loopback (N start processes forming it, then M more joining
                      it as metadata learners; see src/cluster/README.md)
  snapshots list|trigger [--http host:port] [--raft-group N] [--json]
                      list a cluster node's Raft-group snapshots, or snapshot now (HTTP admin of that node,
                      default 127.0.0.1:9644)
`;

/** Most voters of the metadata group (more nodes join as learners). */
const METADATA_VOTERS_MAX = 5;
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '']);

function clusterConfigProblem(config: BrokerConfig): string | null {
  const nodeId = config.nodeId;
  const peerIds = config.peers.map((p) => p.nodeId);
  if (nodeId < 1) return 'TRIBUTARY_NODE_ID: must be at least 1 in cluster mode (0 means "no node" in Raft)';
  if (peerIds.some((id) => id < 1)) return 'TRIBUTARY_PEERS: node ids must be at least 1';
  if (peerIds.includes(nodeId)) return 'TRIBUTARY_PEERS: must list the other nodes, not this node';
  if (new Set(peerIds).size !== peerIds.length) return 'TRIBUTARY_PEERS: a node id appears twice';
  const voters = config.metadataVoters;
  if (voters.length > METADATA_VOTERS_MAX) {
    return `TRIBUTARY_METADATA_VOTERS: ${voters.length} voters; the metadata group has at most ${METADATA_VOTERS_MAX} (further nodes join as learners: leave them out of this list)`;
  }
  if (voters.includes(nodeId)) {
    // Forming the cluster: the first election needs every voter's address.
    const unknown = voters.filter((v) => v !== nodeId && !peerIds.includes(v));
    if (unknown.length > 0) return `TRIBUTARY_METADATA_VOTERS: voter(s) ${unknown.join(',')} missing from TRIBUTARY_PEERS (a node that forms the cluster needs every voter's address)`;
  } else {
    if (peerIds.length === 0) return 'TRIBUTARY_PEERS: required to join a running cluster (this node is not in TRIBUTARY_METADATA_VOTERS): name at least one of its nodes';
    // Joining a running cluster: the others learn this node's cluster address from its registration.
    const advertised = config.clusterAdvertisedAddress ?? config.clusterListen;
    if (WILDCARD_HOSTS.has(advertised.host)) {
      return 'TRIBUTARY_CLUSTER_ADVERTISED_ADDRESS: required when joining a cluster with a wildcard TRIBUTARY_CLUSTER_LISTEN (the other nodes must learn an address they can reach)';
    }
  }
  return null;
}

async function main(rawArgv: readonly string[]): Promise<number> {
  if (rawArgv.includes(DEPRECATED_CLUSTER_FLAG)) {
    process.stderr.write(`tributary: ${DEPRECATED_CLUSTER_FLAG} is deprecated and has no effect (TRIBUTARY_PEERS selects cluster mode)\n`);
  }
  const argv = rawArgv.filter((a) => a !== DEPRECATED_CLUSTER_FLAG);
  const command = argv[0];
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'snapshots') {
    const options = parseSnapshotsArgs(argv.slice(1));
    if (typeof options === 'string') {
      process.stderr.write(`tributary snapshots: ${options}\n`);
      return 2;
    }
    return runSnapshotsCli(options, process.stdout, process.stderr);
  }
  if (command === 'cluster') {
    const options = parseLocalClusterArgs(argv.slice(1));
    if (typeof options === 'string') {
      process.stderr.write(`tributary cluster: ${options}\n`);
      return 2;
    }
    return runLocalCluster(options, process.argv[1]!);
  }
  if (command !== 'dev' && command !== 'start') {
    process.stderr.write(`tributary: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const mode: CliMode = command;
  const loaded = loadConfig(mode);
  if (!loaded.ok) {
    process.stderr.write(`tributary ${mode}: invalid configuration\n`);
    for (const line of loaded.errors) process.stderr.write(`  ${line}\n`);
    return 2;
  }
  const config = loaded.config;
  if (config.clusterMode) {
    const problem = clusterConfigProblem(config) ?? clusterObjectStoreProblem(config);
    if (problem) {
      process.stderr.write(`tributary ${mode}: invalid configuration\n  ${problem}\n`);
      return 2;
    }
  }
  const logger = createLogger(config.logLevel, { nodeId: config.nodeId });
  const broker = new Broker(config, runtimeDeps(logger), logger);

  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> => {
    if (!stopping) {
      logger.info({ signal }, 'shutting down');
      stopping = broker.stop().then(
        () => logger.info('stopped cleanly'),
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          process.exitCode = 1;
        },
      );
    }
    return stopping;
  };
  const exitAfterStop = (signal: string): void => {
    void stop(signal).then(() => process.exit(process.exitCode ?? 0));
  };
  // A bug must not fail silently: log it as one JSON line, then exit 1 (data on disk is recovered at restart).
  const die = (kind: string) => (err: unknown) => {
    logger.fatal({ err, kind }, 'unexpected failure; exiting');
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaughtException'));
  process.on('unhandledRejection', die('unhandledRejection'));
  process.once('SIGTERM', () => exitAfterStop('SIGTERM'));
  process.once('SIGINT', () => exitAfterStop('SIGINT'));

  try {
    const bound = await broker.start();
    logger.info(
      {
        event: 'listening',
        kafka: formatHostPort(bound.kafka),
        http: formatHostPort(bound.http),
        advertised: formatHostPort(bound.advertised),
        dataDir: config.dataDir,
        clusterId: broker.catalogue.clusterId,
        fsyncPolicy: config.fsyncPolicy,
      },
      'listening',
    );
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    await broker.stop().catch(() => undefined);
    return 1;
  }
  return -1; // keep running until a signal
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`tributary: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
