// Catalogue kept in SQLite (better-sqlite3) at <dataDir>/metadata.sqlite, WAL mode, synchronous=FULL:
// every change is durable when the call returns. All calls are synchronous and cheap; topics are cached.
import { openSqlite, type SqliteDatabase } from '../sqlite.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Catalogue, CreateTopicResult, ProducerId, TopicId, TopicRecord } from './catalogue.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
  name TEXT PRIMARY KEY,
  topic_id BLOB NOT NULL UNIQUE,
  partition_count INTEGER NOT NULL CHECK (partition_count > 0),
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS topic_configs (
  topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (topic, key)
);
`;

/** Producer ids are handed out from blocks reserved in the database, so allocation is rarely a disk write. */
const PRODUCER_ID_BLOCK = 1000;

function newTopicId(): TopicId {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
    if (!id.equals(Buffer.alloc(16))) return id as TopicId;
  }
}

/** A cluster id in the style Kafka uses: 16 random bytes as URL-safe base64 without padding (22 chars). */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

export class SqliteCatalogue implements Catalogue {
  private readonly db: SqliteDatabase;
  private readonly topics = new Map<string, TopicRecord>();
  private readonly topicsById = new Map<string, TopicRecord>();
  readonly clusterId: string;
  private nextProducerId = 0;
  private producerIdLimit = 0;

  private constructor(path: string, configuredClusterId: string | undefined) {
    this.db = openSqlite(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    const stored = this.getMeta('cluster_id');
    if (stored !== undefined && configuredClusterId !== undefined && stored !== configuredClusterId) {
      this.db.close();
      throw new Error(
        `TRIBUTARY_CLUSTER_ID is "${configuredClusterId}" but the data directory belongs to cluster "${stored}"`,
      );
    }
    this.clusterId = stored ?? configuredClusterId ?? newClusterId();
    if (stored === undefined) this.setMeta('cluster_id', this.clusterId);
    this.loadTopics();
  }

  static open(path: string, configuredClusterId?: string): SqliteCatalogue {
    return new SqliteCatalogue(path, configuredClusterId);
  }

  private getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  private loadTopics(): void {
    const rows = this.db.prepare('SELECT name, topic_id, partition_count, created_ms FROM topics').all() as {
      name: string;
      topic_id: Buffer;
      partition_count: number;
      created_ms: number;
    }[];
    const configRows = this.db.prepare('SELECT topic, key, value FROM topic_configs').all() as {
      topic: string;
      key: string;
      value: string;
    }[];
    const configs = new Map<string, Map<string, string>>();
    for (const r of configRows) {
      let m = configs.get(r.topic);
      if (!m) configs.set(r.topic, (m = new Map()));
      m.set(r.key, r.value);
    }
    for (const r of rows) {
      this.cache({
        name: r.name,
        topicId: r.topic_id as TopicId,
        partitionCount: r.partition_count,
        configs: configs.get(r.name) ?? new Map(),
        createdMs: r.created_ms,
      });
    }
  }

  private cache(topic: TopicRecord): TopicRecord {
    this.topics.set(topic.name, topic);
    this.topicsById.set(topic.topicId.toString('hex'), topic);
    return topic;
  }

  listTopics(): readonly TopicRecord[] {
    return [...this.topics.values()];
  }

  getTopic(name: string): TopicRecord | undefined {
    return this.topics.get(name);
  }

  getTopicById(topicId: Buffer): TopicRecord | undefined {
    return this.topicsById.get(topicId.toString('hex'));
  }

  createTopic(name: string, partitionCount: number, configs: ReadonlyMap<string, string>, nowMs: number): CreateTopicResult {
    if (this.topics.has(name)) return { ok: false, reason: 'exists' };
    const topicId = newTopicId();
    const insertConfig = this.db.prepare('INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO topics (name, topic_id, partition_count, created_ms) VALUES (?, ?, ?, ?)')
        .run(name, topicId, partitionCount, nowMs);
      for (const [k, v] of configs) insertConfig.run(name, k, v);
    })();
    const topic = this.cache({ name, topicId, partitionCount, configs: new Map(configs), createdMs: nowMs });
    return { ok: true, topic };
  }

  deleteTopic(name: string): boolean {
    const topic = this.topics.get(name);
    if (!topic) return false;
    this.db.prepare('DELETE FROM topics WHERE name = ?').run(name);
    this.topics.delete(name);
    this.topicsById.delete(topic.topicId.toString('hex'));
    return true;
  }

  setPartitionCount(name: string, partitionCount: number): TopicRecord {
    const topic = this.mustGet(name);
    this.db.prepare('UPDATE topics SET partition_count = ? WHERE name = ?').run(partitionCount, name);
    return this.cache({ ...topic, partitionCount });
  }

  replaceTopicConfigs(name: string, configs: ReadonlyMap<string, string>): TopicRecord {
    const topic = this.mustGet(name);
    const insertConfig = this.db.prepare('INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM topic_configs WHERE topic = ?').run(name);
      for (const [k, v] of configs) insertConfig.run(name, k, v);
    })();
    return this.cache({ ...topic, configs: new Map(configs) });
  }

  allocateProducerId(): ProducerId {
    if (this.nextProducerId >= this.producerIdLimit) {
      const start = Number(this.getMeta('next_producer_id_block') ?? '0');
      this.setMeta('next_producer_id_block', String(start + PRODUCER_ID_BLOCK));
      this.nextProducerId = start;
      this.producerIdLimit = start + PRODUCER_ID_BLOCK;
    }
    return this.nextProducerId++ as ProducerId;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private mustGet(name: string): TopicRecord {
    const topic = this.topics.get(name);
    if (!topic) throw new Error(`assertion: topic ${name} is not in the catalogue`);
    return topic;
  }
}
