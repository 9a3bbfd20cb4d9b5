// Composition root of one broker node: catalogue, partitions, topic service, handlers, dispatcher, the Kafka
// listener and the HTTP endpoint; start() recovers and listens, stop() shuts down gracefully.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { formatHostPort, type BrokerConfig, type ConsumerGroupSettings, type HostPort } from './config.js';
import { SqliteCatalogue } from './catalogue/sqlite-catalogue.js';
import type { Catalogue } from './catalogue/catalogue.js';
import { PartitionRegistry } from './partitions/partition-registry.js';
import type { OpenStorageLog } from './partitions/storage-log.js';
import { TopicService } from './topic-service.js';
import { BrokerMetrics } from './observability/metrics.js';
import { HttpEndpoint } from './observability/http-server.js';
import { KafkaListener } from './server/kafka-listener.js';
import { Dispatcher } from './server/dispatcher.js';
import type { WireCodec } from './server/wire-codec.js';
import type { BatchValidation, BrokerState } from './handlers/context.js';
import { registerHandlers, type GroupCoordinatorLike } from './handlers/routes.js';
import { unsupportedApiVersionsResponse } from './handlers/api-versions.js';
import { newClusterId } from './catalogue/sqlite-catalogue.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { ReplicatedCatalogue } from './cluster/replicated-catalogue.js';
import { ClusterTopicService } from './cluster/cluster-topic-service.js';
import { ClusterPartitionRegistry } from './cluster/cluster-partitions.js';
import { SnapshotService } from './cluster/snapshots/snapshot-service.js';
import { snapshotAdminHandler } from './cluster/snapshots/admin-http.js';
import { ClusterGroupCoordinator } from './cluster/cluster-group-coordinator.js';
import { BrokerFencingService } from './cluster/broker-fencing.js';
import type { ConsumerGroupStore } from './consumer-groups/index.js';

export interface BrokerDeps {
  readonly codec: WireCodec;
  readonly openLog: OpenStorageLog;
  readonly validateBatches: (records: Buffer) => BatchValidation;
  /** Builds the consumer-group coordinator, when that part of the broker is present. */
  readonly createGroupCoordinator?: (options: {
    nodeId: number;
    advertisedHost: string;
    advertisedPort: number;
    dataDir: string;
    logger: Logger;
    topicPartitionCount: (topic: string) => number | undefined;
    /** Cluster mode: the replicated store (else the coordinator opens SQLite in dataDir). */
    store?: ConsumerGroupStore;
  } & ConsumerGroupSettings) => GroupCoordinatorLike;
}

export interface BoundAddresses {
  readonly kafka: HostPort;
  readonly http: HostPort;
  readonly advertised: HostPort;
}

const SHUTDOWN_DRAIN_TIMEOUT_MS = 10_000;
/** How long a cluster-mode start waits for a metadata quorum to register this broker. */
const CLUSTER_JOIN_TIMEOUT_MS = 60_000;
/** Cluster mode: how long a graceful shutdown waits for its Raft groups to elect other leaders. */
const LEADERSHIP_HANDOFF_TIMEOUT_MS = 3_000;
/**
 * Cluster mode: how long a graceful shutdown waits to be fenced in the metadata group. Short: the last broker of a
 * cluster stopping has no quorum to commit it, and the session expiry would fence it anyway.
 */
const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 1_500;
/** `<dataDir>/ports.json`: the bound addresses, present only while the broker serves. */
export const PORTS_FILE = 'ports.json';

export class Broker implements BrokerState {
  readonly metrics = new BrokerMetrics();
  readonly partitions: PartitionRegistry;
  catalogue!: Catalogue;
  topics!: TopicService;
  private dispatcher!: Dispatcher;
  private listener: KafkaListener | undefined;
  private http: HttpEndpoint | undefined;
  private coordinator: GroupCoordinatorLike | undefined;
  private advertisedAddress: HostPort | undefined;
  /** Cluster mode (TRIBUTARY_PEERS set): this node's Raft host and metadata group. */
  private clusterNode: ClusterNode | undefined;
  /** Cluster mode: heartbeats to the metadata leader, and the fencing decisions while this node leads it. */
  private fencing: BrokerFencingService | undefined;
  /** Cluster mode with TRIBUTARY_SNAPSHOT_ENABLED: snapshots of the Raft groups hosted here. */
  private snapshots: SnapshotService | undefined;
  private shutdownListeners = new Set<() => void>();
  shuttingDown = false;
  serving = false;
  /** Recovery finished and the listener is up (ready also needs every hosted Raft group caught up, see `ready`). */
  private started = false;

