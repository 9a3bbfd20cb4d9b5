// The SnapshotSource of one partition replica. Every replica snapshots its own state into its own object-store prefix
// (one writer per prefix) and compacts its own Raft log only up to a snapshot that is uploaded and verified.
//
// createSnapshot at applied index I: capture the state synchronously (apply is synchronous, so index, log end,
// segment bytes and producer state agree), flush the log, then hand out the sealed segment files as pieces (content
// id = base offset + length + CRC32: stable, so a sealed segment is uploaded once and referenced later), the active
// segment's full chunks of `activeChunkBytes` as pieces too, and, as the rest payload, the JSON header plus the active
// segment's bytes after its last full chunk up to the log end at I (partition-snapshot-format.ts). Why chunks: with
// the default segment.bytes of 1 GiB nearly all of a partition is in its active segment, and re-reading, gzipping,
// uploading and verifying all of it on every snapshot cost produce latency (docs/BENCHMARKS.md); the active segment
// is append-only, so a full chunk never changes and each is uploaded once, like a sealed segment.
//
// compactLog(I): capture the current state C >= I, make the log durable up to it, write the local checkpoint
// <C, term, nextOffset, producer state> (through the replica's PartitionCheckpointWriter, shared with the commands
// that trim the log, so checkpoints never go backwards), then host.compact(raftGroup, I, reference) where the
// reference (a few bytes) names this node's prefix, I and its term.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  filePiece, raftIndex, raftTerm,
  type ClusterId, type RaftGroupId as SnapshotGroupId, type RaftIndex as SnapshotIndex, type SnapshotContent, type SnapshotPiece, type SnapshotSourceStatus,
} from '@tributary/snapshot';
import type { RaftPartition } from '../raft-partition.js';
import {
  activeChunkPieceName, encodePartitionRest, fileCrc32, parseSegmentFileName, segmentFileName, segmentIndexFileNames, type PartitionSnapshotMeta,
} from './partition-snapshot-format.js';
import { encodeSnapshotReference } from './snapshot-reference.js';
import type { HostedSnapshotSource } from './snapshot-service.js';

/** Positions of created snapshots remembered for compactLog (term of the reference). */
const CREATED_KEPT = 8;
/**
 * Size of the active segment's chunk pieces. Smaller: a snapshot re-sends less of the tail, but a partition has more
 * objects (a 1 GiB segment is 256 of these); 4 MiB keeps the tail cheap next to the segment's growth per snapshot.
 */
export const ACTIVE_CHUNK_BYTES_DEFAULT = 4 << 20;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

interface SegmentFile {
  readonly baseOffset: number;
  readonly path: string;
  readonly sizeBytes: number;
}

export interface PartitionSnapshotSourceOptions {
  readonly raftGroupId: SnapshotGroupId;
  readonly partition: RaftPartition;
  /** The partition log's directory. */
  readonly dir: string;
  /** This node's writer prefix (`<clusterId>.node-<n>`), named in the compaction reference. */
  readonly ownWriter: ClusterId;
  /** The group's membership at snapshot time (opaque bytes in the snapshot header). */
  readonly membership: () => Buffer;
  /** Where the group's Raft log starts and ends in memory (admin view: compaction shrinks it). */
  readonly raftLogSpan?: () => { firstIndex: number; lastIndex: number } | undefined;
  /** Size of the active segment's chunk pieces (ACTIVE_CHUNK_BYTES_DEFAULT; tests use small ones). */
  readonly activeChunkBytes?: number;
}

export class PartitionSnapshotSource implements HostedSnapshotSource {
  readonly raftGroupId: SnapshotGroupId;
  /** Sealed segments are immutable: their content ids are computed once. */
  private readonly sealedContentIds = new Map<string, string>();
  /** Full chunks of an active segment are immutable too: content ids by file identity and chunk index. */
  private readonly chunkContentIds = new Map<string, string>();
  private readonly activeChunkBytes: number;
  private readonly created = new Map<number, number>();
  private readonly startIndex: number;

