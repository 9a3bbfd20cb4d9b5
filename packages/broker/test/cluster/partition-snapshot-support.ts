// In-process partition replicas for the snapshot tests: each has its own FileWal, RaftHost (over a shared
// MemoryNetwork), RaftPartition over a real PartitionLog, StoreRestorer and PartitionSnapshotSource, wired the way
// ClusterPartitionRegistry.hostPartition wires them; all share one object store (one prefix per node).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, PartitionLog, type LogConfig } from '@tributary/log';
import { FileWal, MemoryNetwork, RaftHost, Role, bootstrapState, nodeId, raftGroupId, type Entry, type RaftGroupId, type RaftIndex, type Term } from '@tributary/raft';
import { SnapshotRepository, clusterId, nodeWriterCluster, type ObjectStore, type SnapshotMetricsHook } from '@tributary/snapshot';
import { RaftPartition, encodePartitionEntry } from '../../src/cluster/raft-partition.js';
import { PartitionCheckpointWriter, readCheckpoint } from '../../src/cluster/snapshots/partition-checkpoint.js';
import { StoreRestorer, type PartitionSnapshotServices } from '../../src/cluster/snapshots/partition-restore.js';
import { PartitionSnapshotSource } from '../../src/cluster/snapshots/partition-snapshot-source.js';
import { snapshotGroupOf } from '../../src/cluster/snapshots/snapshot-service.js';
import { batchOf } from '../support/batches.js';

export const silent = pino({ level: 'silent' });
export const CLUSTER = clusterId('test-cluster');
export const RAFT_GROUP = 7;
/** Small segments so a partition has several sealed segments (pieces) after a few hundred records. */
export const SMALL_SEGMENTS: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytesMax: 4096 };

export function repositoryOf(store: ObjectStore, node: number): SnapshotRepository {
  return new SnapshotRepository({ store, cluster: nodeWriterCluster(CLUSTER, node) });
}

export function servicesFor(store: ObjectStore, node: number, events: { bootstraps: number; failures: number } = { bootstraps: 0, failures: 0 }): PartitionSnapshotServices {
  const metricsHook: SnapshotMetricsHook = {
    bootstrapCompleted: () => {
      events.bootstraps++;
    },
    bootstrapFailed: () => {
      events.failures++;
    },
  };
  return {
    register: () => {},
    unregister: () => {},
    repositoryOfNode: (n: number) => repositoryOf(store, n),
    metricsHook,
    bootstrapConcurrency: 2,
    trackRestore: <T>(_raftGroup: number, restore: Promise<T>) => restore,
    writer: nodeWriterCluster(CLUSTER, node),
  };
}

export const plainBatch = (value: string): Buffer => Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }]));
export const idempotentBatch = (producerId: number, seq: number, value: string): Buffer =>
  Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }], { producerId, producerEpoch: 0, baseSequence: seq }));

/** One Raft entry per batch, as the leader proposes it. */
export const entryData = (batch: Buffer, appendTimeMs = 1_000): Buffer => encodePartitionEntry(batch, false, appendTimeMs);

/** Every segment file of a partition directory, name -> bytes (what "byte-identical replicas" compares). */
export function segmentFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir).sort()) if (name.endsWith('.log')) out.set(name, readFileSync(join(dir, name)));
  return out;
}

/** The concatenated segment bytes (segment boundaries may differ only if segment settings differ). */
export function logBytes(dir: string): Buffer {
  return Buffer.concat([...segmentFiles(dir).values()]);
}

export interface Replica {
  readonly node: number;
  readonly dir: string;
  readonly wal: FileWal;
  readonly host: RaftHost;
  readonly partition: RaftPartition;
  readonly source: PartitionSnapshotSource;
  /** Entries handed to apply since this replica started (to check what a restart replays). */
  readonly appliedEntries: Entry[];
  close(): Promise<void>;
}

export interface ReplicaOptions {
  readonly node: number;
  readonly voters: readonly number[];
  readonly network: MemoryNetwork;
  readonly baseDir: string;
  readonly store: ObjectStore;
  readonly logConfig?: LogConfig;
  readonly walSegmentBytes?: number;
  readonly events?: { bootstraps: number; failures: number };
  /** Start the Raft group at this position (a replica restored from a snapshot before it is hosted). */
  readonly startAt?: { index: number; term: number };
  /** Size of the snapshot source's active-segment chunk pieces (its default otherwise). */
  readonly activeChunkBytes?: number;
}

export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const { node, voters, network, baseDir, store } = options;
  const dir = join(baseDir, `node-${node}`, 'partition');
  const logConfig = options.logConfig ?? SMALL_SEGMENTS;
  const wal = await FileWal.open(join(baseDir, `node-${node}`, 'raft'), { segmentBytesMax: options.walSegmentBytes ?? 64 * 1024 });
  const host = new RaftHost({ nodeId: nodeId(node), transport: network.endpoint(nodeId(node)), syncAll: () => wal.sync(), tickMs: 10, electionTicks: 10, heartbeatTicks: 1 });
  const openLog = () => PartitionLog.open(dir, logConfig);
  const log = await openLog();
  const recovered = await RaftPartition.recover(log, await readCheckpoint(dir));
  const group: RaftGroupId = raftGroupId(RAFT_GROUP);
  const onFatal = (err: Error): void => {
    throw err;
  };
  const partition = new RaftPartition('t', 0, group, log, host, recovered, silent, onFatal);
  partition.setCheckpointWriter(new PartitionCheckpointWriter(dir));
  const services = servicesFor(store, node, options.events);
  partition.setRestorer(new StoreRestorer({
    raftGroup: RAFT_GROUP, snapshotGroup: snapshotGroupOf(RAFT_GROUP), dir, services, logger: silent,
    replicas: () => [...voters.filter((v) => v !== node), node],
  }, openLog));
  const appliedEntries: Entry[] = [];
  const fresh = bootstrapState(voters.map((v) => nodeId(v)));
  const initial = options.startAt === undefined ? fresh : {
    hardState: { ...fresh.hardState, term: options.startAt.term as Term, commit: options.startAt.index as RaftIndex },
    snapshot: { ...fresh.snapshot, index: options.startAt.index as RaftIndex, term: options.startAt.term as Term },
    entries: [],
  };
  host.addGroup(group, wal.storage(group, initial), {
    apply: (entries) => {
      appliedEntries.push(...entries);
      partition.apply(entries);
    },
    restore: (snapshot) => partition.restore(snapshot),
    snapshotData: (meta) => partition.snapshotData(meta),
  });
  const source = new PartitionSnapshotSource({
    raftGroupId: snapshotGroupOf(RAFT_GROUP), partition, dir, ownWriter: services.writer,
    membership: () => Buffer.from(JSON.stringify(voters)),
    ...(options.activeChunkBytes === undefined ? {} : { activeChunkBytes: options.activeChunkBytes }),
  });
  host.start();
  return {
    node, dir, wal, host, partition, source, appliedEntries,
    async close() {
      await host.close();
      await partition.close();
      await wal.close();
    },
  };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Proposes on whichever replica leads, retrying through elections. */
export async function propose(replicas: readonly Replica[], data: Buffer): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const leader = replicas.find((r) => r.host.group(raftGroupId(RAFT_GROUP))?.role === Role.Leader);
    if (leader !== undefined) {
      const r = await leader.host.propose(raftGroupId(RAFT_GROUP), data);
      if (r.ok) return r.index;
    }
    if (Date.now() > deadline) throw new Error('no leader accepted the proposal');
    await new Promise((r) => setTimeout(r, 20));
  }
}
