// Restoring a partition replica's state from the object store: into a staging directory next to the partition's
// (segments from the pieces, the active segment from its chunk pieces in order and then the tail in the rest payload,
// log-start-offset, and the checkpoint last),
// fsynced, then swapped in by rename once every byte was verified. Used for InstallSnapshot (a reference at index I:
// the newest verified snapshot with index >= I, from the referenced node's prefix, then the other replicas') and
// for the bootstrap of a wiped node (the newest snapshot in any replica's prefix, own first).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Snapshot } from '@tributary/raft';
import {
  CorruptedSnapshot, fsyncPath, parseNodeWriterCluster, restoreLatest,
  type ClusterId, type RaftGroupId as SnapshotGroupId, type RestoreReader, type SnapshotSink,
} from '@tributary/snapshot';
import type { StorageLog } from '../../partitions/storage-log.js';
import { RaftPartition, type PartitionStateRestorer, type RecoveredPartition } from '../raft-partition.js';
import { readCheckpoint, writeCheckpoint, writeFileSynced } from './partition-checkpoint.js';
import {
  decodePartitionRest, isPartitionPieceName, parseActiveChunkPieceName, parseSegmentFileName, type PartitionSnapshotMeta,
} from './partition-snapshot-format.js';
import type { SnapshotService } from './snapshot-service.js';
import { decodeSnapshotReference } from './snapshot-reference.js';

const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 15_000;
const STAGING_MARK = '.restoring-';

/** What partition replicas use of the snapshot service (a narrow view, so tests can provide it directly). */
export type PartitionSnapshotServices = Pick<SnapshotService, 'register' | 'unregister' | 'repositoryOfNode' | 'metricsHook' | 'bootstrapConcurrency' | 'trackRestore' | 'writer'>;

/** A restored directory, complete and fsynced, not yet live. */
export interface StagedPartition {
  readonly stagingDir: string;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly nodeId: number;
  /** The prefix it came from (what a Raft snapshot reference names). */
  readonly writer: ClusterId;
}

/** A SnapshotSink that materialises a partition snapshot as a partition directory (see the module comment). */
export class PartitionRestoreSink implements SnapshotSink {
  staged: { dir: string; raftIndex: number; raftTerm: number } | null = null;
  private stagingDir: string | null = null;

  constructor(private readonly targetDir: string) {}

  async restore(reader: RestoreReader): Promise<void> {
    const manifest = reader.manifest;
    const staging = `${this.targetDir}${STAGING_MARK}${randomBytes(6).toString('hex')}`;
    this.stagingDir = staging;
    await mkdir(staging, { recursive: true });
    const active = new ActiveSegmentWriter(staging);
    // The active segment's chunk pieces, appended in order as they come (the manifest lists them in index order).
    const chunks: { segmentFileName: string; lengthBytes: number }[] = [];
    let meta: PartitionSnapshotMeta;
    try {
      for (const piece of manifest.pieces) {
        const chunk = parseActiveChunkPieceName(piece.name);
        if (chunk !== null) {
          if (chunk.chunkIndex !== chunks.length) throw new CorruptedSnapshot(`partition snapshot piece ${piece.name} is out of order (chunk ${chunks.length} expected)`);
          for await (const bytes of await reader.openPiece(piece)) await active.write(chunk.segmentFileName, bytes as Buffer);
          chunks.push({ segmentFileName: chunk.segmentFileName, lengthBytes: piece.lengthBytes });
          continue;
        }
        if (!isPartitionPieceName(piece.name)) throw new CorruptedSnapshot(`partition snapshot piece ${JSON.stringify(piece.name)} is not a segment, index file or active-segment chunk`);
        await writeDurably(await reader.openPiece(piece), join(staging, piece.name));
      }
      ({ meta } = await decodePartitionRest(await reader.openRest(), async (m, bytes) => {
        await active.write(m.active!.fileName, bytes);
      }));
      checkActiveChunks(meta, chunks);
      if (meta.active !== null && manifest.pieces.some((p) => p.name === meta.active!.fileName)) {
        throw new CorruptedSnapshot(`partition snapshot names ${meta.active.fileName} as both sealed and active`);
      }
      await active.finish();
    } catch (err) {
      active.abort();
      throw err;
    }
    if (meta.raftIndex !== manifest.index || meta.raftTerm !== manifest.term) {
      throw new CorruptedSnapshot(`partition snapshot header ${meta.raftIndex}/${meta.raftTerm} does not match its manifest ${manifest.index}/${manifest.term}`);
    }
    await writeFileSynced(join(staging, 'log-start-offset'), `${meta.logStartOffset}\n`);
    // Segments below the active one were sealed, fsynced and CRC-checked as pieces: the log trusts them (with their
    // index files) instead of scanning them at open; the active segment is scanned.
    const activeBase = meta.active === null ? null : parseSegmentFileName(meta.active.fileName);
    if (activeBase !== null) await writeFileSynced(join(staging, 'recovery-point'), `${activeBase}\n`);
    // Last: a directory with a checkpoint is complete (and only a complete directory is ever renamed into place).
    await writeCheckpoint(staging, {
      raftIndex: meta.raftIndex,
      raftTerm: meta.raftTerm,
      logStartOffset: meta.logStartOffset as never,
      nextOffset: meta.nextOffset as never,
      producers: meta.producers,
      ...(meta.epochs === undefined ? {} : { epochs: meta.epochs }),
    });
    await fsyncPath(staging);
    this.staged = { dir: staging, raftIndex: meta.raftIndex, raftTerm: meta.raftTerm };
  }

