import assert from 'node:assert/strict';
import { readFile, readdir, stat, truncate, unlink, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PartitionLog, type LogConfig } from '../src/index.js';
import { simulateCrash } from '../src/partition-log.js';
import { decodeBatches, makeSizedBatch, makeValuesBatch } from './support/batches.js';
import { RecordingLogger, tempDir, testConfig } from './support/fixtures.js';

const ACTIVE = (base: number) => `${String(base).padStart(20, '0')}.log`;

async function readAll(log: PartitionLog): Promise<ReturnType<typeof decodeBatches>> {
  const out: ReturnType<typeof decodeBatches> = [];
  let offset: number = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, 1 << 20);
    assert.ok(result.kind === 'records');
    const batches = decodeBatches(result.records);
    assert.ok(batches.length > 0);
    out.push(...batches);
    offset = result.nextOffset;
  }
  return out;
}

describe('recovery', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  async function dirFor(label: string): Promise<string> {
    const { dir, cleanup } = await tempDir(label);
    cleanups.push(cleanup);
    return dir;
  }
  /** Appends `count` batches (2 records each) and flushes, then abandons the log without close() (a crash). */
  async function writeAndCrash(dir: string, count: number, config: LogConfig = testConfig()): Promise<number[]> {
    const log = await PartitionLog.open(dir, config);
    const positions: number[] = [];
    for (let i = 0; i < count; i++) {
      positions.push(log.sizeBytes);
      log.append(makeValuesBatch(`r${i}`, 2));
    }
    await log.flush();
    simulateCrash(log);
    return positions;
  }

  it('truncates a torn tail (file cut mid-batch) and keeps appending after it', async () => {
    const dir = await dirFor('torn');
    const positions = await writeAndCrash(dir, 10);
    const file = join(dir, ACTIVE(0));
    const size = (await stat(file)).size;
    await truncate(file, size - 7);
    const logger = new RecordingLogger();
    const log = await PartitionLog.open(dir, testConfig(), logger);
    assert.equal(log.logEndOffset, 18);
    assert.equal((await stat(file)).size, positions[9]);
    assert.ok(logger.warnings().some((message) => message.includes(`at position ${positions[9]}`)), logger.warnings().join('\n'));
    const result = log.append(makeValuesBatch('after', 1));
    assert.equal(result.baseOffset, 18);
    const batches = await readAll(log);
    assert.deepEqual(batches.map((batch) => batch.baseOffset), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    assert.equal(batches[9]!.records[0]!.value, 'after-0');
    await log.close();
  });

  it('truncates at a batch whose CRC fails (corrupt byte in the middle of the tail)', async () => {
    const dir = await dirFor('crc');
    const positions = await writeAndCrash(dir, 10);
    const file = join(dir, ACTIVE(0));
    const bytes = await readFile(file);
    bytes[positions[5]! + 70]! ^= 0xff; // inside the records of batch 5
    await writeFile(file, bytes);
    const logger = new RecordingLogger();
    const log = await PartitionLog.open(dir, testConfig(), logger);
    assert.equal(log.logEndOffset, 10);
    assert.equal(log.durableEndOffset, 10);
    assert.equal((await stat(file)).size, positions[5]);
    assert.ok(logger.warnings().some((message) => message.includes('truncated')));
    assert.ok(logger.events.some((event) => (event.fields as { reason?: string }).reason === 'CRC-32C mismatch'));
    assert.deepEqual((await readAll(log)).map((batch) => batch.records[0]!.value), ['r0-0', 'r1-0', 'r2-0', 'r3-0', 'r4-0']);
    await log.close();
  });

  it('truncates zero-filled garbage after the last batch', async () => {
    const dir = await dirFor('zeros');
    await writeAndCrash(dir, 3);
    const file = join(dir, ACTIVE(0));
    const size = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(4096));
    const log = await PartitionLog.open(dir, testConfig());
    assert.equal(log.logEndOffset, 6);
    assert.equal((await stat(file)).size, size);
    await log.close();
  });

  it('after an unclean shutdown without a recovery point, a corrupt sealed segment cuts the log there', async () => {
    const dir = await dirFor('sealed');
    const config = testConfig({ segmentBytesMax: 600 });
    await writeAndCrash(dir, 40, config);
    const names = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
    assert.ok(names.length >= 4, names.join());
    await unlink(join(dir, 'recovery-point')).catch(() => undefined);
    const victim = join(dir, names[1]!);
    const bytes = await readFile(victim);
    bytes[bytes.length - 3]! ^= 0x01;
    await writeFile(victim, bytes);
    const logger = new RecordingLogger();
    const log = await PartitionLog.open(dir, config, logger);
    assert.equal(log.segmentCount, 2);
    const remaining = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
    assert.deepEqual(remaining, names.slice(0, 2));
    const batches = await readAll(log);
    assert.equal(batches.at(-1)!.lastOffset + 1, log.logEndOffset);
    assert.ok(batches.every((batch) => batch.crcValid));
    assert.ok(logger.warnings().some((message) => message.includes('removing every later segment')));
    await log.close();
  });

  it('a clean close lets open skip scanning; deleted or corrupt index files are rebuilt', async () => {
    const dir = await dirFor('indexes');
    const config = testConfig({ segmentBytesMax: 2000, indexIntervalBytes: 200 });
    let log = await PartitionLog.open(dir, config);
    for (let i = 0; i < 60; i++) log.append(makeSizedBatch(3, 40 + (i % 5), 0x61, 1_000 + i * 10));
    await log.close();
    const files = await readdir(dir);
    assert.ok(files.includes('clean-shutdown'));
    const logger = new RecordingLogger();
    log = await PartitionLog.open(dir, config, logger);
    assert.equal(log.logEndOffset, 180);
    assert.ok(logger.events.some((event) => event.message === 'opened partition log' && (event.fields as { clean?: boolean }).clean === true));
    assert.ok(!(await readdir(dir)).includes('clean-shutdown'), 'the marker is removed on open');
    await log.close();

    const indexFiles = (await readdir(dir)).filter((name) => name.endsWith('.index')).sort();
    const timeFiles = (await readdir(dir)).filter((name) => name.endsWith('.timeindex')).sort();
    assert.ok(indexFiles.length >= 3);
    await unlink(join(dir, indexFiles[0]!)); // sealed: missing
    await writeFile(join(dir, indexFiles[1]!), Buffer.from([1, 2, 3])); // sealed: bad size
    await writeFile(join(dir, timeFiles[2]!), Buffer.alloc(24, 0xff)); // sealed: timestamps not increasing
    await unlink(join(dir, indexFiles.at(-1)!)); // active: missing
    const rebuildLogger = new RecordingLogger();
    log = await PartitionLog.open(dir, config, rebuildLogger);
    assert.equal(log.logEndOffset, 180);
    for (let offset = 0; offset < 180; offset++) {
      const result = await log.read(offset, 1);
      assert.ok(result.kind === 'records');
      const [batch] = decodeBatches(result.records);
      assert.equal(batch!.baseOffset, offset - (offset % 3), `offset ${offset}`);
    }
    const found = await log.offsetForTimestamp(1_000 + 33 * 10);
    assert.deepEqual(found, { offset: 99, timestampMs: 1_330 });
    assert.ok(rebuildLogger.warnings().some((message) => message.includes('rebuilding')));
    log.append(makeSizedBatch(1, 10));
    assert.equal(log.logEndOffset, 181);
    await log.close();
    const after = await readdir(dir);
    for (const name of after.filter((entry) => entry.endsWith('.log'))) {
      assert.ok(after.includes(name.replace('.log', '.index')) && after.includes(name.replace('.log', '.timeindex')), name);
    }
  });

  it('an index entry pointing at the wrong batch is detected on read and the index rebuilt', async () => {
    const dir = await dirFor('bad-entry');
    const config = testConfig({ segmentBytesMax: 3000, indexIntervalBytes: 100 });
    let log = await PartitionLog.open(dir, config);
    for (let i = 0; i < 60; i++) log.append(makeSizedBatch(2, 30));
    await log.close();
    const indexFile = join(dir, '00000000000000000000.index');
    const index = await readFile(indexFile);
    assert.ok(index.length >= 24, 'needs several entries');
    index.writeInt32BE(index.readInt32BE(12) + 1, 12); // entry 1: position off by one, still increasing
    await writeFile(indexFile, index);
    const logger = new RecordingLogger();
    log = await PartitionLog.open(dir, config, logger);
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      const result = await log.read(offset, 1);
      assert.ok(result.kind === 'records');
      assert.equal(decodeBatches(result.records)[0]!.baseOffset, offset - (offset % 2), `offset ${offset}`);
    }
    assert.ok(logger.warnings().some((message) => message.includes('does not match the log')));
    await log.close();
  });

  it('a clean reopen with batches larger than the header-walk chunk needs no scan', async () => {
    const dir = await dirFor('large');
    let log = await PartitionLog.open(dir, testConfig({ indexIntervalBytes: 1 << 20 }));
    for (let i = 0; i < 5; i++) log.append(makeSizedBatch(3, 40_000));
    await log.close();
    const logger = new RecordingLogger();
    log = await PartitionLog.open(dir, testConfig(), logger);
    assert.equal(log.logEndOffset, 15);
    assert.deepEqual(logger.warnings(), []);
    await log.close();
  });

  it('a torn tail after a clean close of earlier data is still recovered (marker removed on open)', async () => {
    const dir = await dirFor('marker');
    let log = await PartitionLog.open(dir, testConfig());
    log.append(makeValuesBatch('a', 2));
    await log.close();
    log = await PartitionLog.open(dir, testConfig());
    log.append(makeValuesBatch('b', 2));
    await log.flush();
    simulateCrash(log);
    // cut the second batch
    const file = join(dir, ACTIVE(0));
    await truncate(file, (await stat(file)).size - 1);
    log = await PartitionLog.open(dir, testConfig());
    assert.equal(log.logEndOffset, 2);
    await log.close();
  });

  it('recovers an empty directory and an empty active segment', async () => {
    const dir = await dirFor('empty');
    let log = await PartitionLog.open(dir, testConfig());
    assert.deepEqual([log.logStartOffset, log.logEndOffset, log.segmentCount, log.sizeBytes], [0, 0, 1, 0]);
    await log.flush();
    simulateCrash(log);
    log = await PartitionLog.open(dir, testConfig());
    assert.equal(log.logEndOffset, 0);
    await log.close();
  });
});
