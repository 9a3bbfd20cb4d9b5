import assert from 'node:assert/strict';
import { readFile, readdir, stat, truncate, unlink, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PartitionLog, type LogConfig } from '../src/index.js';
import { simulateCrash } from '../src/partition-log.js';
import { decodeBatches, makeSizedBatch, makeValuesBatch } from './support/batches.js';
import { RecordingLogger, tempDirsForSuite, testConfig } from './support/fixtures.js';

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
  const dirFor = tempDirsForSuite();
  /**
   * Appends `count` batches (2 records each) and flushes, then abandons the log without close() (a crash).
   * Without preallocation (unless asked), so the file ends where the data ends and tests can cut it.
   */
  async function writeAndCrash(dir: string, count: number, config: LogConfig = testConfig(), preallocateBytes = 0): Promise<number[]> {
    const log = await PartitionLog.open(dir, config, undefined, { preallocateBytes });
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
    log = await PartitionLog.open(dir, testConfig(), undefined, { preallocateBytes: 0 });
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

  describe('with preallocated (zero-filled) segment files', () => {
    const PREALLOCATE = 64 * 1024;
    const openPreallocated = (dir: string, config = testConfig(), logger?: RecordingLogger): Promise<PartitionLog> =>
      PartitionLog.open(dir, config, logger, { preallocateBytes: PREALLOCATE });

    it('keeps zeros past the data, which sizeBytes and reads ignore', async () => {
      const dir = await dirFor('prealloc-size');
      const log = await openPreallocated(dir);
      log.append(makeValuesBatch('a', 2));
      const dataBytes = log.sizeBytes;
      assert.ok(dataBytes > 0 && dataBytes < 1000);
      assert.equal((await stat(join(dir, ACTIVE(0)))).size, dataBytes + PREALLOCATE);
      const read = await log.read(0, 1 << 20);
      assert.ok(read.kind === 'records');
      assert.equal(read.records.length, dataBytes);
      const atEnd = await log.read(2, 1 << 20);
      assert.ok(atEnd.kind === 'records' && atEnd.records.length === 0);
      // Appends fill the space; crossing half of it extends it again.
      for (let i = 0; i < 40; i++) log.append(makeSizedBatch(1, 1024));
      const size = (await stat(join(dir, ACTIVE(0)))).size;
      assert.ok(size >= log.sizeBytes + PREALLOCATE / 2 && size <= log.sizeBytes + PREALLOCATE, `file ${size}, data ${log.sizeBytes}`);
      await log.close();
    });

    it('a crash leaves a zero tail; reopening ends the log at the last batch without a warning and appends continue', async () => {
      const dir = await dirFor('prealloc-crash');
      const positions = await writeAndCrash(dir, 5, testConfig(), PREALLOCATE);
      const file = join(dir, ACTIVE(0));
      const fileBytes = (await stat(file)).size;
      const logger = new RecordingLogger();
      const log = await openPreallocated(dir, testConfig(), logger);
      assert.equal(log.logEndOffset, 10);
      assert.equal(log.durableEndOffset, 10);
      assert.deepEqual(logger.warnings(), []);
      const trimmed = logger.events.find((event) => event.message?.includes('zero-filled'));
      assert.ok(trimmed, 'recovery says it removed the preallocated tail');
      assert.equal((trimmed.fields as { preallocatedBytes: number }).preallocatedBytes, fileBytes - log.sizeBytes);
      assert.equal(positions.length, 5);
      assert.equal(log.append(makeValuesBatch('after', 1)).baseOffset, 10);
      assert.deepEqual((await readAll(log)).map((batch) => batch.baseOffset), [0, 2, 4, 6, 8, 10]);
      await log.close();
    });

    it('a torn batch before the zeros is truncated with a warning', async () => {
      const dir = await dirFor('prealloc-torn');
      const positions = await writeAndCrash(dir, 5, testConfig(), PREALLOCATE);
      const file = join(dir, ACTIVE(0));
      const bytes = await readFile(file);
      // The last batch's second half never reached the disk: it reads as zeros, like the space after it.
      const lastStart = positions[4]!;
      const lastEnd = lastStart + 12 + bytes.readInt32BE(lastStart + 8);
      bytes.fill(0, lastStart + Math.floor((lastEnd - lastStart) / 2), lastEnd);
      await writeFile(file, bytes);
      const logger = new RecordingLogger();
      const log = await openPreallocated(dir, testConfig(), logger);
      assert.equal(log.logEndOffset, 8);
      assert.ok(logger.warnings().some((message) => message.includes(`at position ${lastStart}`)), logger.warnings().join('\n'));
      assert.equal((await stat(file)).size, lastStart);
      assert.deepEqual((await readAll(log)).map((batch) => batch.baseOffset), [0, 2, 4, 6]);
      await log.close();
    });

    it('a clean close trims the file to its data, so the next open trusts it without a scan', async () => {
      const dir = await dirFor('prealloc-clean');
      let log = await openPreallocated(dir);
      for (let i = 0; i < 4; i++) log.append(makeValuesBatch(`c${i}`, 2));
      const dataBytes = log.sizeBytes;
      await log.close();
      assert.equal((await stat(join(dir, ACTIVE(0)))).size, dataBytes);
      const logger = new RecordingLogger();
      log = await openPreallocated(dir, testConfig(), logger);
      assert.ok(!logger.events.some((event) => event.message?.includes('recovering')), 'clean open');
      assert.ok(!logger.events.some((event) => event.message?.includes('zero-filled') || event.message?.includes('scanning')));
      assert.equal(log.logEndOffset, 8);
      assert.deepEqual((await readAll(log)).map((batch) => batch.records[0]!.value), ['c0-0', 'c1-0', 'c2-0', 'c3-0']);
      await log.close();
    });

    it('sealed segments hold exactly their batches; a sealed segment with a zero tail keeps the later segments', async () => {
      const dir = await dirFor('prealloc-roll');
      const config = testConfig({ segmentBytesMax: 300 });
      const log = await openPreallocated(dir, config);
      for (let i = 0; i < 12; i++) log.append(makeValuesBatch(`s${i}`, 2));
      await log.flush();
      const bases = log.segmentBaseOffsets;
      assert.ok(bases.length >= 3);
      const sealedBytes = (await stat(join(dir, ACTIVE(bases[0]!)))).size;
      assert.ok(sealedBytes <= 300, `sealed segment of ${sealedBytes} bytes`);
      simulateCrash(log);
      // As if the trim of the first segment had not reached the disk before the crash; scan everything.
      await appendFile(join(dir, ACTIVE(bases[0]!)), Buffer.alloc(5000));
      await unlink(join(dir, 'recovery-point'));
      const logger = new RecordingLogger();
      const reopened = await openPreallocated(dir, config, logger);
      assert.deepEqual(reopened.segmentBaseOffsets, bases);
      assert.equal(reopened.logEndOffset, 24);
      assert.deepEqual(logger.warnings(), []);
      assert.equal((await stat(join(dir, ACTIVE(bases[0]!)))).size, sealedBytes);
      assert.deepEqual((await readAll(reopened)).map((batch) => batch.baseOffset), Array.from({ length: 12 }, (_, i) => 2 * i));
      await reopened.close();
    });
  });
});
