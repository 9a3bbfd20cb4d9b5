/** Small-file helpers with explicit durability (temp file, fsync, rename, fsync of the directory). */
import { open, rename, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TEMP_SUFFIX } from './segment-files.js';

/** Observes every fsync/fdatasync this package issues (tests count them to check group commit). */
export type SyncKind = 'data' | 'file' | 'directory';
export type SyncObserver = (kind: SyncKind, path: string) => void;

export async function fsyncPath(path: string, kind: SyncKind, observer: SyncObserver | undefined): Promise<void> {
  const handle = await open(path, 'r');
  try {
    observer?.(kind, path);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function fsyncDirectory(dir: string, observer: SyncObserver | undefined): Promise<void> {
  await fsyncPath(dir, 'directory', observer);
}

/** Writes `bytes` to `path` atomically and durably: temp file, fsync, rename over, fsync directory. */
export async function writeFileDurably(path: string, bytes: Buffer | string, observer: SyncObserver | undefined): Promise<void> {
  const temp = join(dirname(path), `${basename(path)}${TEMP_SUFFIX}`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(bytes);
    observer?.('file', temp);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await fsyncDirectory(dirname(path), observer);
}

/** Reads a file, or returns null when it does not exist. */
export async function readFileIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

/** A checkpoint file holds one non-negative integer in decimal followed by a newline. */
export function encodeOffsetCheckpoint(value: number): string {
  return `${value}\n`;
}

export function decodeOffsetCheckpoint(bytes: Buffer): number | null {
  const text = bytes.toString('latin1');
  if (!/^\d{1,16}\n$/.test(text)) return null;
  const value = Number(text.slice(0, -1));
  return Number.isSafeInteger(value) ? value : null;
}