  async discard(): Promise<void> {
    if (this.stagingDir !== null) await rm(this.stagingDir, { recursive: true, force: true });
    this.stagingDir = null;
    this.staged = null;
  }
}

/** The chunk pieces restored must be exactly the ones the header counts, of its chunk size, of its active segment. */
function checkActiveChunks(meta: PartitionSnapshotMeta, chunks: readonly { segmentFileName: string; lengthBytes: number }[]): void {
  const expected = meta.active?.chunkCount ?? 0;
  if (chunks.length !== expected) throw new CorruptedSnapshot(`partition snapshot holds ${chunks.length} active-segment chunks, its header says ${expected}`);
  for (const chunk of chunks) {
    if (chunk.segmentFileName !== meta.active!.fileName || chunk.lengthBytes !== meta.active!.chunkBytes) {
      throw new CorruptedSnapshot(`partition snapshot chunk of ${chunk.segmentFileName} (${chunk.lengthBytes} bytes) does not match its active segment ${meta.active!.fileName}`);
    }
  }
}

/** Writes the active segment's bytes (chunk pieces, then the tail) as they stream in (with backpressure), then fsyncs the file. */
class ActiveSegmentWriter {
  private out: WriteStream | null = null;
  private path: string | null = null;
  private fileName: string | null = null;

  constructor(private readonly dir: string) {}

  async write(fileName: string, chunk: Buffer): Promise<void> {
    if (this.out === null) {
      this.fileName = fileName;
      this.path = join(this.dir, fileName);
      this.out = createWriteStream(this.path);
    } else if (fileName !== this.fileName) {
      throw new CorruptedSnapshot(`partition snapshot holds bytes of two active segments (${this.fileName}, ${fileName})`);
    }
    const out = this.out;
    // events.once rejects on 'error' and removes its listeners either way
    if (!out.write(chunk)) await once(out, 'drain');
  }

  async finish(): Promise<void> {
    const out = this.out;
    if (out === null) return;
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await fsyncPath(this.path!);
  }

  abort(): void {
    this.out?.destroy();
  }
}

async function writeDurably(input: Readable, path: string): Promise<void> {
  await pipeline(input, createWriteStream(path));
  await fsyncPath(path);
}

/** Removes staging directories a crash left next to the partition directory. */
export async function removeStaleStaging(targetDir: string): Promise<void> {
  const parent = dirname(targetDir);
  const prefix = `${basename(targetDir)}${STAGING_MARK}`;
  let names: string[];
  try {
    names = await readdir(parent);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) if (name.startsWith(prefix)) await rm(join(parent, name), { recursive: true, force: true });
}

