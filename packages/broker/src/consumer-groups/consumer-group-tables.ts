// The SQLite tables of consumer-group state (group records and committed offsets) and their synchronous reads and
// writes, on a database someone else owns. Two owners use them: SqliteConsumerGroupStore (its own file, one
// transaction per write) and, in cluster mode, the metadata Raft group's state machine (inside the transaction that
// applies a committed entry). One schema and one row encoding for both, so they cannot drift.
import type { SqliteDatabase, SqliteStatement } from '../sqlite.js';
import type { PersistedGroup, PersistedMember } from './group-state-machine.js';
import type { CommittedOffset, StoredConsumerGroups, TopicPartitionRef } from './group-store.js';

export const CONSUMER_GROUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS consumer_groups (
  group_id TEXT PRIMARY KEY,
  protocol_type TEXT,
  protocol_name TEXT,
  generation_id INTEGER NOT NULL,
  leader_id TEXT,
  state_timestamp_ms INTEGER NOT NULL,
  members_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS committed_offsets (
  group_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  committed_offset INTEGER NOT NULL,
  leader_epoch INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  commit_timestamp_ms INTEGER NOT NULL,
  expire_timestamp_ms INTEGER,
  PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS committed_offsets_by_topic ON committed_offsets (topic);
`;

/** A group record in JSON form (member metadata and assignment bytes in base64): the members_json column and the
 *  replicated `putGroup` command both carry it. */
export interface PersistedGroupJson extends Omit<PersistedGroup, 'members'> {
  members: PersistedMemberJson[];
}

export interface PersistedMemberJson extends Omit<PersistedMember, 'subscription' | 'assignment'> {
  subscription: string;
  assignment: string;
}

export function groupToJson(record: PersistedGroup): PersistedGroupJson {
  return {
    ...record,
    members: record.members.map((m) => ({ ...m, subscription: m.subscription.toString('base64'), assignment: m.assignment.toString('base64') })),
  };
}

export function groupFromJson(json: PersistedGroupJson): PersistedGroup {
  return {
    ...json,
    members: json.members.map((m) => ({ ...m, subscription: Buffer.from(m.subscription, 'base64'), assignment: Buffer.from(m.assignment, 'base64') })),
  };
}

interface GroupRow {
  group_id: string;
  protocol_type: string | null;
  protocol_name: string | null;
  generation_id: number;
  leader_id: string | null;
  state_timestamp_ms: number;
  members_json: string;
}

interface OffsetRow {
  group_id: string;
  topic: string;
  partition: number;
  committed_offset: number;
  leader_epoch: number;
  metadata: string;
  commit_timestamp_ms: number;
  expire_timestamp_ms: number | null;
}

/** Statements over the tables; the caller decides the transaction boundaries. */
export class ConsumerGroupTables {
  private readonly upsertGroup: SqliteStatement;
  private readonly removeGroup: SqliteStatement;
  private readonly removeGroupOffsets: SqliteStatement;
  private readonly upsertOffset: SqliteStatement;
  private readonly removeOffset: SqliteStatement;
  private readonly removeTopicOffsets: SqliteStatement;

  /** Creates the tables if needed and prepares the statements on `db`. */
  constructor(readonly db: SqliteDatabase) {
    db.exec(CONSUMER_GROUP_SCHEMA);
    this.upsertGroup = db.prepare(
      `INSERT INTO consumer_groups (group_id, protocol_type, protocol_name, generation_id, leader_id, state_timestamp_ms, members_json)
       VALUES (@group_id, @protocol_type, @protocol_name, @generation_id, @leader_id, @state_timestamp_ms, @members_json)
       ON CONFLICT (group_id) DO UPDATE SET protocol_type = excluded.protocol_type, protocol_name = excluded.protocol_name,
         generation_id = excluded.generation_id, leader_id = excluded.leader_id, state_timestamp_ms = excluded.state_timestamp_ms,
         members_json = excluded.members_json`,
    );
    this.removeGroup = db.prepare('DELETE FROM consumer_groups WHERE group_id = ?');
    this.removeGroupOffsets = db.prepare('DELETE FROM committed_offsets WHERE group_id = ?');
    this.upsertOffset = db.prepare(
      `INSERT OR REPLACE INTO committed_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.removeOffset = db.prepare('DELETE FROM committed_offsets WHERE group_id = ? AND topic = ? AND partition = ?');
    this.removeTopicOffsets = db.prepare('DELETE FROM committed_offsets WHERE topic = ?');
  }

  load(): StoredConsumerGroups {
    const groups = (this.db.prepare('SELECT * FROM consumer_groups').all() as GroupRow[]).map(rowToGroup);
    const offsets = new Map<string, CommittedOffset[]>();
    for (const row of this.db.prepare('SELECT * FROM committed_offsets').all() as OffsetRow[]) {
      let list = offsets.get(row.group_id);
      if (list === undefined) offsets.set(row.group_id, (list = []));
      list.push({
        topic: row.topic,
        partition: row.partition,
        offset: row.committed_offset,
        leaderEpoch: row.leader_epoch,
        metadata: row.metadata,
        commitTimestampMs: row.commit_timestamp_ms,
        expireTimestampMs: row.expire_timestamp_ms,
      });
    }
    return { groups, offsets };
  }

  saveGroup(record: PersistedGroupJson): void {
    this.upsertGroup.run({
      group_id: record.groupId,
      protocol_type: record.protocolType,
      protocol_name: record.protocolName,
      generation_id: record.generationId,
      leader_id: record.leaderId,
      state_timestamp_ms: record.stateTimestampMs,
      members_json: JSON.stringify(record.members),
    });
  }

  deleteGroup(groupId: string): void {
    this.removeGroup.run(groupId);
    this.removeGroupOffsets.run(groupId);
  }

  commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): void {
    for (const o of offsets) {
      this.upsertOffset.run(groupId, o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata, o.commitTimestampMs, o.expireTimestampMs);
    }
  }

  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): void {
    for (const p of partitions) this.removeOffset.run(groupId, p.topic, p.partition);
  }

  deleteTopicOffsets(topic: string): void {
    this.removeTopicOffsets.run(topic);
  }
}

function rowToGroup(row: GroupRow): PersistedGroup {
  return groupFromJson({
    groupId: row.group_id,
    protocolType: row.protocol_type,
    protocolName: row.protocol_name,
    generationId: row.generation_id,
    leaderId: row.leader_id,
    stateTimestampMs: row.state_timestamp_ms,
    members: JSON.parse(row.members_json) as PersistedMemberJson[],
  });
}
