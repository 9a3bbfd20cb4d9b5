/** Helpers to build SnapshotPieces from files (e.g. sealed, immutable segment files). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SnapshotPiece } from './repository.js';

/**
 * A piece backed by an immutable file. The content id is the SHA-256 of the bytes (so identical bytes are
 * uploaded once), unless the caller already has a stable id (e.g. "<baseOffset>-<crc>" of a sealed segment).
 */
export async function filePiece(path: string, options: { name?: string; contentId?: string } = {}): Promise<SnapshotPiece> {
  const stats = await stat(path);
  let contentId = options.contentId;
  if (contentId === undefined) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    contentId = `sha256-${hash.digest('hex')}`;
  }
  return {
    name: options.name ?? basename(path),
    contentId,
    lengthBytes: stats.size,
    open: () => createReadStream(path, { highWaterMark: 256 * 1024 }),
  };
}
