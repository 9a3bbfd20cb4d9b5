// Snapshots of the metadata Raft group. The state is the SQLite catalogue: a snapshot is a VACUUM INTO copy taken
// at the applied index I (the copy's own meta rows hold I and its term, written in the same transaction as each
// apply), uploaded as the framed, gzip'd rest payload. After the upload is verified the group's Raft log is compacted
// up to I with a small reference image (writer prefix, index, term): the data lives in the object store.
//
// This object is also the group's state machine glue for the Raft host:
// - restore(snapshot) at addGroup (restart): the local applied_index >= I almost always (nothing to do); a store
//   that lost its tail below I (power loss with synchronous=NORMAL) restores from the object store like a follower.
// - restore(snapshot) at runtime (InstallSnapshot to a lagging or wiped follower): download the newest verified
//   snapshot with index >= I (the referenced prefix first, then every other node's), stage and check it, swap the
//   SQLite file in, reopen. Committed entries arriving meanwhile are queued, then applied skipping those <= the
//   restored index. The Raft host's apply is synchronous, so queueing is what keeps it from blocking on a download.
import { createReadStream, createWriteStream, readdirSync, rmSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { CorruptedSnapshot, raftIndex, raftTerm, type ClusterId, type RaftIndex, type RestoreReader, type SnapshotContent, type SnapshotSink, type SnapshotSourceStatus } from '@tributary/snapshot';
import type { Entry, RaftHost, RaftGroupId, Snapshot, SnapshotMeta } from '@tributary/raft';
import { openSqlite } from '../../sqlite.js';
import type { MetadataStore } from '../metadata-store.js';
import type { HostedSnapshotSource, SnapshotService } from './snapshot-service.js';
import { snapshotGroupOf } from './snapshot-service.js';
import { decodeSnapshotReference, encodeSnapshotReference } from './snapshot-reference.js';
import { sleep } from '../sleep.js';

const RESTORE_RETRY_BASE_MS = 500;
const RESTORE_RETRY_MAX_MS = 30_000;

/**
 * A snapshot sink that writes the rest payload (a SQLite file) to `stagedPath`, fsyncs it and checks that it is a
 * sound catalogue at the manifest's index. The caller swaps it in (MetadataStore.replaceDatabase) after restore.
 */
export class SqliteFileSink implements SnapshotSink {
  constructor(private readonly stagedPath: string) {}

  async restore(reader: RestoreReader): Promise<void> {
    await rm(this.stagedPath, { force: true });
    await pipeline(await reader.openRest(), createWriteStream(this.stagedPath));
    const handle = await open(this.stagedPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const db = openSqlite(this.stagedPath);
    try {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new CorruptedSnapshot(`restored metadata database fails quick_check: ${String(check)}`);
      const row = db.prepare("SELECT value FROM meta WHERE key = 'applied_index'").get() as { value: string } | undefined;
      const applied = Number(row?.value ?? '0');
      if (applied !== reader.manifest.index) {
        throw new CorruptedSnapshot(`restored metadata database is at applied index ${applied}, its manifest says ${reader.manifest.index}`);
      }
    } catch (error) {
      if (error instanceof CorruptedSnapshot) throw error;
      throw new CorruptedSnapshot('restored metadata database cannot be read', { cause: error });
    } finally {
      db.close();
    }
  }

  async discard(): Promise<void> {
    await rm(this.stagedPath, { force: true });
  }
}

export class MetadataGroupSnapshots implements HostedSnapshotSource {
  readonly raftGroupId;
  /** The image Raft holds for its snapshot (what snapshotData hands to InstallSnapshot). */
  private image: { index: number; data: Uint8Array } | null = null;
  /** Terms of snapshots taken but not yet compacted behind, by index. */
  private readonly takenTerms = new Map<number, number>();
  private host: RaftHost | undefined;
  private restoring: Promise<void> | null = null;
  private requiredIndex = 0;
  private referencedWriter: ClusterId | null = null;
  private queued: Entry[] = [];
  private closed = false;
  private readonly caughtUpWaiters: (() => void)[] = [];

  constructor(
    private readonly raftGroup: RaftGroupId,
    private readonly store: MetadataStore,
    private readonly service: SnapshotService,
    /** Temporary VACUUM INTO copies and staged restores (inside the node's data directory). */
    private readonly workDir: string,
    private readonly logger: Logger,
  ) {
    this.raftGroupId = snapshotGroupOf(raftGroup);
    // Leftovers of a crash mid-snapshot or mid-restore are never reused.
    try {
      for (const name of readdirSync(workDir)) if (name.startsWith('metadata-')) rmSync(join(workDir, name), { force: true });
    } catch {
      // no work directory yet
    }
  }

  attachHost(host: RaftHost): void {
    this.host = host;
  }

  close(): void {
    this.closed = true;
  }

  // ---------------------------------------------------------------- Raft state machine side

  apply(entries: readonly Entry[]): void {
    if (this.restoring !== null) {
      this.queued.push(...entries);
      return;
    }
    this.store.apply(entries);
  }

  restore(snapshot: Snapshot): void {
    const reference = decodeSnapshotReference(snapshot.data);
    if (this.image === null || snapshot.meta.index >= this.image.index) this.image = { index: snapshot.meta.index, data: snapshot.data };
    if (this.restoring === null && this.store.appliedIndex >= snapshot.meta.index) return; // restart: state already there
    this.requiredIndex = Math.max(this.requiredIndex, snapshot.meta.index);
    this.referencedWriter = reference.writer;
    this.logger.info({ raftGroup: this.raftGroup, snapshotIndex: snapshot.meta.index, appliedIndex: this.store.appliedIndex, writer: reference.writer }, 'metadata group behind its Raft snapshot; restoring from the object store');
    this.restoring ??= this.runRestore();
  }

  snapshotData(meta: SnapshotMeta): Uint8Array | null {
    return this.image !== null && this.image.index === meta.index ? this.image.data : null;
  }

  /** Resolves when no restore is running (immediately if none is). */
  whenCaughtUp(): Promise<void> {
    if (this.restoring === null) return Promise.resolve();
    return new Promise((r) => this.caughtUpWaiters.push(r));
  }

  private async runRestore(): Promise<void> {
    const startedMs = Date.now();
    for (let attempt = 1; !this.closed; attempt++) {
      const target = this.requiredIndex;
      const staged = join(this.workDir, `metadata-restore-${target}.sqlite`);
      try {
        await mkdir(this.workDir, { recursive: true });
        const result = await this.service.restoreAtLeast(this.raftGroup, target, this.service.writersFor(this.referencedWriter), new SqliteFileSink(staged));
        if (result.index === null) throw new Error(`no usable metadata snapshot with index >= ${target} in any node's prefix`);
        if (this.closed) break;
        this.store.replaceDatabase(staged);
        this.logger.info(
          { raftGroup: this.raftGroup, index: result.index, term: result.term, writer: result.writer, durationMs: Date.now() - startedMs, skipped: result.skipped.length },
          'metadata group restored from snapshot',
        );
        if (this.store.appliedIndex >= this.requiredIndex) break; // else a newer InstallSnapshot arrived meanwhile
      } catch (error) {
        await rm(staged, { force: true }).catch(() => undefined);
        const retryInMs = Math.min(RESTORE_RETRY_MAX_MS, RESTORE_RETRY_BASE_MS * 2 ** Math.min(10, attempt - 1));
        this.logger.warn({ raftGroup: this.raftGroup, err: error, attempt, retryInMs }, 'metadata restore failed; retrying');
        await sleep(retryInMs);
      }
    }
    const queued = this.queued;
    this.queued = [];
    this.restoring = null;
    if (!this.closed && queued.length > 0) this.store.apply(queued); // entries <= the restored index are skipped there
    for (const w of this.caughtUpWaiters.splice(0)) w();
  }

  // ---------------------------------------------------------------- SnapshotSource side

  isCaughtUp(): boolean {
    return this.restoring === null;
  }

  status(): SnapshotSourceStatus {
    return { appliedIndex: raftIndex(this.store.appliedIndex), appliedTerm: raftTerm(this.store.appliedTerm), lastWriteAtMs: this.store.lastWriteAtMs };
  }

  lastSnapshotIndex(): RaftIndex {
    return raftIndex(this.image?.index ?? 0);
  }

  raftLogSpan(): { firstIndex: number; lastIndex: number } | undefined {
    const raft = this.host?.group(this.raftGroup);
    return raft === undefined ? undefined : { firstIndex: raft.firstIndex, lastIndex: raft.lastIndex };
  }

  async createSnapshot(): Promise<SnapshotContent> {
    if (this.restoring !== null) throw new Error('the metadata group is restoring from a snapshot; nothing to snapshot yet');
    await mkdir(this.workDir, { recursive: true });
    const path = join(this.workDir, `metadata-snapshot-${process.pid}-${Date.now()}.sqlite`);
    const position = this.store.vacuumInto(path);
    this.takenTerms.set(position.index, position.term);
    return {
      index: raftIndex(position.index),
      term: raftTerm(position.term),
      membership: Buffer.from(JSON.stringify({ voters: this.service.nodeIds })),
      rest: createReadStream(path, { highWaterMark: 256 * 1024 }),
      release: () => rm(path, { force: true }),
    };
  }

  async compactLog(upToIndex: RaftIndex): Promise<void> {
    const host = this.host;
    if (host === undefined) throw new Error('assertion: metadata snapshots compacted before the Raft host was attached');
    const term = this.takenTerms.get(upToIndex);
    if (term === undefined) throw new Error(`assertion: compaction to ${upToIndex} without a snapshot taken there`);
    const data = encodeSnapshotReference({ writer: this.service.writer, index: upToIndex, term });
    // A newer image (an InstallSnapshot received meanwhile) stays: Raft's snapshot is already past this index.
    if (this.image !== null && this.image.index >= upToIndex) return;
    host.compact(this.raftGroup, upToIndex, data);
    this.image = { index: upToIndex, data };
    for (const index of this.takenTerms.keys()) if (index <= upToIndex) this.takenTerms.delete(index);
  }
}
