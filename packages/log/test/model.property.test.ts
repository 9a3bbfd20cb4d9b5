import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PartitionLog, type LogConfig } from '../src/index.js';
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
  | { kind: 'deleteRecordsBefore'; fraction: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), batches: fc.array(fc.record({ records: fc.integer({ min: 1, max: 5 }), valueBytes: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopenClean' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopenAfterCrash' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteRecordsBefore' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
);

interface ModelBatch {
  baseOffset: number;
  lastOffset: number;
  firstValue: string;
}

describe('partition log model', () => {
  it('matches a simple in-memory model under random operations', { timeout: 120_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 200, max: 3000 }),
        fc.integer({ min: 1, max: 1000 }),
        async (operations, segmentBytesMax, indexIntervalBytes) => {
          const { dir, cleanup } = await tempDir(`model-${run++}`);
          const config: LogConfig = testConfig({ segmentBytesMax, indexIntervalBytes });
          let log = await PartitionLog.open(dir, config);
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
                const result = log.append(bytes);
                assert.equal(result.baseOffset, nextOffset);
                op.batches.forEach((spec, i) => {
                  model.push({ baseOffset: nextOffset, lastOffset: nextOffset + spec.records - 1, firstValue: `${result.baseOffset}:${i}:0:` });
                  nextOffset += spec.records;
                });
                assert.equal(result.lastOffset, nextOffset - 1);
              } else if (op.kind === 'flush') {
                assert.equal(await log.flush(), nextOffset);
              } else if (op.kind === 'reopenClean') {
                await log.close();
                log = await PartitionLog.open(dir, config);
              } else if (op.kind === 'reopenAfterCrash') {
                log = await PartitionLog.open(dir, config); // the old instance is abandoned, never closed
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
      { numRuns: 30 },
    );
  });
});
