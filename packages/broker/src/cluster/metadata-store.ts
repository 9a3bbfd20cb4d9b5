// The metadata Raft group's state machine: SQLite (better-sqlite3) at <dataDir>/cluster-metadata.sqlite.
// Invariant: the row meta.applied_index is written in the same transaction as the effect of the entry at that
// index (with applied_term, the entry's Raft term), so after a crash the store holds exactly the entries up to
// applied_index and the Raft log replay (which starts at the group's snapshot index) skips entries at or below it.
// A snapshot of the group is a VACUUM INTO copy of this database (see cluster/snapshots/metadata-snapshot.ts).
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../sqlite.js';
import type { Entry } from '@tributary/raft';
import type { ProducerId, TopicId, TopicRecord } from '../catalogue/catalogue.js';
import { ConsumerGroupTables, type StoredConsumerGroups } from '../consumer-groups/index.js';
import { cancelReassignment, invalidTarget, isReassigning, startReassignment, targetOf } from './reassignment-plan.js';
import { committedOffsetsOf, decodeCommand, isConsumerGroupCommand, type BrokerFenceReason, type BrokerFencingCommand, type BrokerRegistration, type ConsumerGroupCommand, type MetadataCommand, type MetadataResult } from './metadata-commands.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS brokers (node_id INTEGER PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
  name TEXT PRIMARY KEY,
  topic_id BLOB NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS topic_configs (
  topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (topic, key)
);
CREATE TABLE IF NOT EXISTS partitions (
  topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
  partition INTEGER NOT NULL,
  replicas TEXT NOT NULL,
  raft_group INTEGER NOT NULL UNIQUE,
  leader INTEGER NOT NULL DEFAULT -1,
  leader_term INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS fenced_brokers (
  node_id INTEGER PRIMARY KEY,
  fenced_index INTEGER NOT NULL,
  fenced_ms INTEGER NOT NULL,
  reason TEXT NOT NULL
);
`;
/**
 * Columns added after the first release of their table (a store or a metadata snapshot written before them is
 * upgraded at open; the change is local and deterministic, so every replica may make it by itself):
 * - partitions `adding_replicas` / `removing_replicas` (JSON arrays) of a partition being reassigned;
 * - brokers `cluster_host` / `cluster_port`, NULL until the broker registers again with its cluster address.
 */
const ADDED_COLUMNS: readonly (readonly [table: string, column: string, type: string])[] = [
  ['partitions', 'adding_replicas', "TEXT NOT NULL DEFAULT '[]'"],
  ['partitions', 'removing_replicas', "TEXT NOT NULL DEFAULT '[]'"],
  ['brokers', 'cluster_host', 'TEXT'],
  ['brokers', 'cluster_port', 'INTEGER'],
];
/** Raft group ids of partitions start here (1 is the metadata group). */
const FIRST_PARTITION_RAFT_GROUP = 2;

export interface PartitionAssignment {
  readonly partition: number;
  readonly replicas: readonly number[];
  /** The partition's Raft group id, allocated by the metadata group when the partition is created. */
  readonly raftGroup: number;
  /** Last leader a partition leader reported (-1 = none yet) and its Raft term; hosts of the group know better. */
  readonly leader: number;
  readonly leaderTerm: number;
  /** During a reassignment (reassignment-plan.ts): `replicas` is the union, target first; else both empty. */
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/** A registered broker the metadata leader fenced (broker-fencing.ts); absent = unfenced. */
export interface FencedBroker {
  readonly nodeId: number;
  /** Raft index of the entry that fenced it: an unfence needs the broker to have applied at least this far. */
  readonly fencedIndex: number;
  /** The leader's clock at the decision. */
  readonly fencedMs: number;
  readonly reason: BrokerFenceReason;
}

export interface ClusterTopic extends TopicRecord {
  readonly assignments: readonly PartitionAssignment[];
}

export class MetadataStore {
  /** Replaced (closed and reopened) only when a snapshot is restored: see replaceDatabase. */
  private db: SqliteDatabase;
  private topics = new Map<string, ClusterTopic>();
  private topicsById = new Map<string, ClusterTopic>();
  private brokerList: BrokerRegistration[] = [];
  private fenced = new Map<number, FencedBroker>();
  private applied: number;
  /** Results of entries applied in this process, by Raft index, for the proposer to pick up (bounded). */
  private readonly results = new Map<number, MetadataResult>();
  private readonly appliedListeners: (() => void)[] = [];
  private readonly topicDeletedListeners: ((topic: string) => void)[] = [];
  /** Consumer-group tables on the current database handle (re-created if the handle is ever replaced). */
  private groupTables: ConsumerGroupTables | undefined;

  /** Wall-clock ms of the last applied entry in this process (null: none yet); the snapshot time trigger reads it. */
  private lastApplyAtMs: number | null = null;

  constructor(private readonly path: string) {
    this.db = MetadataStore.openDatabase(path);
    this.applied = Number(this.getMeta('applied_index') ?? '0');
    this.consumerGroupTables(); // creates the tables
    this.reload();
  }

  private static openDatabase(path: string): SqliteDatabase {
    const db = openSqlite(path);
    db.pragma('journal_mode = WAL');
    // NORMAL is enough: an entry lost from SQLite by a crash is re-applied from the Raft log (see the invariant).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.exec(SCHEMA);
    for (const [table, column, type] of ADDED_COLUMNS) {
      const have = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
      if (!have) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
    return db;
  }

  /** Raft term of the entry at appliedIndex (0 before the first entry; recorded in the same transaction). */
  get appliedTerm(): number {
    return Number(this.getMeta('applied_term') ?? '0');
  }

  get lastWriteAtMs(): number | null {
    return this.lastApplyAtMs;
  }

  /**
   * Writes a consistent copy of the whole catalogue to `targetPath` (VACUUM INTO) and returns the Raft position it
   * holds. Applies run on this thread and commit whole, so the copy is exactly the state at appliedIndex (its own
   * meta rows say so too).
   */
  vacuumInto(targetPath: string): { index: number; term: number } {
    const position = { index: this.applied, term: this.appliedTerm };
    this.db.prepare('VACUUM INTO ?').run(targetPath);
    return position;
  }

  /**
   * Makes a restored copy (a VACUUM INTO file from a snapshot, already verified) the live database: close, drop the
   * old WAL files (a stale -wal must never be replayed onto another database), rename over, fsync the directory,
   * reopen. A crash in between leaves the old file without its WAL tail or the new file: either way applied_index
   * is at most the snapshot's, and the caller restores again from the Raft snapshot reference at restart.
   */
  replaceDatabase(stagedPath: string): void {
    this.db.close();
    rmSync(`${this.path}-wal`, { force: true });
    rmSync(`${this.path}-shm`, { force: true });
    renameSync(stagedPath, this.path);
    const dirFd = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.db = MetadataStore.openDatabase(this.path);
    this.applied = Number(this.getMeta('applied_index') ?? '0');
    this.results.clear();
    this.reload();
    for (const l of this.appliedListeners) l();
  }

  get appliedIndex(): number {
    return this.applied;
  }

  get clusterId(): string | undefined {
    return this.getMeta('cluster_id');
  }

  brokers(): readonly BrokerRegistration[] {
    return this.brokerList;
  }

  /** Registered brokers currently fenced, by node id (the replicated view: the same on every caught-up broker). */
  fencedBrokers(): ReadonlyMap<number, FencedBroker> {
    return this.fenced;
  }

  isFenced(nodeId: number): boolean {
    return this.fenced.has(nodeId);
  }

  listTopics(): readonly ClusterTopic[] {
    return [...this.topics.values()];
  }

  getTopic(name: string): ClusterTopic | undefined {
    return this.topics.get(name);
  }

  getTopicById(topicId: Buffer): ClusterTopic | undefined {
    return this.topicsById.get(topicId.toString('hex'));
  }

  /**
   * Called after every applied round of entries that changed the catalogue (the views are reloaded by then).
   * Consumer-group entries (offset commits, the most frequent) change no view and call no listener.
   */
  onApplied(listener: () => void): void {
    this.appliedListeners.push(listener);
  }

  takeResult(index: number): MetadataResult | undefined {
    const r = this.results.get(index);
    this.results.delete(index);
    return r;
  }

  /** Called after an applied `deleteTopic` (the topic's committed consumer-group offsets are already gone). */
  onTopicDeleted(listener: (topic: string) => void): void {
    this.topicDeletedListeners.push(listener);
  }

  /** Every consumer group's record and committed offsets as of the applied index (read by a new coordinator). */
  consumerGroupState(): StoredConsumerGroups {
    return this.consumerGroupTables().load();
  }

  /** Applies committed entries in order (no-ops and configuration entries only advance applied_index). */
  apply(entries: readonly Entry[]): void {
    let catalogueChanged = false;
    const deletedTopics: string[] = [];
    for (const e of entries) {
      if (e.index <= this.applied) continue; // applied before a restart
      const run = this.db.transaction(() => {
        let result: MetadataResult = { ok: true };
        if (e.type === 0 && e.data.length > 0) {
          const command = decodeCommand(e.data);
          if (!isConsumerGroupCommand(command)) catalogueChanged = true;
          result = this.execute(command, e.index);
          if (command.kind === 'deleteTopic' && result.ok) deletedTopics.push(command.name);
        }
        this.setMeta('applied_index', String(e.index));
        this.setMeta('applied_term', String(e.term));
        return result;
      });
      const result = run();
      this.applied = e.index;
      this.lastApplyAtMs = Date.now();
      this.results.set(e.index, result);
      if (this.results.size > 10_000) this.results.delete(this.results.keys().next().value!);
    }
    if (!catalogueChanged) return;
    this.reload();
    for (const l of this.appliedListeners) l();
    for (const topic of deletedTopics) for (const l of this.topicDeletedListeners) l(topic);
  }

  private execute(c: MetadataCommand, index: number): MetadataResult {
    switch (c.kind) {
      case 'initCluster': {
        const existing = this.getMeta('cluster_id');
        if (existing === undefined) this.setMeta('cluster_id', c.clusterId);
        return { ok: true, clusterId: existing ?? c.clusterId };
      }
      case 'registerBroker':
        this.db
          .prepare(
            'INSERT INTO brokers (node_id, host, port, cluster_host, cluster_port) VALUES (?, ?, ?, ?, ?) ' +
              'ON CONFLICT(node_id) DO UPDATE SET host = excluded.host, port = excluded.port, ' +
              // a registration without a cluster address (an older version's) keeps the one known
              'cluster_host = coalesce(excluded.cluster_host, cluster_host), cluster_port = coalesce(excluded.cluster_port, cluster_port)',
          )
          .run(c.broker.nodeId, c.broker.host, c.broker.port, c.broker.clusterHost ?? null, c.broker.clusterPort ?? null);
        return { ok: true };
      case 'createTopic': {
        if (this.db.prepare('SELECT 1 FROM topics WHERE name = ?').get(c.name) !== undefined) {
          return { ok: false, error: 'exists', message: `topic "${c.name}" already exists` };
        }
        this.db.prepare('INSERT INTO topics (name, topic_id, created_ms) VALUES (?, ?, ?)').run(c.name, Buffer.from(c.topicIdHex, 'hex'), c.createdMs);
        this.insertConfigs(c.name, c.configs);
        this.insertPartitions(c.name, 0, c.replicas);
        return { ok: true };
      }
      case 'deleteTopic': {
        const r = this.db.prepare('DELETE FROM topics WHERE name = ?').run(c.name);
        // A topic re-created under this name must not inherit the old topic's committed offsets.
        if (r.changes > 0) this.consumerGroupTables().deleteTopicOffsets(c.name);
        return r.changes > 0 ? { ok: true } : { ok: false, error: 'unknownTopic', message: `topic "${c.name}" does not exist` };
      }
      case 'addPartitions': {
        const row = this.db.prepare('SELECT COUNT(*) AS n FROM partitions WHERE topic = ?').get(c.name) as { n: number };
        if (row.n === 0) return { ok: false, error: 'unknownTopic', message: `topic "${c.name}" does not exist` };
        this.insertPartitions(c.name, row.n, c.replicas);
        return { ok: true };
      }
      case 'replaceTopicConfigs': {
        if (this.db.prepare('SELECT 1 FROM topics WHERE name = ?').get(c.name) === undefined) {
          return { ok: false, error: 'unknownTopic', message: `topic "${c.name}" does not exist` };
        }
        this.db.prepare('DELETE FROM topic_configs WHERE topic = ?').run(c.name);
        this.insertConfigs(c.name, c.configs);
        return { ok: true };
      }
      case 'partitionLeader': {
        // Only a newer term replaces the record (reports can arrive out of order).
        const r = this.db
          .prepare('UPDATE partitions SET leader = ?, leader_term = ? WHERE topic = ? AND partition = ? AND raft_group = ? AND leader_term < ?')
          .run(c.leaderId, c.term, c.topic, c.partition, c.raftGroup, c.term);
        return r.changes > 0 || this.db.prepare('SELECT 1 FROM partitions WHERE raft_group = ?').get(c.raftGroup) !== undefined
          ? { ok: true }
          : { ok: false, error: 'unknownTopic', message: `no partition with Raft group ${c.raftGroup}` };
      }
      case 'alterReassignment':
        return this.alterReassignment(c.topic, c.partition, c.target);
      case 'completeReassignment': {
        const current = this.partitionRecord(c.topic, c.partition);
        if (current === undefined || current.raftGroup !== c.raftGroup) return { ok: false, error: 'unknownTopic', message: `no partition ${c.topic}-${c.partition} with Raft group ${c.raftGroup}` };
        if (!isReassigning(current) || JSON.stringify(targetOf(current)) !== JSON.stringify(c.target)) {
          return { ok: false, error: 'staleReassignment', message: `${c.topic}-${c.partition} is no longer moving to ${JSON.stringify(c.target)}` };
        }
        this.writeReassignment(c.topic, c.partition, { replicas: c.target, addingReplicas: [], removingReplicas: [] });
        return { ok: true };
      }
      case 'allocateProducerIds': {
        const first = Number(this.getMeta('next_producer_id') ?? '0');
        this.setMeta('next_producer_id', String(first + c.count));
        return { ok: true, firstProducerId: first };
      }
      case 'commitOffsets':
      case 'putGroup':
      case 'deleteGroup':
      case 'deleteOffsets':
      case 'deleteTopicOffsets':
        return this.executeConsumerGroupCommand(c);
      case 'fenceBroker':
      case 'unfenceBroker':
        return this.executeFencingCommand(c, index);
      default:
        return { ok: false, error: 'invalid', message: `unknown metadata command ${(c as { kind: string }).kind}` };
    }
  }

  private partitionRecord(topic: string, partition: number): PartitionAssignment | undefined {
    type Row = { replicas: string; raft_group: number; leader: number; leader_term: number; adding_replicas: string; removing_replicas: string };
    const r = this.db.prepare('SELECT replicas, raft_group, leader, leader_term, adding_replicas, removing_replicas FROM partitions WHERE topic = ? AND partition = ?').get(topic, partition) as Row | undefined;
    return r === undefined ? undefined : assignmentOfRow({ ...r, partition });
  }

  private writeReassignment(topic: string, partition: number, record: { replicas: readonly number[]; addingReplicas: readonly number[]; removingReplicas: readonly number[] }): void {
    this.db
      .prepare('UPDATE partitions SET replicas = ?, adding_replicas = ?, removing_replicas = ? WHERE topic = ? AND partition = ?')
      .run(JSON.stringify(record.replicas), JSON.stringify(record.addingReplicas), JSON.stringify(record.removingReplicas), topic, partition);
  }

  /** AlterPartitionReassignments for one partition, validated here so every replica of the store decides alike. */
  private alterReassignment(topic: string, partition: number, target: readonly number[] | null): MetadataResult {
    const current = this.partitionRecord(topic, partition);
    if (current === undefined) return { ok: false, error: 'unknownTopic', message: `unknown partition ${topic}-${partition}` };
    if (target === null) {
      if (!isReassigning(current)) return { ok: false, error: 'noReassignmentInProgress', message: `no reassignment of ${topic}-${partition} is in progress` };
      this.writeReassignment(topic, partition, cancelReassignment(current));
      return { ok: true };
    }
    const brokers = (this.db.prepare('SELECT node_id FROM brokers').all() as { node_id: number }[]).map((b) => b.node_id);
    const invalid = invalidTarget(target, brokers);
    if (invalid !== null) return { ok: false, error: 'invalidReplicaAssignment', message: `${topic}-${partition}: ${invalid}` };
    // A target equal to the current replica set starts nothing (Kafka: no reassignment is created).
    if (!isReassigning(current) && JSON.stringify(target) === JSON.stringify(current.replicas)) return { ok: true };
    this.writeReassignment(topic, partition, startReassignment(current, target));
    return { ok: true };
  }

  private executeConsumerGroupCommand(c: ConsumerGroupCommand): MetadataResult {
    const tables = this.consumerGroupTables();
    switch (c.kind) {
      case 'commitOffsets': {
        // A commit validated before a concurrent deleteTopic was applied stores nothing for the deleted topic: as if
        // it had been committed just before the deletion (which removed it), on every replica alike.
        const existing = new Map<string, boolean>();
        const exists = (topic: string): boolean => {
          let known = existing.get(topic);
          if (known === undefined) existing.set(topic, (known = this.db.prepare('SELECT 1 FROM topics WHERE name = ?').get(topic) !== undefined));
          return known;
        };
        tables.commitOffsets(c.groupId, committedOffsetsOf(c.topics.filter((t) => exists(t.topic))));
        return { ok: true };
      }
      case 'putGroup':
        tables.saveGroup(c.group);
        return { ok: true };
      case 'deleteGroup':
        tables.deleteGroup(c.groupId);
        return { ok: true };
      case 'deleteOffsets':
        tables.deleteOffsets(c.groupId, c.partitions);
        return { ok: true };
      case 'deleteTopicOffsets':
        tables.deleteTopicOffsets(c.topic);
        return { ok: true };
    }
  }

  private executeFencingCommand(c: BrokerFencingCommand, index: number): MetadataResult {
    if (this.db.prepare('SELECT 1 FROM brokers WHERE node_id = ?').get(c.nodeId) === undefined) {
      return { ok: false, error: 'invalid', message: `broker ${c.nodeId} is not registered` };
    }
    const row = this.db.prepare('SELECT fenced_index FROM fenced_brokers WHERE node_id = ?').get(c.nodeId) as { fenced_index: number } | undefined;
    if (c.kind === 'fenceBroker') {
      // Already fenced: the first fence stands (its index is what the broker must catch up to).
      if (row === undefined) this.db.prepare('INSERT INTO fenced_brokers (node_id, fenced_index, fenced_ms, reason) VALUES (?, ?, ?, ?)').run(c.nodeId, index, c.decidedAtMs, c.reason);
      return { ok: true };
    }
    if (row === undefined) return { ok: true };
    if (c.metadataAppliedIndex < row.fenced_index) {
      return { ok: false, error: 'invalid', message: `broker ${c.nodeId} had applied index ${c.metadataAppliedIndex}, below its fence at ${row.fenced_index}` };
    }
    this.db.prepare('DELETE FROM fenced_brokers WHERE node_id = ?').run(c.nodeId);
    return { ok: true };
  }

  private consumerGroupTables(): ConsumerGroupTables {
    if (this.groupTables?.db !== this.db) this.groupTables = new ConsumerGroupTables(this.db);
    return this.groupTables;
  }

  private insertConfigs(topic: string, configs: readonly (readonly [string, string])[]): void {
    const stmt = this.db.prepare('INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)');
    for (const [k, v] of configs) stmt.run(topic, k, v);
  }

  private insertPartitions(topic: string, first: number, replicas: readonly (readonly number[])[]): void {
    const stmt = this.db.prepare('INSERT INTO partitions (topic, partition, replicas, raft_group) VALUES (?, ?, ?, ?)');
    let next = Number(this.getMeta('next_raft_group') ?? String(FIRST_PARTITION_RAFT_GROUP));
    replicas.forEach((r, i) => stmt.run(topic, first + i, JSON.stringify(r), next++));
    this.setMeta('next_raft_group', String(next));
  }

  private getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Rebuilds the in-memory views (metadata changes are rare; a full reload keeps them obviously consistent). */
  private reload(): void {
    type BrokerRow = { node_id: number; host: string; port: number; cluster_host: string | null; cluster_port: number | null };
    this.brokerList = (this.db.prepare('SELECT node_id, host, port, cluster_host, cluster_port FROM brokers ORDER BY node_id').all() as BrokerRow[]).map((r) =>
      r.cluster_host === null || r.cluster_port === null
        ? { nodeId: r.node_id, host: r.host, port: r.port }
        : { nodeId: r.node_id, host: r.host, port: r.port, clusterHost: r.cluster_host, clusterPort: r.cluster_port },
    );
    type FencedRow = { node_id: number; fenced_index: number; fenced_ms: number; reason: BrokerFenceReason };
    this.fenced = new Map(
      (this.db.prepare('SELECT node_id, fenced_index, fenced_ms, reason FROM fenced_brokers ORDER BY node_id').all() as FencedRow[]).map((r) => [
        r.node_id,
        { nodeId: r.node_id, fencedIndex: r.fenced_index, fencedMs: r.fenced_ms, reason: r.reason },
      ]),
    );
    const configs = new Map<string, Map<string, string>>();
    for (const r of this.db.prepare('SELECT topic, key, value FROM topic_configs').all() as { topic: string; key: string; value: string }[]) {
      let m = configs.get(r.topic);
      if (!m) configs.set(r.topic, (m = new Map()));
      m.set(r.key, r.value);
    }
    const assignments = new Map<string, PartitionAssignment[]>();
    type Row = PartitionRow & { topic: string };
    for (const r of this.db.prepare('SELECT topic, partition, replicas, raft_group, leader, leader_term, adding_replicas, removing_replicas FROM partitions ORDER BY topic, partition').all() as Row[]) {
      let list = assignments.get(r.topic);
      if (!list) assignments.set(r.topic, (list = []));
      list.push(assignmentOfRow(r));
    }
    const topics = new Map<string, ClusterTopic>();
    const byId = new Map<string, ClusterTopic>();
    for (const r of this.db.prepare('SELECT name, topic_id, created_ms FROM topics').all() as { name: string; topic_id: Buffer; created_ms: number }[]) {
      const parts = assignments.get(r.name) ?? [];
      const t: ClusterTopic = {
        name: r.name,
        topicId: r.topic_id as TopicId,
        partitionCount: parts.length,
        configs: configs.get(r.name) ?? new Map(),
        createdMs: r.created_ms,
        assignments: parts,
      };
      topics.set(r.name, t);
      byId.set(r.topic_id.toString('hex'), t);
    }
    this.topics = topics;
    this.topicsById = byId;
  }

  close(): void {
    this.db.close();
  }
}

interface PartitionRow {
  partition: number;
  replicas: string;
  raft_group: number;
  leader: number;
  leader_term: number;
  adding_replicas: string;
  removing_replicas: string;
}

function assignmentOfRow(r: PartitionRow): PartitionAssignment {
  return {
    partition: r.partition,
    replicas: JSON.parse(r.replicas) as number[],
    raftGroup: r.raft_group,
    leader: r.leader,
    leaderTerm: r.leader_term,
    addingReplicas: JSON.parse(r.adding_replicas) as number[],
    removingReplicas: JSON.parse(r.removing_replicas) as number[],
  };
}

export type { ProducerId };
