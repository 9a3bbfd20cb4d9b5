#!/usr/bin/env node
// Runs one suite in this process and prints its result as the last stdout line:  SUITE-RESULT {"status":...}
// Usage: node e2e/lib/run-suite.mjs <suite-name>   (run.mjs starts one of these per suite, each with a time bound)
import { SkipSuite, SuiteContext } from './suite.mjs';
import { loadSuite } from './suites.mjs';

const name = process.argv[2];
const suite = await loadSuite(name);
const ctx = new SuiteContext(name);
let result;
try {
  const counts = await suite.run(ctx);
  result = { status: 'pass', counts: counts ?? ctx.counts };
} catch (e) {
  if (e instanceof SkipSuite) result = { status: 'skip', reason: e.message, counts: ctx.counts };
  else {
    result = { status: 'fail', reason: e?.stack ?? String(e), counts: ctx.counts };
    for (const b of ctx.brokers) process.stderr.write(`--- ${b.name} log: ${b.logFile}\n`);
  }
}
const keep = result.status === 'fail' || process.env.TRIBUTARY_E2E_KEEP === '1';
await ctx.cleanup({ keep });
if (keep) process.stderr.write(`  work dir kept: ${ctx.workDir}\n`);
process.stdout.write(`SUITE-RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
