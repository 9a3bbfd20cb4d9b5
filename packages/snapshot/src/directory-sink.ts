/**
 * A SnapshotSink that materialises a snapshot as files: <targetDir>/pieces/<piece name>, <targetDir>/rest.bin
 * (decompressed rest payload) and <targetDir>/snapshot.json (index, term, membership, createdAtMs, piece
 * names). Everything is written into a staging directory next to the target and fsynced; only when every
 * stream ended cleanly (all CRCs and lengths verified) is the staging directory swapped in by rename.
 * A failed restore leaves the previous target untouched and no staging directory behind.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CorruptedSnapshot } from './errors.js';
import type { RaftGroupId, RaftIndex, RaftTerm } from './ids.js';
import type { RestoreReader, SnapshotSink } from './restore.js';
import { fsyncPath } from './fsync-path.js';

const SAFE_PIECE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface RestoredDirectory {
  readonly dir: string;
  readonly raftGroupId: RaftGroupId;
  readonly index: RaftIndex;
  readonly term: RaftTerm;
  readonly membership: Buffer;
  readonly restFile: string;
  /** piece name -> file path */
  readonly pieceFiles: ReadonlyMap<string, string>;
}

export class DirectoryRestoreSink implements SnapshotSink {
  restored: RestoredDirectory | null = null;

  constructor(readonly targetDir: string) {}

  async restore(reader: RestoreReader): Promise<void> {
    const manifest = reader.manifest;
    const nonce = randomBytes(6).toString('hex');
    const staging = join(dirname(this.targetDir), `${basename(this.targetDir)}.restoring-${nonce}`);
    await mkdir(join(staging, 'pieces'), { recursive: true });
    try {
      const pieceFiles = new Map<string, string>();
      for (const piece of manifest.pieces) {
        if (!SAFE_PIECE_NAME.test(piece.name) || piece.name === '.' || piece.name === '..' || pieceFiles.has(piece.name)) {
          throw new CorruptedSnapshot(`snapshot piece name ${JSON.stringify(piece.name)} is not a safe, unique file name`);
        }
        const path = join(staging, 'pieces', piece.name);
        await writeStreamDurably(await reader.openPiece(piece), path);
        pieceFiles.set(piece.name, piece.name);
      }
      await writeStreamDurably(await reader.openRest(), join(staging, 'rest.bin'));
      await writeFile(
        join(staging, 'snapshot.json'),
        JSON.stringify({
          raftGroupId: manifest.raftGroupId,
          index: manifest.index,
          term: manifest.term,
          membership: manifest.membership.toString('base64'),
          createdAtMs: manifest.createdAtMs,
          pieces: [...pieceFiles.keys()],
        }),
      );
      await fsyncPath(join(staging, 'snapshot.json'));
      await fsyncPath(join(staging, 'pieces'));
      await fsyncPath(staging);
      // Swap: old target aside, staging in, parent fsynced, old target removed.
      const aside = join(dirname(this.targetDir), `${basename(this.targetDir)}.replaced-${nonce}`);
      let hadTarget = true;
      try {
        await rename(this.targetDir, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        hadTarget = false;
      }
      await rename(staging, this.targetDir);
      await fsyncPath(dirname(this.targetDir));
      if (hadTarget) await rm(aside, { recursive: true, force: true });
      this.restored = {
        dir: this.targetDir,
        raftGroupId: manifest.raftGroupId,
        index: manifest.index,
        term: manifest.term,
        membership: manifest.membership,
        restFile: join(this.targetDir, 'rest.bin'),
        pieceFiles: new Map([...pieceFiles.keys()].map((name) => [name, join(this.targetDir, 'pieces', name)])),
      };
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }
}

async function writeStreamDurably(source: Readable, path: string): Promise<void> {
  await pipeline(source, createWriteStream(path));
  await fsyncPath(path);
}
