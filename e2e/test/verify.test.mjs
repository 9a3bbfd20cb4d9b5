// The checker must catch what it exists to catch: lost, duplicated, reordered and altered records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateRecords, recordLine, encodeHeaders, decodeHeaders } from '../lib/records.mjs';
import { verifyDelivery } from '../lib/verify.mjs';
import { parseKcatOutput } from '../suites/kcat.mjs';

const records = generateRecords(50, { seed: 3 });
const acks = records.map((_, i) => ({ index: i, partition: i % 2, offset: Math.floor(i / 2) }));
const consumedFrom = (list) => list.map((i) => ({ partition: i % 2, offset: Math.floor(i / 2), line: recordLine(records[i]) }));
const inOrder = [...Array(50).keys()].sort((a, b) => (a % 2) - (b % 2) || a - b);

test('generated records are deterministic and unique', () => {
  assert.deepEqual(generateRecords(50, { seed: 3 }).map(recordLine), records.map(recordLine));
  assert.equal(new Set(records.map(recordLine)).size, 50);
  assert.ok(records.some((r) => r.key === null));
});

test('headers survive the line encoding, including null values', () => {
  const headers = [{ name: Buffer.from('a'), value: null }, { name: Buffer.from('b'), value: Buffer.from([0, 1, 255]) }];
  assert.deepEqual(decodeHeaders(encodeHeaders(headers)), headers);
});

test('a complete, ordered read passes', () => {
  const r = verifyDelivery({ records, acks, consumed: consumedFrom(inOrder) });
  assert.equal(r.ok, true, r.errors.join('\n'));
  assert.equal(r.stats.consumed, 50);
});

test('a lost record fails', () => {
  const r = verifyDelivery({ records, acks, consumed: consumedFrom(inOrder.filter((i) => i !== 17)) });
  assert.equal(r.ok, false);
  assert.equal(r.stats.missing, 1);
});

test('a duplicate fails for an idempotent producer and passes otherwise when the acked copy is in place', () => {
  const consumed = consumedFrom(inOrder);
  consumed.push({ partition: 1, offset: 1000, line: recordLine(records[49]) });
  assert.equal(verifyDelivery({ records, acks, consumed }).ok, false);
  assert.equal(verifyDelivery({ records, acks, consumed, idempotent: false }).ok, true);
});

test('a changed byte fails', () => {
  const consumed = consumedFrom(inOrder);
  const v = Buffer.from(records[4].value);
  v[v.length - 1] ^= 1;
  consumed[2] = { ...consumed[2], line: recordLine({ ...records[4], value: v }) };
  assert.equal(verifyDelivery({ records, acks, consumed }).ok, false);
});

test('reordered records fail (producer without offsets, one partition)', () => {
  const order = [...Array(50).keys()];
  [order[3], order[4]] = [order[4], order[3]];
  const consumed = order.map((i, k) => ({ partition: 0, offset: k, line: recordLine(records[i]) }));
  const r = verifyDelivery({ records, acks: null, consumed });
  assert.equal(r.ok, false);
  assert.match(r.errors.join('\n'), /produce order/);
  const fine = [...Array(50).keys()].map((i) => ({ partition: 0, offset: i, line: recordLine(records[i]) }));
  assert.equal(verifyDelivery({ records, acks: null, consumed: fine }).ok, true);
});

test('kcat output is parsed by lengths, so tabs and separators in values survive', () => {
  const key = Buffer.from('k\t1');
  const value = Buffer.from('v\t\n2');
  const out = Buffer.concat([Buffer.from(`0\t5\t${key.length}\t`), key, Buffer.from(`\t${value.length}\t`), value, Buffer.from('\ta=b,c=d\n')]);
  const rows = parseKcatOutput(out);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].offset, 5);
  assert.equal(rows[0].line, recordLine({ key, value, headers: [{ name: Buffer.from('a'), value: Buffer.from('b') }, { name: Buffer.from('c'), value: Buffer.from('d') }] }));
});
