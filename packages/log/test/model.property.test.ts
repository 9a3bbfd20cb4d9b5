import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { PartitionLog, type LogConfig } from '../src/index.js';
import { simulateCrash } from '../src/partition-log.js';
import { decodeBatches, makeBatch } from './support/batches.js';
import { tempDir, testConfig } from './support/fixtures.js';

/**
 * Model-based property: any sequence of appends, flushes, clean reopens, crash reopens (abandoning the instance
 * without close) and deleteRecordsBefore leaves a log whose every readable offset returns exactly the batch the
 * model expects, whatever the segment size and index interval.
 */
type Operation =
  | { kind: 'append'; batches: { records: number; valueBytes: number }[] }
  | { kind: 'flush' }
  | { kind: 'reopenClean' }
  | { kind: 'reopenAfterCrash' }
  | { kind: 'deleteRecordsBefore'; fraction: number }
  | { kind: 'crashLosingUnflushedTail'; fraction: number; flipByte: boolean };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), batches: fc.array(fc.record({ records: fc.integer({ min: 1, max: 5 }), valueBytes: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopenClean' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopenAfterCrash' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteRecordsBefore' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crashLosingUnflushedTail' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }), flipByte: fc.boolean() }),
  },
);

interface ModelBatch {
  baseOffset: number;
  lastOffset: number;
  firstValue: string;
  sizeBytes: number;
}