  constructor(private readonly options: PartitionSnapshotSourceOptions) {
    this.raftGroupId = options.raftGroupId;
    this.startIndex = options.partition.appliedPosition().raftIndex;
    this.activeChunkBytes = options.activeChunkBytes ?? ACTIVE_CHUNK_BYTES_DEFAULT;
    if (!Number.isSafeInteger(this.activeChunkBytes) || this.activeChunkBytes <= 0) throw new RangeError(`activeChunkBytes ${this.activeChunkBytes}`);
  }

  status(): SnapshotSourceStatus {
    const p = this.options.partition.appliedPosition();
    return { appliedIndex: raftIndex(p.raftIndex), appliedTerm: raftTerm(p.raftTerm), lastWriteAtMs: p.lastWriteAtMs };
  }

  /** The Raft position the replica started from (its checkpoint or restored snapshot): no need to snapshot it again. */
  lastSnapshotIndex(): SnapshotIndex {
    return raftIndex(this.startIndex);
  }

  isCaughtUp(): boolean {
    return this.options.partition.isCaughtUp();
  }

  raftLogSpan(): { firstIndex: number; lastIndex: number } | undefined {
    return this.options.raftLogSpan?.();
  }

  async createSnapshot(): Promise<SnapshotContent> {
    const { partition, dir } = this.options;
    const state = partition.captureState();
    if (state === null) throw new Error(`partition ${dir} is restoring or replaying its log; snapshot later`);
    const membership = this.options.membership();
    await partition.flushLog();
    const segments = await this.segmentsBelow(state.nextOffset);
    // A log-start command applied since the capture may have deleted segments the state counts: not this time.
    if (partition.logStartOffset !== state.logStartOffset) throw new Error(`partition ${dir} was trimmed while snapshotting; snapshot later`);
    const pieces: SnapshotPiece[] = [];
    let active: PartitionSnapshotMeta['active'] = null;
    let activePath: string | null = null;
    const last = segments[segments.length - 1];
    if (last !== undefined) {
      let sealedBytes = 0;
      for (const segment of segments.slice(0, -1)) {
        sealedBytes += segment.sizeBytes;
        pieces.push(await this.pieceOf(segment.path, segmentFileName(segment.baseOffset)));
        // A sealed segment's index files are immutable too: restored with it, the log trusts the segment at open
        // instead of scanning it (see the sink's recovery-point). Missing ones (never written) are rebuilt there.
        for (const name of segmentIndexFileNames(segment.baseOffset)) {
          const path = join(dir, name);
          if (await exists(path)) pieces.push(await this.pieceOf(path, name));
        }
      }
      const activeBytes = state.sizeBytes - sealedBytes;
      if (activeBytes < 0 || activeBytes > last.sizeBytes) {
        throw new Error(`assertion: active segment ${last.path} holds ${last.sizeBytes} bytes, the snapshot needs ${activeBytes}`);
      }
      const fileName = segmentFileName(last.baseOffset);
      const chunkCount = Math.floor(activeBytes / this.activeChunkBytes);
      for (let chunkIndex = 0; chunkIndex < chunkCount; chunkIndex++) pieces.push(await this.chunkPieceOf(last.path, fileName, chunkIndex));
      active = { fileName, lengthBytes: activeBytes, chunkBytes: this.activeChunkBytes, chunkCount };
      activePath = last.path;
    }
    // Drop cached chunk ids of segments no longer active (sealed now, or deleted by retention).
    const activePrefix = active === null ? null : `${active.fileName}:`;
    for (const key of this.chunkContentIds.keys()) if (activePrefix === null || !key.startsWith(activePrefix)) this.chunkContentIds.delete(key);
    const meta: PartitionSnapshotMeta = {
      version: 2,
      raftIndex: state.raftIndex,
      raftTerm: state.raftTerm,
      logStartOffset: state.logStartOffset,
      nextOffset: state.nextOffset,
      active,
      producers: state.producers,
      epochs: state.epochs,
    };
    this.created.set(state.raftIndex, state.raftTerm);
    // only the newest few can still be compacted to (a failed upload leaves its entry behind)
    for (const index of [...this.created.keys()].sort((a, b) => a - b).slice(0, -CREATED_KEPT)) this.created.delete(index);
    return {
      index: raftIndex(state.raftIndex),
      term: raftTerm(state.raftTerm),
      membership,
      pieces,
      rest: Readable.from(encodePartitionRest(meta, activePath)),
    };
  }