/** Makes a staged directory the partition directory: old one aside, staged one in, parent fsynced, old one removed. */
export async function swapIn(staged: { dir: string }, targetDir: string): Promise<void> {
  const aside = `${targetDir}.replaced-${randomBytes(6).toString('hex')}`;
  let hadTarget = true;
  try {
    await rename(targetDir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    hadTarget = false;
  }
  await rename(staged.dir, targetDir);
  await fsyncPath(dirname(targetDir));
  if (hadTarget) await rm(aside, { recursive: true, force: true });
}

export interface PartitionRestoreOptions {
  readonly raftGroup: number;
  readonly snapshotGroup: SnapshotGroupId;
  readonly dir: string;
  readonly services: PartitionSnapshotServices;
  /** The group's replicas (node ids): the prefixes that may hold its snapshots. */
  readonly replicas: () => readonly number[];
  readonly logger: Logger;
}

/**
 * Stages the newest usable snapshot with index >= minIndex, trying the nodes in `order`. Returns null when no
 * prefix holds one; a store error (outage) propagates.
 */
export async function stageNewest(options: PartitionRestoreOptions, order: readonly number[], minIndex: number): Promise<StagedPartition | null> {
  await removeStaleStaging(options.dir);
  for (const nodeId of order) {
    const repository = options.services.repositoryOfNode(nodeId);
    const sink = new PartitionRestoreSink(options.dir);
    const result = await restoreLatest(repository, options.snapshotGroup, sink, { minIndex, logger: options.logger });
    if (result.index !== null && sink.staged !== null) {
      return { stagingDir: sink.staged.dir, raftIndex: sink.staged.raftIndex, raftTerm: sink.staged.raftTerm, nodeId, writer: repository.cluster };
    }
  }
  return null;
}

/** The PartitionStateRestorer of one replica (InstallSnapshot, or a restore a crash interrupted). */
export class StoreRestorer implements PartitionStateRestorer {
  constructor(private readonly options: PartitionRestoreOptions, private readonly openLog: () => Promise<StorageLog>) {}

  async restore(reference: Snapshot, closeLog: () => Promise<void>, cancelled: () => boolean): Promise<{ log: StorageLog; recovered: RecoveredPartition }> {
    const { logger, services } = this.options;
    const ref = decodeSnapshotReference(reference.data);
    const referenced = parseNodeWriterCluster(ref.writer)?.nodeId;
    const others = this.options.replicas().filter((n) => n !== referenced);
    const order = referenced === undefined ? others : [referenced, ...others];
    const startedAtMs = Date.now();
    let staged: StagedPartition | null = null;
    for (let attempt = 1; staged === null; attempt++) {
      if (cancelled()) throw new Error('partition closed during restore');
      try {
        staged = await stageNewest(this.options, order, reference.meta.index);
        if (staged === null) logger.warn({ raftGroup: this.options.raftGroup, minIndex: reference.meta.index, order }, 'no snapshot at or above the reference in any replica prefix yet; retrying');
      } catch (err) {
        logger.warn({ err, raftGroup: this.options.raftGroup, attempt }, 'restoring a partition from the object store failed; retrying');
        services.metricsHook.bootstrapFailed?.(this.options.snapshotGroup, err);
      }
      if (staged === null) await new Promise((r) => setTimeout(r, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 10))));
    }
    if (cancelled()) {
      await rm(staged.stagingDir, { recursive: true, force: true });
      throw new Error('partition closed during restore');
    }
    await closeLog();
    await swapIn({ dir: staged.stagingDir }, this.options.dir);
    const log = await this.openLog();
    const recovered = await RaftPartition.recover(log, await readCheckpoint(this.options.dir));
    const durationMs = Date.now() - startedAtMs;
    services.metricsHook.bootstrapCompleted?.({ raftGroupId: this.options.snapshotGroup, index: staged.raftIndex as never, term: staged.raftTerm as never, durationMs, snapshotsSkipped: 0 });
    logger.info({ raftGroup: this.options.raftGroup, raftIndex: staged.raftIndex, fromNode: staged.nodeId, durationMs }, 'partition state restored from snapshot');
    return { log, recovered };
  }
}
