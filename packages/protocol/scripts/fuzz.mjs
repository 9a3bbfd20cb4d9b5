#!/usr/bin/env node
// Longer fuzz runs of the request decoder and the record batch validator/decoder: npm run fuzz -w @tributary/protocol -- --iterations 1000000 [--seed N]
// Requires a build (npx tsc -b packages/protocol).
import { fuzzRequestDecoder, fuzzRecordBatches } from '../dist/test/fuzz-core.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) {
    console.error(`--${name} needs a positive integer`);
    process.exit(2);
  }
  return value;
}

const iterations = arg('iterations', 200_000);
const seed = arg('seed', Date.now() % 0x7fffffff);
const started = process.hrtime.bigint();
const report = fuzzRequestDecoder(iterations, seed);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(`request decoder fuzz ok: seed=${seed} iterations=${report.iterations} decoded=${report.decoded} rejected=${report.rejected} in ${ms.toFixed(0)} ms`);
const batchStarted = process.hrtime.bigint();
const batches = fuzzRecordBatches(Math.ceil(iterations / 4), seed);
const batchMs = Number(process.hrtime.bigint() - batchStarted) / 1e6;
console.log(`record batch fuzz ok: seed=${seed} iterations=${batches.iterations} decoded=${batches.decoded} rejected=${batches.rejected} in ${batchMs.toFixed(0)} ms`);
