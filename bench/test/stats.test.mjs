// Parsers of the Java tools' output and the latency summary. Run: node --test bench/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConsumerPerformance, parseFlags, parsePositiveInt, parseProducerPerformance, summarizeLatencies } from '../lib/stats.mjs';

test('parseProducerPerformance reads the final summary line, not the progress lines', () => {
  const out = [
    '73246 records sent, 14649.2 records/sec (14.31 MB/sec), 1522.3 ms avg latency, 2072.0 ms max latency.',
    '200000 records sent, 20706.1 records/sec (20.22 MB/sec), 1306.57 ms avg latency, 2072.00 ms max latency, 1359 ms 50th, 1842 ms 95th, 1997 ms 99th, 2066 ms 99.9th.',
  ].join('\n');
  assert.deepEqual(parseProducerPerformance(out), {
    records: 200000,
    recordsPerSec: 20706,
    mbPerSec: 20.22,
    latencyMs: { avg: 1306.57, p50: 1359, p95: 1842, p99: 1997, p999: 2066, max: 2072 },
  });
  assert.equal(parseProducerPerformance('73246 records sent, 14649.2 records/sec (14.31 MB/sec), 1.0 ms avg latency, 2.0 ms max latency.'), null);
});

test('parseConsumerPerformance uses the fetch.* figures and keeps the join time apart', () => {
  const out = [
    'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
    '2026-11-23 12:07:45:581, 2026-11-23 12:07:48:612, 195.3125, 64.4383, 200000, 65984.8235, 1314, 1717, 113.7522, 116482.2365',
  ].join('\n');
  assert.deepEqual(parseConsumerPerformance(out), {
    records: 200000,
    mb: 195.31,
    mbPerSec: 113.75,
    recordsPerSec: 116482,
    mbPerSecIncludingJoin: 64.44,
    joinMs: 1314,
    fetchMs: 1717,
  });
  assert.equal(parseConsumerPerformance('no header here'), null);
});

test('summarizeLatencies uses nearest-rank percentiles', () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  assert.deepEqual(summarizeLatencies(samples), { avg: 50.5, p50: 50, p99: 99, max: 100, samples: 100 });
  assert.deepEqual(summarizeLatencies([]), { avg: null, p50: null, p99: null, max: null, samples: 0 });
});

test('parseFlags rejects unknown flags and missing values', () => {
  assert.deepEqual(parseFlags(['--records', '5'], { records: '1', acks: '1' }), { records: '5', acks: '1' });
  assert.throws(() => parseFlags(['--recrods', '5'], { records: '1' }), /unknown flag --recrods/);
  assert.throws(() => parseFlags(['--records'], { records: '1' }), /needs a value/);
});

test('parsePositiveInt accepts whole numbers above zero only', () => {
  assert.equal(parsePositiveInt('500000'), 500000);
  assert.equal(parsePositiveInt('1'), 1);
  for (const text of ['0', '-3', '1.5', '12k', '', 'NaN']) assert.equal(parsePositiveInt(text), null, text);
});
