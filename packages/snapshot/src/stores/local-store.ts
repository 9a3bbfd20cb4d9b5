/**
 * ObjectStore over a local directory (the embedded default). Layout under the root:
 *   data/<key>   object bytes
 *   meta/<key>   JSON sidecar with the object's metadata (so head() never reads the payload)
 *   tmp/         in-progress writes (same filesystem, so rename is atomic)
 * put() is atomic: write temp files, fsync them, rename into place, fsync the directories. The sidecar is
 * renamed before the data file, so a visible data file always has its metadata.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectNotFound } from '../errors.js';
import type { ListedObject, ObjectInfo, ObjectMetadata, ObjectStore, PutOptions } from '../object-store.js';
import { assertValidKey, assertValidMetadata } from '../object-store.js';
import { fsyncPath } from '../fsync-path.js';

export class LocalDirectoryObjectStore implements ObjectStore {
  readonly description: string;
  private readonly dataRoot: string;
  private readonly metaRoot: string;
  private readonly tmpRoot: string;

  constructor(readonly rootDir: string) {
    this.description = `file://${rootDir}`;
    this.dataRoot = join(rootDir, 'data');
    this.metaRoot = join(rootDir, 'meta');
    this.tmpRoot = join(rootDir, 'tmp');
  }

  /** Removes temp files left by a crash mid-put (call once at startup, before concurrent puts). */
  async removeStaleTemporaryFiles(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.tmpRoot);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    await Promise.all(names.map((name) => rm(join(this.tmpRoot, name), { force: true })));
    return names.length;
  }

  async put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void> {
    assertValidKey(key);
    assertValidMetadata(options?.metadata);
    await mkdir(this.tmpRoot, { recursive: true });
    const nonce = `${process.pid}-${randomBytes(6).toString('hex')}`;
    const tmpData = join(this.tmpRoot, `${nonce}.data`);
    const tmpMeta = join(this.tmpRoot, `${nonce}.meta`);
    try {
      await writeDurably(tmpMeta, Buffer.from(JSON.stringify(options?.metadata ?? {})));
      if (Buffer.isBuffer(body)) {
        await writeDurably(tmpData, body);
      } else {
        await pipeline(body, createWriteStream(tmpData));
        await fsyncPath(tmpData);
      }
      const dataPath = join(this.dataRoot, key);
      const metaPath = join(this.metaRoot, key);
      await mkdir(dirname(dataPath), { recursive: true });
      await mkdir(dirname(metaPath), { recursive: true });
      await rename(tmpMeta, metaPath);
      await fsyncPath(dirname(metaPath));
      await rename(tmpData, dataPath);
      await fsyncPath(dirname(dataPath));
    } finally {
      await rm(tmpData, { force: true });
      await rm(tmpMeta, { force: true });
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    const path = join(this.dataRoot, key);
    // Open first so a missing key is reported here, not as a stream error later.
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new ObjectNotFound(key);
      throw error;
    });
    return createReadStream(path, { fd: handle, autoClose: true, highWaterMark: 256 * 1024 });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    let sizeBytes: number;
    try {
      const stats = await stat(join(this.dataRoot, key));
      if (!stats.isFile()) return null;
      sizeBytes = stats.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let metadata: ObjectMetadata = {};
    try {
      metadata = JSON.parse(await readFile(join(this.metaRoot, key), 'utf8')) as ObjectMetadata;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return { key, sizeBytes, metadata };
  }

  async list(prefix: string): Promise<ListedObject[]> {
    // Walk only the deepest directory the prefix names fully.
    const slash = prefix.lastIndexOf('/');
    const baseDir = slash < 0 ? '' : prefix.slice(0, slash);
    if (baseDir !== '') assertValidKey(baseDir);
    const out: ListedObject[] = [];
    await this.walk(baseDir, prefix, out);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async walk(relDir: string, prefix: string, out: ListedObject[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(join(this.dataRoot, relDir), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const key = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) await this.walk(key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const stats = await stat(join(this.dataRoot, key)).catch(() => null);
        if (stats !== null) out.push({ key, sizeBytes: stats.size });
      }
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await unlinkIfPresent(join(this.dataRoot, key));
    await unlinkIfPresent(join(this.metaRoot, key));
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function writeDurably(path: string, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
