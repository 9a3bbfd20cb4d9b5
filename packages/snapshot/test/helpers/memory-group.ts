import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RaftIndex } from '../../src/ids.js';
import { raftIndex, raftTerm } from '../../src/ids.js';
import type { SnapshotContent, SnapshotPiece } from '../../src/repository.js';
import type { RestoreReader, SnapshotSink } from '../../src/restore.js';
import { collect } from './fixtures.js';

export function bufferPiece(name: string, bytes: Buffer): SnapshotPiece {
  return {
    name,
    contentId: `sha256-${createHash('sha256').update(bytes).digest('hex')}`,
    lengthBytes: bytes.length,
    open: () => Readable.from([bytes], { objectMode: false }),
  };
}

export function content(index: number, term: number, rest: Buffer, pieces: Record<string, Buffer> = {}): SnapshotContent {
  return {
    index: raftIndex(index),
    term: raftTerm(term),
    membership: Buffer.from('1,2,3'),
    rest,
    pieces: Object.entries(pieces).map(([name, bytes]) => bufferPiece(name, bytes)),
  };
}

/** A sink that stages everything and only commits when every stream ended cleanly. */
export class BufferSink implements SnapshotSink {
  committed: { index: RaftIndex; rest: Buffer; pieces: Map<string, Buffer> } | null = null;
  discards = 0;
  active = 0;
  maxActive = 0;
  gate: Promise<void> | null = null;

  async restore(reader: RestoreReader): Promise<void> {
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.gate !== null) await this.gate;
      const rest = await collect(await reader.openRest());
      const pieces = new Map<string, Buffer>();
      for (const piece of reader.manifest.pieces) pieces.set(piece.name, await collect(await reader.openPiece(piece)));
      this.committed = { index: reader.manifest.index, rest, pieces };
    } finally {
      this.active -= 1;
    }
  }

  async discard(): Promise<void> {
    this.discards += 1;
  }
}
