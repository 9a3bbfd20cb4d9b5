import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidBatchError, LogAlreadyOpenError, LogArgumentError, LogConfigError, LogStorageError, PartitionLog, validateLogConfig, DEFAULT_LOG_CONFIG } from '../src/index.js';
import { makeBatch, makeValuesBatch } from './support/batches.js';
import { RecordingLogger, tempDirsForSuite, testConfig } from './support/fixtures.js';

describe('errors and bad input', () => {
  const dirFor = tempDirsForSuite();

  it('rejects invalid configuration naming the field', async () => {
    assert.equal(validateLogConfig(DEFAULT_LOG_CONFIG), DEFAULT_LOG_CONFIG);
    assert.throws(() => validateLogConfig(testConfig({ segmentBytesMax: 2 ** 31 })), (error: unknown) => error instanceof LogConfigError && /segmentBytesMax/.test(error.message));
    assert.throws(() => validateLogConfig(testConfig({ retentionMs: -2 })), /retentionMs/);
    assert.throws(() => validateLogConfig(testConfig({ fsyncPolicy: 'sometimes' as never })), /fsyncPolicy/);
    await assert.rejects(PartitionLog.open(await dirFor('cfg'), testConfig({ indexIntervalBytes: 0 })), LogConfigError);
  });

  it('refuses to open a directory twice in one process', async () => {
    const dir = await dirFor('twice');
    const log = await PartitionLog.open(dir, testConfig());
    await assert.rejects(PartitionLog.open(join(dir, '.'), testConfig()), LogAlreadyOpenError);
    await log.close();
    const again = await PartitionLog.open(dir, testConfig());
    await again.deleteAll();
    const fresh = await PartitionLog.open(dir, testConfig());
    assert.equal(fresh.logEndOffset, 0);
    await fresh.close();
  });

  it('rejects bad arguments with LogArgumentError', async () => {
    const log = await PartitionLog.open(await dirFor('args'), testConfig());
    await assert.rejects(log.read(-1, 10), LogArgumentError);
    await assert.rejects(log.read(0, 1.5), LogArgumentError);
    await assert.rejects(log.read(0, 10, { maxOffset: -3 }), LogArgumentError);
    assert.throws(() => log.deleteRecordsBefore(Number.NaN), LogArgumentError);
    await log.close();
  });

  it('rejects an append spanning more than 2^31 offsets (int32 relative offsets) without writing', async () => {
    const log = await PartitionLog.open(await dirFor('span'), testConfig());
    const huge = makeValuesBatch('h', 1);
    huge.writeInt32BE(2 ** 31 - 1, 23); // lastOffsetDelta
    assert.throws(() => log.append(Buffer.concat([huge, Buffer.from(huge)])), InvalidBatchError);
    assert.equal(log.logEndOffset, 0);
    // One such batch is fine; the next append goes to a new segment.
    assert.equal(log.append(huge).lastOffset, 2 ** 31 - 1);
    assert.equal(log.append(makeValuesBatch('n', 1)).baseOffset, 2 ** 31);
    assert.deepEqual(log.segmentBaseOffsets, [0, 2 ** 31]);
    await log.close();
  });

  it('a failed fsync fails every waiter with LogStorageError and refuses further appends', async () => {
    let failNext = false;
    const logger = new RecordingLogger();
    const log = await PartitionLog.open(await dirFor('fsync-fail'), testConfig(), logger, {
      onSync: () => {
        if (failNext) throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
      },
    });
    log.append(makeValuesBatch('a', 1));
    failNext = true;
    const waiters = [log.flush(), log.flush()];
    for (const waiter of waiters) await assert.rejects(waiter, LogStorageError);
    assert.throws(() => log.append(makeValuesBatch('b', 1)), LogStorageError);
    await assert.rejects(log.flush(), LogStorageError);
    assert.equal(log.durableEndOffset, 0);
    assert.ok(logger.events.some((event) => event.level === 'error'));
    await log.close(); // no clean-shutdown marker: the next open recovers
    failNext = false;
    const reopened = await PartitionLog.open(log.dir, testConfig(), logger);
    assert.equal(reopened.logEndOffset, 1);
    await reopened.close();
  });

  it('a corrupt log-start-offset checkpoint falls back to the first segment with a warning', async () => {
    const dir = await dirFor('checkpoint');
    let log = await PartitionLog.open(dir, testConfig());
    log.append(makeValuesBatch('a', 4));
    await log.deleteRecordsBefore(2);
    await log.close();
    await writeFile(join(dir, 'log-start-offset'), 'garbage');
    const logger = new RecordingLogger();
    log = await PartitionLog.open(dir, testConfig(), logger);
    assert.equal(log.logStartOffset, 0);
    assert.ok(logger.warnings().some((message) => message.includes('checkpoint is corrupt')));
    await log.close();
  });

  it('reads racing retention either return data or out of range, never throw', async () => {
    const log = await PartitionLog.open(await dirFor('race'), testConfig({ segmentBytesMax: 300, retentionBytes: 0 }));
    for (let i = 0; i < 30; i++) log.append(makeBatch({ records: [{ value: Buffer.alloc(200, 0x62) }] }));
    const reads = Array.from({ length: 30 }, (_, offset) => log.read(offset, 1000));
    const retention = log.applyRetention(Date.now());
    const results = await Promise.all(reads);
    assert.equal((await retention).deletedSegments, 29);
    for (const result of results) assert.ok(result.kind === 'records' || result.kind === 'offsetOutOfRange');
    assert.deepEqual(await log.read(0, 10), { kind: 'offsetOutOfRange', logStartOffset: 29, logEndOffset: 30 });
    await log.close();
  });
});
