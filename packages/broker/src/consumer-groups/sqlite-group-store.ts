// ConsumerGroupStore on better-sqlite3 at <dataDir>/consumer-groups.sqlite (WAL, synchronous=FULL): every
// write is one transaction, durable when the call returns.
import { openSqlite, type SqliteDatabase } from '../sqlite.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConsumerGroupTables, groupToJson } from './consumer-group-tables.js';
import type { PersistedGroup } from './group-state-machine.js';
import type { CommittedOffset, ConsumerGroupStore, StoredConsumerGroups, TopicPartitionRef } from './group-store.js';

export const CONSUMER_GROUPS_DB_FILE = 'consumer-groups.sqlite';

export class SqliteConsumerGroupStore implements ConsumerGroupStore {
  private readonly tables: ConsumerGroupTables;

  private constructor(private readonly db: SqliteDatabase) {
    this.tables = new ConsumerGroupTables(db);
  }

  /** Opens (creating if needed) the database in `dataDir`. */
  static open(dataDir: string): SqliteConsumerGroupStore {
    mkdirSync(dataDir, { recursive: true });
    const db = openSqlite(join(dataDir, CONSUMER_GROUPS_DB_FILE));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    return new SqliteConsumerGroupStore(db);
  }

  async load(): Promise<StoredConsumerGroups> {
    return this.tables.load();
  }

  async saveGroup(record: PersistedGroup): Promise<void> {
    this.tables.saveGroup(groupToJson(record));
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.db.transaction(() => this.tables.deleteGroup(groupId))();
  }

  async commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    this.db.transaction(() => this.tables.commitOffsets(groupId, offsets))();
  }

  async deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void> {
    this.db.transaction(() => this.tables.deleteOffsets(groupId, partitions))();
  }

  async deleteTopicOffsets(topic: string): Promise<void> {
    this.tables.deleteTopicOffsets(topic);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
