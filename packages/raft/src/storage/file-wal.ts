// Durable Raft storage: one write-ahead log per host shared by all of its Raft groups, so a host round
// makes every group's writes durable with a single fsync (group commit across groups).
//
// On disk (directory `dir`):
//   wal-<seq 20 digits>.log   segments of CRC-framed records: u32 payloadLength, u32 crc32(payload), payload
//   snap-<group>-<index>.bin  snapshot images: u32 crc32(data), data   (written + fsynced before the WAL names them)
// Record payloads (u64 = two u32 halves):
//   1 HardState   u32 group, u64 term, u32 vote, u64 commit
//   2 Entries     u32 group, u64 firstIndex, u32 count, count × (u64 term, u8 type, u32 len, data)
//   3 Snapshot    u32 group, u8 kind (0 installed from leader: drop all entries, 1 compaction: drop <= index,
//                 2 checkpoint: restates the base only), u64 index, u64 term, u32 confLen, conf
//   4 Removed     u32 group   (tombstone: the group is no longer hosted; forget everything before it)
// Every segment starts with a checkpoint (HardState + Snapshot kind 2) of every group, so a segment can be deleted
// once the newest segment's checkpoint covers every entry it holds. Replay may then meet a group's entries that
// continue from a deleted segment (a gap after an older checkpoint): it infers the base, and a later snapshot record
// (at the latest the newest checkpoint) must cover it — otherwise the WAL is corrupt. Recovery replays segments in order; a torn or corrupt record ends the
// last segment (the file is truncated there); in an earlier segment it is an error.
import { closeSync, constants, fsyncSync, openSync, readdirSync, readFileSync, unlinkSync, mkdirSync, ftruncateSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { decodeConf, encodeConf } from '../core/conf.js';
import type { Entry, EntryType, HardState, InitialState, NodeId, RaftGroupId, RaftIndex, Snapshot, SnapshotMeta, Term } from '../core/types.js';
import type { RaftStorage } from './storage.js';

export class WalCorruptError extends Error {
  override readonly name = 'WalCorruptError';
}

export interface FileWalOptions {
  /** Rotate to a new segment past this size. */
  readonly segmentBytesMax?: number;
  /** false only for benchmarks of the write path without the disk flush. */
  readonly fsync?: boolean;
}

const U32 = 0x100000000;
const REC_HARD = 1, REC_ENTRIES = 2, REC_SNAPSHOT = 3, REC_REMOVED = 4;
const SNAP_INSTALL = 0, SNAP_COMPACT = 1, SNAP_CHECKPOINT = 2;

interface GroupState {
  hardState: HardState;
  snapshot: SnapshotMeta;
  entries: Entry[];
  lastIndex: number;
  /** replay only: the base was inferred from entries continuing a deleted segment; a later snapshot record must cover it */
  inferredBase?: boolean;
}

function u64(buf: Buffer, pos: number, v: number): number { buf.writeUInt32BE(Math.floor(v / U32), pos); buf.writeUInt32BE(v >>> 0, pos + 4); return pos + 8; }
function r64(buf: Buffer, pos: number): number { return buf.readUInt32BE(pos) * U32 + buf.readUInt32BE(pos + 4); }

/** A record buffer with its 8-byte frame header reserved; the payload starts at offset 8. */
function allocRecord(payloadSize: number): Buffer { return Buffer.allocUnsafe(8 + payloadSize); }
/** Fills in the frame header (length, CRC of the payload) in place: no copy of the payload. */
function sealRecord(rec: Buffer): Buffer {
  const payload = rec.subarray(8);
  rec.writeUInt32BE(payload.length, 0);
  rec.writeUInt32BE(crc32(payload), 4);
  return rec;
}

function hardStateRecord(group: number, hs: HardState): Buffer {
  const rec = allocRecord(1 + 4 + 8 + 4 + 8);
  const p = rec.subarray(8);
  p.writeUInt8(REC_HARD, 0); p.writeUInt32BE(group, 1); u64(p, 5, hs.term); p.writeUInt32BE(hs.vote, 13); u64(p, 17, hs.commit);
  return sealRecord(rec);
}
function entriesRecord(group: number, entries: readonly Entry[]): Buffer {
  let size = 1 + 4 + 8 + 4;
  for (const e of entries) size += 13 + e.data.length;
  const rec = allocRecord(size);
  const p = rec.subarray(8);
  p.writeUInt8(REC_ENTRIES, 0); p.writeUInt32BE(group, 1); u64(p, 5, entries[0]!.index); p.writeUInt32BE(entries.length, 13);
  let pos = 17;
  for (const e of entries) {
    pos = u64(p, pos, e.term); pos = p.writeUInt8(e.type, pos); pos = p.writeUInt32BE(e.data.length, pos);
    p.set(e.data, pos); pos += e.data.length;
  }
  return sealRecord(rec);
}
function snapshotRecord(group: number, kind: number, meta: SnapshotMeta): Buffer {
  const conf = encodeConf(meta.conf);
  const rec = allocRecord(1 + 4 + 1 + 16 + 4 + conf.length);
  const p = rec.subarray(8);
  p.writeUInt8(REC_SNAPSHOT, 0); p.writeUInt32BE(group, 1); p.writeUInt8(kind, 5); u64(p, 6, meta.index); u64(p, 14, meta.term);
  p.writeUInt32BE(conf.length, 22); p.set(conf, 26);
  return sealRecord(rec);
}

function removedRecord(group: number): Buffer {
  const rec = allocRecord(1 + 4);
  const p = rec.subarray(8);
  p.writeUInt8(REC_REMOVED, 0); p.writeUInt32BE(group, 1);
  return sealRecord(rec);
}

/**
 * Segments are opened O_DSYNC where the platform has it: a writev then returns once the data is durable, one thread
 * pool round trip per group commit instead of two (writev, then fdatasync) — each round trip also waits for the
 * event loop, which is busy with the next pipelined round.
 */
const DSYNC_WRITES = typeof constants.O_DSYNC === 'number' && constants.O_DSYNC !== 0;
/**
 * libuv splits a writev of more buffers than IOV_MAX (1,024 on Linux) into several write calls, and on an O_DSYNC
 * segment each of them waits for the disk on its own: at 1,000 groups (two records each per round) one group commit
 * cost two or three disk flushes. A sync with more records than this copies them into one buffer first.
 */
const WRITEV_MAX_BUFFERS = 1024;

const segmentName = (seq: number) => `wal-${String(seq).padStart(20, '0')}.log`;
const snapName = (group: number, index: number) => `snap-${group}-${index}.bin`;

export class FileWal {
  private readonly groupsState = new Map<number, GroupState>();
  private readonly storages = new Map<number, FileRaftStorage>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private fd: FileHandle | null = null;
  private segmentSeq: number;
  private segmentBytes = 0;
  /** per live segment: group -> highest entry index written in it */
  private segmentMaxIndex = new Map<number, Map<number, number>>();
  /** group -> snapshot index in the checkpoint at the start of the current segment (durable once it is open) */
  private currentCheckpoint = new Map<number, number>();
  /** the segment being replayed (open) */
  private replaySeq = 0;
  private inflight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private obsoleteSnapFiles: string[] = [];
  /** snapshot images being written since the last sync: written and fsynced (with the directory) before the WAL records that name them */
  private unsyncedImages: { name: string; written: Promise<void> }[] = [];
  private imageSeq = 0;
  /** local compactions whose image is being made durable, one at a time and off the WAL's path; their record follows */
  private compactions: { group: number; snapshot: Snapshot }[] = [];
  private compactor: Promise<void> | null = null;
  private compactionError: Error | null = null;
  private closed = false;
  readonly stats = { syncs: 0, bytesWritten: 0, segmentsDeleted: 0, tornBytesTruncated: 0, syncMs: 0, imagesSynced: 0, imageSyncMs: 0, writesConcatenated: 0, compactionImages: 0 };

  private constructor(readonly dir: string, private readonly segmentBytesMax: number, private readonly doFsync: boolean, lastSeq: number) {
    this.segmentSeq = lastSeq;
  }

  static async open(dir: string, options: FileWalOptions = {}): Promise<FileWal> {
    mkdirSync(dir, { recursive: true });
    const names = readdirSync(dir).filter((n) => /^wal-\d{20}\.log$/.test(n)).sort();
    const wal = new FileWal(dir, options.segmentBytesMax ?? 64 << 20, options.fsync ?? true, 0);
    for (let i = 0; i < names.length; i++) {
      wal.replaySeq = Number(names[i]!.slice(4, 24));
      wal.segmentMaxIndex.set(wal.replaySeq, new Map());
      wal.replaySegment(names[i]!, i === names.length - 1);
    }
    for (const [g, st] of wal.groupsState) {
      if (st.inferredBase === true) throw new WalCorruptError(`raft group ${g}: entries from ${st.snapshot.index + 1} follow a deleted segment, and no snapshot record covers the entries before them`);
    }
    const lastSeq = names.length === 0 ? 0 : Number(names[names.length - 1]!.slice(4, 24));
    wal.segmentSeq = lastSeq;
    // start a fresh segment with a checkpoint; older segments stay until a checkpoint covers their entries
    for (const maxima of wal.segmentMaxIndex.values()) for (const g of maxima.keys()) if (!wal.groupsState.has(g)) maxima.delete(g);
    wal.deleteOrphanImages();
    await wal.rotate();
    await wal.syncNow(false);
    return wal;
  }


  private replaySegment(name: string, isLast: boolean): void {
    const path = join(this.dir, name);
    const buf = readFileSync(path);
    let pos = 0;
    while (pos < buf.length) {
      const bad = (why: string) => {
        if (!isLast) throw new WalCorruptError(`${name} at ${pos}: ${why} (not the last segment)`);
        this.stats.tornBytesTruncated += buf.length - pos;
        const fd = openSync(path, 'r+');
        try { ftruncateSync(fd, pos); fsyncSync(fd); } finally { closeSync(fd); }
      };
      if (pos + 8 > buf.length) { bad('torn record header'); return; }
      const len = buf.readUInt32BE(pos);
      if (pos + 8 + len > buf.length) { bad('torn record'); return; }
      const payload = buf.subarray(pos + 8, pos + 8 + len);
      if (crc32(payload) !== buf.readUInt32BE(pos + 4)) { bad('CRC mismatch'); return; }
      try { this.applyRecord(payload); } catch (err) {
        if (err instanceof WalCorruptError) throw err;
        throw new WalCorruptError(`${name} at ${pos}: undecodable record: ${(err as Error).message}`);
      }
      pos += 8 + len;
    }
  }

  private state(group: number): GroupState {
    let st = this.groupsState.get(group);
    if (st === undefined) {
      st = { hardState: { term: 0 as Term, vote: 0 as NodeId, commit: 0 as RaftIndex }, snapshot: { index: 0 as RaftIndex, term: 0 as Term, conf: { voters: [], learners: [] } }, entries: [], lastIndex: 0 };
      this.groupsState.set(group, st);
    }
    return st;
  }

  /** Half-written images, and images of groups no longer on disk (removed; the crash came before they were deleted). */
  private deleteOrphanImages(): void {
    for (const n of readdirSync(this.dir)) {
      const m = /^snap-(\d+)-\d+\.bin(\.\d+\.tmp)?$/.exec(n);
      if (m !== null && (m[2] !== undefined || !this.groupsState.has(Number(m[1])))) unlinkSync(join(this.dir, n));
    }
  }

  private applyRecord(p: Buffer): void {
    const type = p.readUInt8(0);
    const group = p.readUInt32BE(1);
    if (type === REC_REMOVED) {
      this.groupsState.delete(group);
      for (const maxima of this.segmentMaxIndex.values()) maxima.delete(group);
      return;
    }
    const st = this.state(group);
    if (type === REC_HARD) {
      st.hardState = { term: r64(p, 5) as Term, vote: p.readUInt32BE(13) as NodeId, commit: r64(p, 17) as RaftIndex };
    } else if (type === REC_ENTRIES) {
      const first = r64(p, 5);
      const count = p.readUInt32BE(13);
      const base = st.snapshot.index;
      if (first > base + st.entries.length + 1) {
        if (st.entries.length > 0) throw new WalCorruptError(`entries at ${first} leave a gap after ${base + st.entries.length}`);
        // the entries before `first` were in a deleted segment (a later checkpoint covers them): infer the base
        st.snapshot = { index: (first - 1) as RaftIndex, term: 0 as Term, conf: st.snapshot.conf };
        st.inferredBase = true;
      }
      let pos = 17;
      for (let k = 0; k < count; k++) {
        const t = r64(p, pos); const et = p.readUInt8(pos + 8); const len = p.readUInt32BE(pos + 9);
        pos += 13;
        const index = first + k;
        const data = Buffer.from(p.subarray(pos, pos + len));
        pos += len;
        if (index <= base) continue;
        st.entries.length = Math.min(st.entries.length, index - base - 1);
        st.entries.push({ index: index as RaftIndex, term: t as Term, type: et as EntryType, data });
      }
      st.lastIndex = base + st.entries.length;
      const maxima = this.segmentMaxIndex.get(this.replaySeq)!;
      if (count > 0) maxima.set(group, Math.max(maxima.get(group) ?? 0, first + count - 1));
    } else if (type === REC_SNAPSHOT) {
      const kind = p.readUInt8(5);
      const meta: SnapshotMeta = { index: r64(p, 6) as RaftIndex, term: r64(p, 14) as Term, conf: decodeConf(p.subarray(26, 26 + p.readUInt32BE(22))) };
      // a record older than an inferred base says nothing new (the entries it covers are gone)
      if (st.inferredBase === true && kind !== SNAP_INSTALL && meta.index < st.snapshot.index) return;
      st.inferredBase = false;
      if (kind === SNAP_INSTALL) st.entries = [];
      else if (kind === SNAP_COMPACT) st.entries = st.entries.slice(Math.max(0, meta.index - st.snapshot.index));
      else if (kind === SNAP_CHECKPOINT && meta.index !== st.snapshot.index) {
        st.entries = st.entries.filter((e) => e.index > meta.index);
      }
      st.snapshot = meta;
      st.lastIndex = meta.index + st.entries.length;
    } else {
      throw new WalCorruptError(`unknown record type ${type}`);
    }
  }

  /** Groups found on disk. */
  recoveredGroups(): RaftGroupId[] { return [...this.groupsState.keys()].sort((a, b) => a - b) as RaftGroupId[]; }

  /** The storage of one group; `bootstrap` is used when the group has nothing on disk yet. */
  storage(groupId: RaftGroupId, bootstrap?: InitialState): FileRaftStorage {
    let s = this.storages.get(groupId);
    if (s !== undefined) return s;
    const known = this.groupsState.has(groupId);
    const st = this.state(groupId);
    if (!known && bootstrap !== undefined) {
      st.hardState = bootstrap.hardState;
      st.snapshot = bootstrap.snapshot;
      st.entries = bootstrap.entries.slice();
      st.lastIndex = bootstrap.snapshot.index + st.entries.length;
      this.push(hardStateRecord(groupId, st.hardState));
      this.push(snapshotRecord(groupId, SNAP_CHECKPOINT, st.snapshot));
      if (st.entries.length > 0) this.push(entriesRecord(groupId, st.entries));
    }
    s = new FileRaftStorage(this, groupId);
    this.storages.set(groupId, s);
    return s;
  }

  /**
   * @internal Forgets a group: a tombstone record (so replay drops what came before it), no more checkpoints, and its
   * entries no longer hold segments back; its snapshot image is deleted once the tombstone is durable.
   */
  recordRemoval(group: number): void {
    const st = this.groupsState.get(group);
    this.push(removedRecord(group));
    this.groupsState.delete(group);
    this.storages.delete(group);
    for (const maxima of this.segmentMaxIndex.values()) maxima.delete(group);
    if (st !== undefined && st.snapshot.index > 0) this.obsoleteSnapFiles.push(snapName(group, st.snapshot.index));
  }

  /** @internal */ takeInitial(group: number): InitialState {
    const st = this.state(group);
    const out: InitialState = { hardState: st.hardState, snapshot: st.snapshot, entries: st.entries };
    st.entries = []; // the Raft core keeps the log in memory from here on
    return out;
  }
  /** @internal */ loadSnapshotData(group: number): Snapshot | null {
    const meta = this.state(group).snapshot;
    if (meta.index === 0) return null;
    let buf: Buffer;
    try { buf = readFileSync(join(this.dir, snapName(group, meta.index))); } catch { return null; }
    const data = buf.subarray(4);
    if (buf.length < 4 || crc32(data) !== buf.readUInt32BE(0)) throw new WalCorruptError(`snapshot image ${snapName(group, meta.index)} is corrupt`);
    return { meta, data };
  }
  /** @internal */ recordHardState(group: number, hs: HardState): void {
    this.state(group).hardState = hs;
    this.push(hardStateRecord(group, hs));
  }
  /** @internal */ recordEntries(group: number, entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const st = this.state(group);
    st.lastIndex = entries[entries.length - 1]!.index;
    let m = this.segmentMaxIndex.get(this.segmentSeq);
    if (m === undefined) { m = new Map(); this.segmentMaxIndex.set(this.segmentSeq, m); }
    m.set(group, Math.max(m.get(group) ?? 0, st.lastIndex));
    this.push(entriesRecord(group, entries));
  }
  /** @internal */ recordSnapshot(group: number, snapshot: Snapshot, kind: 'install' | 'compact'): void {
    if (kind === 'compact') {
      // Not urgent (the entries it drops are durable anyway): the image is written and fsynced in the background,
      // then its record is staged for the next sync. Writing images inline made that sync wait for every image's
      // write + fsync, and a burst of compactions (every group at once) filled the thread pool the WAL writes through.
      this.compactions.push({ group, snapshot });
      this.compactor ??= this.runCompactions();
      return;
    }
    const st = this.state(group);
    const previous = st.snapshot.index;
    // the image is durable before any WAL record names it: it is written now, off the event loop, and the next sync
    // waits for that write, fsyncs it (and the directory) and only then writes the WAL records staged with it
    const name = snapName(group, snapshot.meta.index);
    const written = this.writeImage(name, snapshot.data);
    written.catch(() => { /* reported by the sync that waits for it */ });
    this.unsyncedImages.push({ name, written });
    st.snapshot = snapshot.meta;
    if (kind === 'install') st.lastIndex = snapshot.meta.index;
    this.push(snapshotRecord(group, kind === 'install' ? SNAP_INSTALL : SNAP_COMPACT, snapshot.meta));
    if (previous > 0 && previous !== snapshot.meta.index) this.obsoleteSnapFiles.push(snapName(group, previous));
  }

  private async writeImage(name: string, data: Uint8Array, fsync = false): Promise<void> {
    const tmp = join(this.dir, `${name}.${++this.imageSeq}.tmp`); // unique: two writes of one name must not share it
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(crc32(data), 0);
    const h = await open(tmp, 'w');
    try {
      await h.writev([head, data]);
      if (fsync) await h.sync();
    } finally { await h.close(); }
    await rename(tmp, join(this.dir, name));
  }

  /** Writes queued compaction images one at a time (at most one thread-pool job), then stages their records. */
  private async runCompactions(): Promise<void> {
    try {
      while (this.compactions.length > 0 && !this.closed) {
        const written: { group: number; snapshot: Snapshot }[] = [];
        for (const c of this.compactions.splice(0)) {
          const st = this.groupsState.get(c.group);
          if (st === undefined || c.snapshot.meta.index <= st.snapshot.index) continue; // removed, or superseded by an install
          await this.writeImage(snapName(c.group, c.snapshot.meta.index), c.snapshot.data, this.doFsync);
          this.stats.compactionImages++;
          written.push(c);
        }
        if (written.length === 0) continue;
        if (this.doFsync) { const d = await open(this.dir, 'r'); try { await d.sync(); } finally { await d.close(); } }
        for (const c of written) {
          const st = this.groupsState.get(c.group);
          const name = snapName(c.group, c.snapshot.meta.index);
          if (st === undefined || c.snapshot.meta.index <= st.snapshot.index) { await unlink(join(this.dir, name)).catch(() => {}); continue; }
          const previous = st.snapshot.index;
          st.snapshot = c.snapshot.meta;
          this.push(snapshotRecord(c.group, SNAP_COMPACT, c.snapshot.meta));
          if (previous > 0) this.obsoleteSnapFiles.push(snapName(c.group, previous));
        }
      }
    } catch (err) {
      this.compactionError = err as Error; // storage failing: the next sync reports it (the host then stops)
    } finally {
      this.compactor = null;
    }
  }

  /** Resolves once every compaction requested so far has its image durable and its record staged (the next sync writes it). */
  async compactionsDone(): Promise<void> {
    while (this.compactor !== null) await this.compactor;
  }

  private push(rec: Buffer): void {
    if (this.closed) throw new Error('FileWal is closed');
    this.pending.push(rec);
    this.pendingBytes += rec.length;
  }

  /** Makes every write recorded so far durable. Concurrent callers share one fsync; one more round queues behind it. */
  sync(): Promise<void> {
    if (this.queued !== null) return this.queued;
    if (this.inflight === null) {
      this.inflight = this.syncNow().finally(() => { this.inflight = null; });
      return this.inflight;
    }
    const after = this.inflight;
    this.queued = after.then(() => { this.queued = null; return this.sync(); });
    return this.queued;
  }

  private async syncNow(allowRotate = true): Promise<void> {
    if (this.compactionError !== null) throw this.compactionError;
    if (this.pending.length === 0) return;
    const bufs = this.pending;
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    if (bytes !== this.pendingBytes) throw new Error(`invariant: ${this.pendingBytes} bytes counted as staged, ${bytes} staged`);
    const images = this.unsyncedImages;
    // only images superseded by records in THIS write may go after it is durable (not ones superseded meanwhile)
    const obsolete = this.obsoleteSnapFiles;
    this.pending = [];
    this.pendingBytes = 0;
    this.unsyncedImages = [];
    this.obsoleteSnapFiles = [];
    const t0 = performance.now();
    if (images.length > 0) {
      await Promise.all(images.map((i) => i.written));
      if (this.doFsync) await this.fsyncImages(images.map((i) => i.name));
      this.stats.imagesSynced += images.length;
      this.stats.imageSyncMs += performance.now() - t0;
    }
    const fd = this.fd!;
    const data = bufs.length > WRITEV_MAX_BUFFERS ? [Buffer.concat(bufs, bytes)] : bufs;
    if (data !== bufs) this.stats.writesConcatenated++;
    let written = 0;
    while (written < bytes) {
      const { bytesWritten } = await fd.writev(written === 0 ? data : [Buffer.concat(data).subarray(written)]);
      if (bytesWritten <= 0) throw new Error(`WAL write made no progress at ${written} of ${bytes} bytes`);
      written += bytesWritten;
    }
    // with O_DSYNC (see rotate) each write returned only once durable: no separate fdatasync round trip
    if (this.doFsync && !DSYNC_WRITES) await fd.datasync();
    this.stats.syncMs += performance.now() - t0;
    this.stats.syncs++;
    this.stats.bytesWritten += bytes;
    this.segmentBytes += bytes;
    if (obsolete.length > 0) await Promise.all(obsolete.map((name) => unlink(join(this.dir, name)).catch(() => { /* already gone */ })));
    if (allowRotate && this.segmentBytes >= this.segmentBytesMax) {
      await this.rotate();
      await this.syncNow(false);
      this.deleteObsoleteSegments();
    }
  }

  /** fsyncs snapshot image files (in parallel, off the event loop) and then the directory holding their names. */
  private async fsyncImages(names: readonly string[]): Promise<void> {
    await Promise.all(names.map(async (name) => {
      let h: FileHandle;
      try { h = await open(join(this.dir, name), 'r'); } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // superseded and deleted since
        throw err;
      }
      try { await h.sync(); } finally { await h.close(); }
    }));
    const d = await open(this.dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  }

  private async rotate(): Promise<void> {
    if (this.fd !== null) await this.fd.close();
    this.segmentSeq++;
    const dsync = this.doFsync && DSYNC_WRITES ? constants.O_DSYNC : 0;
    this.fd = await open(join(this.dir, segmentName(this.segmentSeq)), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | dsync, 0o644);
    this.segmentBytes = 0;
    this.segmentMaxIndex.set(this.segmentSeq, new Map());
    const checkpoint = new Map<number, number>();
    this.currentCheckpoint = checkpoint;
    if (this.doFsync) { const dfd = openSync(this.dir, 'r'); try { fsyncSync(dfd); } finally { closeSync(dfd); } }
    // The checkpoint goes FIRST in the segment, before records staged during the sync that rotates: replay may start
    // here (older segments deleted), and an entries record before its group's checkpoint would leave a gap after
    // base 0. The checkpoint already reflects those staged records (state is updated when a record is staged), and
    // replaying them after it changes nothing.
    const head: Buffer[] = [];
    for (const [g, st] of this.groupsState) {
      head.push(hardStateRecord(g, st.hardState), snapshotRecord(g, SNAP_CHECKPOINT, st.snapshot));
      checkpoint.set(g, st.snapshot.index);
    }
    // count only what is pushed here: records staged during the sync that rotates are already counted (counting
    // them twice made the writer loop forever on a 0-byte write, hanging every later sync)
    for (const b of head) this.pendingBytes += b.length;
    this.pending = head.concat(this.pending);
  }

  /**
   * Deletes the oldest segments whose entries the current segment's checkpoint covers (it is durable when this runs:
   * written first by the sync after the rotation). Not the live snapshot index: a compaction staged but not yet
   * written must not let a segment go (a crash would then leave a gap no record covers).
   */
  private deleteObsoleteSegments(): void {
    for (const seq of [...this.segmentMaxIndex.keys()].sort((a, b) => a - b)) {
      if (seq === this.segmentSeq) return;
      const maxima = this.segmentMaxIndex.get(seq)!;
      for (const [g, maxIndex] of maxima) if (maxIndex > (this.currentCheckpoint.get(g) ?? 0)) return;
      try { unlinkSync(join(this.dir, segmentName(seq))); } catch { /* already gone */ }
      this.segmentMaxIndex.delete(seq);
      this.stats.segmentsDeleted++;
    }
  }

  async close(): Promise<void> {
    await this.compactionsDone();
    await this.sync();
    this.closed = true;
    if (this.fd !== null) await this.fd.close();
    this.fd = null;
  }
}

/** RaftStorage of one group backed by the shared FileWal. sync() is the WAL's group commit. */
export class FileRaftStorage implements RaftStorage {
  private removed = false;
  constructor(private readonly wal: FileWal, readonly groupId: RaftGroupId) {}
  /** A write after remove() would silently recreate the group's state: a caller bug. */
  private live(): FileWal {
    if (this.removed) throw new Error(`raft group ${this.groupId} was removed from this WAL`);
    return this.wal;
  }
  load(): InitialState { return this.live().takeInitial(this.groupId); }
  loadSnapshot(): Snapshot | null { return this.live().loadSnapshotData(this.groupId); }
  setHardState(hs: HardState): void { this.live().recordHardState(this.groupId, hs); }
  append(entries: readonly Entry[]): void { this.live().recordEntries(this.groupId, entries); }
  applySnapshot(snapshot: Snapshot): void { this.live().recordSnapshot(this.groupId, snapshot, 'install'); }
  compact(snapshot: Snapshot): void { this.live().recordSnapshot(this.groupId, snapshot, 'compact'); }
  remove(): void { this.live().recordRemoval(this.groupId); this.removed = true; }
  sync(): Promise<void> { return this.wal.sync(); }
}