  /** /ready: started, not shutting down, and no hosted Raft group restoring from a snapshot. */
  get ready(): boolean {
    return this.started && (this.snapshots?.isCaughtUp() ?? true);
  }

  constructor(
    readonly config: BrokerConfig,
    private readonly deps: BrokerDeps,
    readonly logger: Logger,
  ) {
    this.partitions =
      config.clusterMode
        ? new ClusterPartitionRegistry(config, deps.openLog, logger.child({ component: 'partitions' }), (err) => {
            // A replica that failed to apply a committed entry cannot follow its group any more; restarting
            // recovers it by replaying the Raft log (see src/cluster/raft-partition.ts).
            logger.fatal({ err }, 'partition replica failed; exiting to recover by replay');
            process.exit(1);
          })
        : new PartitionRegistry(config, deps.openLog, logger);
  }

  advertised(): HostPort {
    if (!this.advertisedAddress) throw new Error('assertion: advertised address read before the listener is bound');
    return this.advertisedAddress;
  }

  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return this.dispatcher.advertisedVersions();
  }

  validateBatches(records: Buffer): BatchValidation {
    return this.deps.validateBatches(records);
  }

  onShutdown(listener: () => void): () => void {
    this.shutdownListeners.add(listener);
    return () => this.shutdownListeners.delete(listener);
  }

  async start(): Promise<BoundAddresses> {
    const { config, logger } = this;
    await mkdir(join(config.dataDir, 'topics'), { recursive: true });
    // ports.json describes a serving broker only: drop a stale one before anything else.
    await rm(join(config.dataDir, PORTS_FILE), { force: true });
    if (config.objectStore === 'local') await mkdir(config.objectStoreDir, { recursive: true });
    let replicated: ReplicatedCatalogue | undefined;
    if (config.clusterMode) {
      // Cluster mode: the catalogue is the metadata Raft group; partitions are Raft groups hosted by
      // ClusterPartitionRegistry once this broker has joined (below).
      this.snapshots = SnapshotService.fromConfig(config, logger.child({ component: 'snapshots' }), this.metrics.registry);
      this.clusterNode = await ClusterNode.open(config, logger.child({ component: 'cluster' }), this.snapshots);
      this.clusterNode.configuredClusterId = config.clusterId;
      replicated = new ReplicatedCatalogue(this.clusterNode, logger.child({ component: 'catalogue' }));
      this.catalogue = replicated;
      this.topics = new ClusterTopicService(config, replicated, this.partitions, logger);
    } else {
      this.catalogue = SqliteCatalogue.open(join(config.dataDir, 'metadata.sqlite'), config.clusterId);
      this.topics = new TopicService(config, this.catalogue, this.partitions, logger);
      const startedMs = Date.now();
      const catalogue = this.catalogue;
      this.partitions.setTopicLookup((name) => catalogue.getTopic(name));
      await this.partitions.removeOrphans(this.catalogue.listTopics());
      await this.partitions.openAll(this.catalogue.listTopics());
      logger.info({ topics: this.catalogue.listTopics().length, recoveryMs: Date.now() - startedMs }, 'partitions recovered');
    }
    this.metrics.setPartitionSizeSource(this.partitions);

    // HTTP first, so /health answers during the rest of the start.
    this.http = new HttpEndpoint(this.metrics, this, logger, snapshotAdminHandler(() => this.snapshots));
    const http = await this.http.listen(config.httpListen);

    this.dispatcher = new Dispatcher(this.deps.codec, this.metrics, () => unsupportedApiVersionsResponse(this));
    this.listener = new KafkaListener(
      this.dispatcher,
      { maxFrameBytes: config.socketRequestMaxBytes, maxInFlightRequests: 100, maxBufferedWriteBytes: 8 * 1024 * 1024 },
      this.metrics,
      logger,
      { holdUntilOpen: true },
    );
    const kafka = await this.listener.listen(config.kafkaListen);
    this.advertisedAddress = config.advertisedAddress ?? {
      host: kafka.host === '0.0.0.0' || kafka.host === '::' ? '127.0.0.1' : kafka.host,
      port: kafka.port,
    };
    if (this.clusterNode && replicated) {
      const cluster = this.clusterNode.clusterAddress;
      const self = {
        nodeId: config.nodeId,
        host: this.advertisedAddress.host,
        port: this.advertisedAddress.port,
        ...(cluster === undefined ? {} : { clusterHost: cluster.host, clusterPort: cluster.port }),
      };
      const clusterId = await this.clusterNode.join(config.clusterId ?? newClusterId(), self, CLUSTER_JOIN_TIMEOUT_MS);
      // A wiped or lagging node may be restoring the catalogue from a snapshot: serve only once it is here.
      await this.clusterNode.metadataCaughtUp(CLUSTER_JOIN_TIMEOUT_MS);
      this.fencing = new BrokerFencingService(this.clusterNode, config, logger.child({ component: 'fencing' }));
      this.fencing.start();
      this.fencing.registerMetrics(this.metrics.registry);
      this.snapshots?.start(clusterId);
      await replicated.start();
      if (this.partitions instanceof ClusterPartitionRegistry) {
        await this.partitions.attach(this.clusterNode);
        this.partitions.leadership?.registerMetrics(this.metrics.registry);
      }
      // A broker fenced while it was down is unfenced by its first heartbeats once it has caught up; serving before
      // that would show clients a broker that every Metadata answer omits. Bounded: the session timeout.
      if (!(await this.fencing.waitUnfenced(config.brokerSessionTimeoutMs))) {
        logger.warn({ waitedMs: config.brokerSessionTimeoutMs }, 'still fenced in the metadata group; serving anyway (the next heartbeats unfence it)');
      }
    }
    if (this.deps.createGroupCoordinator) {
      const createGroupCoordinator = this.deps.createGroupCoordinator;
      const coordinatorOptions = {
        nodeId: config.nodeId,
        advertisedHost: this.advertisedAddress.host,
        advertisedPort: this.advertisedAddress.port,
        dataDir: config.dataDir,
        logger: logger.child({ component: 'consumer-groups' }),
        topicPartitionCount: (topic: string) => this.catalogue.getTopic(topic)?.partitionCount,
        ...config.consumerGroups,
      };
      // Cluster mode: the metadata leader coordinates every group, on the metadata group's replicated state.
      this.coordinator = this.clusterNode
        ? new ClusterGroupCoordinator({
            node: this.clusterNode,
            createCoordinator: (store) => createGroupCoordinator({ ...coordinatorOptions, store }),
            logger: coordinatorOptions.logger,
          })
        : createGroupCoordinator(coordinatorOptions);
      await this.coordinator.start();
      const coordinator = this.coordinator;
      this.topics.onTopicDeleted((topic) => coordinator.onTopicDeleted(topic));
    }
    registerHandlers(this.dispatcher, this, this.coordinator);
    this.listener.openForRequests();
    this.partitions.startBackgroundLoops();
    this.serving = true;
    this.started = true;
    const bound = { kafka, http, advertised: this.advertisedAddress };
    // Written atomically (temp file + rename) so a reader never sees half of it.
    const portsPath = join(config.dataDir, PORTS_FILE);
    await writeFile(
      `${portsPath}.tmp`,
      JSON.stringify({ kafka: formatHostPort(kafka), http: formatHostPort(http), advertised: formatHostPort(bound.advertised) }),
    );
    await rename(`${portsPath}.tmp`, portsPath);
    return bound;
  }

  /** Graceful shutdown: stop accepting, answer in-flight requests, flush and close logs and the catalogue. */
  async stop(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.started = false;
    for (const l of [...this.shutdownListeners]) l();
    await rm(join(this.config.dataDir, PORTS_FILE), { force: true }).catch(() => undefined);
    if (this.partitions instanceof ClusterPartitionRegistry) {
      // Cluster mode: hand leadership to other replicas before we stop answering (bounded).
      await this.partitions.transferLeadershipAway(LEADERSHIP_HANDOFF_TIMEOUT_MS).catch((err: unknown) => this.logger.warn({ err }, 'leadership transfer failed'));
    }
    // Then fenced through the metadata log, so every broker stops listing it now rather than after its session.
    await this.fencing?.controlledShutdown(CONTROLLED_SHUTDOWN_TIMEOUT_MS);
    this.fencing?.stop();
    await this.listener?.close(SHUTDOWN_DRAIN_TIMEOUT_MS);
    this.serving = false;
    if (this.coordinator) {
      await this.coordinator.close().catch((err: unknown) => this.logger.error({ err }, 'consumer-group coordinator close failed'));
    }
    // Snapshots stop before the Raft host closes (closeAll closes it): a compaction needs a live host.
    await this.snapshots?.stop().catch((err: unknown) => this.logger.error({ err }, 'snapshot service stop failed'));
    await this.partitions.closeAll();
    this.catalogue?.close();
    await this.clusterNode?.close().catch((err: unknown) => this.logger.error({ err }, 'cluster node close failed'));
    await this.http?.close();
  }
}