  async compactLog(upToIndex: SnapshotIndex): Promise<void> {
    const { partition, dir } = this.options;
    const term = this.created.get(upToIndex);
    if (term === undefined) throw new Error(`assertion: compaction to ${upToIndex} of a snapshot this source did not create`);
    const state = partition.captureState();
    if (state === null) throw new Error(`partition ${dir} is restoring or replaying its log; compact later`);
    if (state.raftIndex < upToIndex) throw new Error(`assertion: applied index ${state.raftIndex} is below the snapshot ${upToIndex}`);
    // Durable up to the checkpoint whatever the log's fsync policy (the writer fsyncs the segments): the Raft log
    // below it is about to go. Skipped when a command already wrote a newer one (it covers this index too).
    await partition.flushLog();
    await partition.writeCheckpoint(state);
    partition.compactRaftLog(upToIndex, encodeSnapshotReference({ writer: this.options.ownWriter, index: upToIndex, term }));
    for (const index of [...this.created.keys()]) if (index <= upToIndex) this.created.delete(index);
  }

  /** Segment files holding offsets below `nextOffset`, oldest first. */
  private async segmentsBelow(nextOffset: number): Promise<SegmentFile[]> {
    const out: SegmentFile[] = [];
    for (const name of await readdir(this.options.dir)) {
      const base = parseSegmentFileName(name);
      if (base === null || base >= nextOffset) continue;
      const path = join(this.options.dir, name);
      out.push({ baseOffset: base, path, sizeBytes: (await stat(path)).size });
    }
    return out.sort((a, b) => a.baseOffset - b.baseOffset);
  }

  /** A piece of an immutable file; its content id (name, length, CRC32) is computed once per file version. */
  private async pieceOf(path: string, name: string): Promise<SnapshotPiece> {
    const st = await stat(path);
    const key = `${name}:${st.size}:${st.mtimeMs}`;
    let id = this.sealedContentIds.get(key);
    if (id === undefined) {
      const { crc32, lengthBytes } = await fileCrc32(path);
      if (lengthBytes !== st.size) throw new Error(`assertion: sealed file ${path} changed size while read`);
      id = `${name.replace('.', '-')}-${lengthBytes}-${crc32.toString(16).padStart(8, '0')}`;
      this.sealedContentIds.set(key, id);
    }
    return filePiece(path, { name, contentId: id });
  }

  /**
   * Chunk `chunkIndex` of the active segment at `path` (a full chunk, below the captured log end: never rewritten).
   * Its content id (segment, chunk index, length, CRC32) is computed once per file: the cache key holds the inode
   * and birth time, so a segment file deleted and written anew under the same name is checksummed again.
   */
  private async chunkPieceOf(path: string, fileName: string, chunkIndex: number): Promise<SnapshotPiece> {
    const st = await stat(path);
    const lengthBytes = this.activeChunkBytes;
    const start = chunkIndex * lengthBytes;
    const end = start + lengthBytes - 1;
    if (end >= st.size) throw new Error(`assertion: chunk ${chunkIndex} of ${path} ends past the file (${st.size} bytes)`);
    const name = activeChunkPieceName(fileName, chunkIndex);
    const key = `${fileName}:${st.ino}:${st.birthtimeMs}:${lengthBytes}:${chunkIndex}`;
    let contentId = this.chunkContentIds.get(key);
    if (contentId === undefined) {
      const { crc32, lengthBytes: read } = await fileCrc32(path, { start, end });
      if (read !== lengthBytes) throw new Error(`assertion: chunk ${chunkIndex} of ${path} read ${read} of ${lengthBytes} bytes`);
      contentId = `${fileName.replace('.', '-')}-chunk${chunkIndex}-${lengthBytes}-${crc32.toString(16).padStart(8, '0')}`;
      this.chunkContentIds.set(key, contentId);
    }
    return { name, contentId, lengthBytes, open: () => createReadStream(path, { start, end, highWaterMark: 256 * 1024 }) };
  }

}