describe('partition log model', () => {
  it('matches a simple in-memory model under random operations', { timeout: 120_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 200, max: 3000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.boolean(),
        async (operations, segmentBytesMax, indexIntervalBytes, preallocate) => {
          const { dir, cleanup } = await tempDir(`model-${run++}`);
          const config: LogConfig = testConfig({ segmentBytesMax, indexIntervalBytes });
          // With preallocation the active segment's file runs past its data with zeros (small here, so appends
          // cross the preallocated end often).
          const options = { preallocateBytes: preallocate ? 256 : 0 };
          let log = await PartitionLog.open(dir, config, undefined, options);
          const model: ModelBatch[] = [];
          let logStart = 0;
          let nextOffset = 0;
          try {
            for (const op of operations) {
              if (op.kind === 'append') {
                const bytes = Buffer.concat(
                  op.batches.map((spec, i) =>
                    makeBatch({ records: Array.from({ length: spec.records }, (_, r) => ({ value: Buffer.from(`${nextOffset}:${i}:${r}:`.padEnd(spec.valueBytes + 8, '.')) })) }),
                  ),
                );
                let at = 0;
                const sizes = op.batches.map(() => {
                  const size = 12 + bytes.readInt32BE(at + 8);
                  at += size;
                  return size;
                });
                const result = log.append(bytes);
                assert.equal(result.baseOffset, nextOffset);
                op.batches.forEach((spec, i) => {
                  model.push({ baseOffset: nextOffset, lastOffset: nextOffset + spec.records - 1, firstValue: `${result.baseOffset}:${i}:0:`, sizeBytes: 0 });
                  model[model.length - 1]!.sizeBytes = sizes[i]!;
                  nextOffset += spec.records;
                });
                assert.equal(result.lastOffset, nextOffset - 1);
              } else if (op.kind === 'flush') {
                assert.equal(await log.flush(), nextOffset);
              } else if (op.kind === 'reopenClean') {
                await log.close();
                log = await PartitionLog.open(dir, config, undefined, options);
              } else if (op.kind === 'reopenAfterCrash') {
                simulateCrash(log);
                log = await PartitionLog.open(dir, config, undefined, options);
              } else if (op.kind === 'crashLosingUnflushedTail') {
                // Power loss: bytes after the durable end of the active segment may vanish or be garbled.
                const activeBase = log.segmentBaseOffsets.at(-1)!;
                const durableEnd = log.durableEndOffset;
                if (durableEnd >= activeBase && durableEnd < nextOffset) {
                  // The end of the active segment's data (the file may run past it with preallocated zeros).
                  const dataEnd = (log as unknown as { segments: { sizeBytes: number }[] }).segments.at(-1)!.sizeBytes;
                  simulateCrash(log);
                  const file = join(dir, `${String(activeBase).padStart(20, '0')}.log`);
                  const size = (await stat(file)).size;
                  assert.ok(preallocate ? size >= dataEnd : size === dataEnd);
                  const tail = model.filter((batch) => batch.baseOffset >= durableEnd);
                  const tailBytes = tail.reduce((sum, batch) => sum + batch.sizeBytes, 0);
                  const durablePosition = dataEnd - tailBytes;
                  const cut = durablePosition + Math.floor(op.fraction * tailBytes);
                  /** Where the surviving data ends, as far as the model can tell. */
                  let survivingCut = cut;
                  if (op.flipByte && cut < dataEnd) {
                    const bytes = await readFile(file);
                    bytes[cut] = bytes[cut]! ^ 0x5a;
                    await writeFile(file, bytes);
                  } else if (preallocate) {
                    // Power loss over preallocated blocks: the size survives, the lost data reads as zeros. A batch
                    // whose lost bytes were zeros anyway (e.g. a record's trailing header count) is intact.
                    const bytes = await readFile(file);
                    let batchStart = durablePosition;
                    for (const batch of tail) {
                      const batchEnd = batchStart + batch.sizeBytes;
                      if (cut < batchEnd) {
                        if (bytes.subarray(cut, batchEnd).every((byte) => byte === 0)) survivingCut = batchEnd;
                        break;
                      }
                      batchStart = batchEnd;
                    }
                    bytes.fill(0, cut, dataEnd);
                    await writeFile(file, bytes);
                  } else {
                    await truncate(file, cut);
                  }
                  // Survivors: the tail batches wholly before the cut. A flipped byte invalidates its batch (and
                  // so every later one) unless it lands in partitionLeaderEpoch (bytes 12..15), which no checksum
                  // covers: Kafka's format cannot detect that, so neither can recovery.
                  let position = durablePosition;
                  let survivors = tail.length;
                  for (let k = 0; k < tail.length; k++) {
                    const end = position + tail[k]!.sizeBytes;
                    if (survivingCut < end) {
                      const flipInLeaderEpoch = op.flipByte && cut - position >= 12 && cut - position < 16;
                      survivors = flipInLeaderEpoch ? tail.length : k;
                      break;
                    }
                    position = end;
                  }
                  const lost = tail.slice(survivors);
                  model.splice(model.length - lost.length, lost.length);
                  nextOffset = lost.length > 0 ? lost[0]!.baseOffset : nextOffset;
                  // DeleteRecords past the durable end, then the crash lost the records up to it: the log restarts
                  // empty at the persisted log start offset.
                  if (nextOffset < logStart) nextOffset = logStart;
                } else {
                  simulateCrash(log);
                }
                log = await PartitionLog.open(dir, config, undefined, options);
              } else {
                const target = logStart + Math.floor(op.fraction * (nextOffset - logStart));
                assert.deepEqual(await log.deleteRecordsBefore(target), { kind: 'ok', logStartOffset: Math.max(target, logStart) });
                logStart = Math.max(target, logStart);
              }
              assert.equal(log.logEndOffset, nextOffset);
              assert.equal(log.logStartOffset, logStart);
            }
            for (let offset = logStart; offset < nextOffset; offset++) {
              const result = await log.read(offset, 1);
              assert.ok(result.kind === 'records');
              const [batch] = decodeBatches(result.records);
              const expected = model.find((entry) => entry.baseOffset <= offset && offset <= entry.lastOffset)!;
              assert.equal(batch!.baseOffset, expected.baseOffset);
              assert.equal(batch!.lastOffset, expected.lastOffset);
              assert.ok(batch!.crcValid);
              assert.ok(batch!.records[0]!.value!.startsWith(expected.firstValue));
              assert.equal(result.nextOffset, expected.lastOffset + 1);
            }
            if (logStart > 0) assert.equal((await log.read(logStart - 1, 1)).kind, 'offsetOutOfRange');
            assert.equal((await log.read(nextOffset + 1, 1)).kind, 'offsetOutOfRange');
            await log.close();
          } finally {
            await cleanup();
          }
        },
      ),
      { numRuns: Number(process.env.TRIBUTARY_LOG_MODEL_RUNS ?? 30) },
    );
  });
});
