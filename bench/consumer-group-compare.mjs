#!/usr/bin/env node
// A group of 3 kafkajs consumers draining a 6-partition topic (issue 3's benchmark), against Apache Kafka and
// Tributary one after the other on this machine. Prints records/s and the time from join to first record for each,
// and the ratio. Both brokers run with an initial rebalance delay of 0 (scripts/apache-kafka.mjs sets Kafka's), so the
// join time measures the rebalance itself.
//   node bench/consumer-group-compare.mjs [--runs 3]      (build first: npx turbo run build; Kafka: scripts/install/java.sh)
// Env passed through to the workload: RECORDS (60000), RECORD_BYTES (100).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startTributary } from './lib/processes.mjs';
import { startApacheKafka } from '../scripts/apache-kafka.mjs';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;
const workload = join(repoRoot, 'packages', 'broker', 'dist', 'test', 'consumer-groups', 'bench-group-drain.js');

function drain(bootstrap) {
  const result = spawnSync(process.execPath, [workload], {
    env: { ...process.env, BROKER: bootstrap, DRAIN_TIMEOUT_MS: '120000' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  const line = result.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (result.status !== 0 || line === undefined) throw new Error(`workload failed (${result.status}): ${result.stderr}`);
  return JSON.parse(line);
}

async function measure(system) {
  const dir = mkdtempSync(join(tmpdir(), `cg-compare-${system}-`));
  const broker =
    system === 'kafka'
      ? await startApacheKafka({ dir })
      : await startTributary({ dataDir: join(dir, 'data'), env: { TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } });
  try {
    return drain(broker.bootstrap);
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (let run = 1; run <= runs; run++) {
  const kafka = await measure('kafka');
  const tributary = await measure('tributary');
  for (const [name, r] of [['kafka', kafka], ['tributary', tributary]]) {
    if (r.consumed < r.records) throw new Error(`${name} drained ${r.consumed} of ${r.records} records`);
  }
  rows.push({ run, kafka, tributary });
  console.log(
    `run ${run}: drain records/s kafka ${kafka.drainRecordsPerSec} tributary ${tributary.drainRecordsPerSec} ` +
      `(ratio ${(tributary.drainRecordsPerSec / kafka.drainRecordsPerSec).toFixed(2)}x); ` +
      `join to first record ms kafka ${kafka.joinToFirstRecordMs} tributary ${tributary.joinToFirstRecordMs}`,
  );
}
console.log(JSON.stringify(rows));
