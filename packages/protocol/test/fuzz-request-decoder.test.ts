import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzRequestDecoder, fuzzRecordBatches } from './fuzz-core.js';

test('20k random and mutated request frames only ever raise ProtocolError', () => {
  const report = fuzzRequestDecoder(20_000, 20261123);
  assert.equal(report.decoded + report.rejected, 20_000);
  // the mutations must exercise both outcomes
  assert.ok(report.rejected > 1000, `rejected ${report.rejected}`);
  assert.ok(report.decoded > 1000, `decoded ${report.decoded}`);
});

test('5k mutated record batches: validateRecordBatches never throws, decodeRecordBatch only ProtocolError', () => {
  const report = fuzzRecordBatches(5_000, 7);
  assert.equal(report.decoded + report.rejected, 5_000);
  assert.ok(report.rejected > 100, `rejected ${report.rejected}`);
});
