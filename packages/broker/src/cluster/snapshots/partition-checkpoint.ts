// A partition replica's local checkpoint: "every committed entry up to raftIndex is reflected in this log up to
// nextOffset, and this is the producer state after it". Written (atomically, after the segments it covers are
// fsynced) before the Raft log is compacted up to an uploaded snapshot, before a log-start or producer-expiry command
// changes anything on disk (raft-partition.ts), and as the LAST file of a restored directory. At restart it replaces
// the scan of the whole log: entries <= raftIndex are skipped, the replay-skip list starts at nextOffset.
import { open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kafkaOffset, type KafkaOffset } from '@tributary/log';
import { fsyncPath } from '@tributary/snapshot';
import { parseProducerStateSnapshot, type ProducerStateSnapshot } from '../../partitions/producer-state.js';
import { parseSegmentFileName } from './partition-snapshot-format.js';

export const CHECKPOINT_FILE = 'raft-checkpoint.json';
const CHECKPOINT_VERSION = 1;

export interface PartitionCheckpoint {
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly logStartOffset: KafkaOffset;
  readonly nextOffset: KafkaOffset;
  readonly producers: ProducerStateSnapshot;
  /** Leader epoch -> first offset for the log below nextOffset (absent in checkpoints written before it existed). */
  readonly epochs?: readonly CheckpointEpoch[];
}

export interface CheckpointEpoch {
  readonly epoch: number;
  readonly startOffset: number;
}

export function encodeCheckpoint(checkpoint: PartitionCheckpoint): Buffer {
  const { raftIndex, raftTerm, logStartOffset, nextOffset, producers, epochs } = checkpoint;
  return Buffer.from(JSON.stringify({ version: CHECKPOINT_VERSION, raftIndex, raftTerm, logStartOffset, nextOffset, producers, epochs }), 'utf8');
}

/** null for a missing file; throws for a present but unreadable one (it was written atomically: damage is an invariant break). */
export async function readCheckpoint(dir: string): Promise<PartitionCheckpoint | null> {
  let text: string;
  try {
    text = await readFile(join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return decodeCheckpoint(text, join(dir, CHECKPOINT_FILE));
}

export function decodeCheckpoint(text: string, what: string): PartitionCheckpoint {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`assertion: partition checkpoint ${what} is not JSON`);
  }
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const producers = parseProducerStateSnapshot(JSON.stringify(raw['producers']));
  if (raw['version'] !== CHECKPOINT_VERSION || !count(raw['raftIndex']) || !count(raw['raftTerm']) || !count(raw['logStartOffset']) || !count(raw['nextOffset']) || producers === null) {
    throw new Error(`assertion: malformed partition checkpoint ${what}`);
  }
  const epochs = raw['epochs'];
  const isEpochList = (v: unknown): v is CheckpointEpoch[] =>
    Array.isArray(v) && v.every((e: { epoch?: unknown; startOffset?: unknown }) => Number.isInteger(e?.epoch) && count(e?.startOffset));
  if (epochs !== undefined && !isEpochList(epochs)) throw new Error(`assertion: malformed leader epochs in partition checkpoint ${what}`);
  return {
    ...(epochs === undefined ? {} : { epochs }),
    raftIndex: raw['raftIndex'],
    raftTerm: raw['raftTerm'],
    logStartOffset: kafkaOffset(raw['logStartOffset']),
    nextOffset: kafkaOffset(raw['nextOffset']),
    producers,
  };
}

/** Temp file, fsync, rename, fsync of the directory: the checkpoint is either the old one or the new one. */
export async function writeCheckpoint(dir: string, checkpoint: PartitionCheckpoint): Promise<void> {
  const path = join(dir, CHECKPOINT_FILE);
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(encodeCheckpoint(checkpoint));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncPath(dir);
}

/** Writes a whole small file durably (used for the restored directory's log-start-offset). */
export async function writeFileSynced(path: string, bytes: Buffer | string): Promise<void> {
  await writeFile(path, bytes);
  await fsyncPath(path);
}

/**
 * Writes one replica's checkpoints, one at a time and never backwards: a checkpoint at or below the index of one
 * already written is skipped (returns false). Two writers race otherwise: the snapshot loop's compaction (state
 * captured at I, written later) and the apply of a log-start or producer-expiry command at J > I (written before the
 * command deletes anything). An older checkpoint landing last would describe a log start the log no longer has.
 * Before the file, the segments that may hold data past the previous checkpoint and the directory are fsynced, so
 * the log holds what the checkpoint names whatever the log's fsync policy.
 */
export class PartitionCheckpointWriter {
  private chain: Promise<unknown> = Promise.resolve();
  private writtenIndex = -1;
  private checkpointedOffset = 0;

  constructor(readonly dir: string) {}

  /** Raft index of the newest checkpoint this writer wrote (-1: none yet). */
  get lastWrittenIndex(): number {
    return this.writtenIndex;
  }

  write(checkpoint: PartitionCheckpoint): Promise<boolean> {
    const step = async (): Promise<boolean> => {
      if (checkpoint.raftIndex <= this.writtenIndex) return false;
      const segments: { base: number; path: string }[] = [];
      for (const name of await readdir(this.dir)) {
        const base = parseSegmentFileName(name);
        if (base !== null && base < checkpoint.nextOffset) segments.push({ base, path: join(this.dir, name) });
      }
      segments.sort((a, b) => a.base - b.base);
      for (let i = 0; i < segments.length; i++) {
        const next = segments[i + 1];
        if (next === undefined || next.base > this.checkpointedOffset) await fsyncPath(segments[i]!.path);
      }
      await fsyncPath(this.dir);
      await writeCheckpoint(this.dir, checkpoint);
      this.writtenIndex = checkpoint.raftIndex;
      this.checkpointedOffset = checkpoint.nextOffset;
      return true;
    };
    const result = this.chain.then(step, step);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
