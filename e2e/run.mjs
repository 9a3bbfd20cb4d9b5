#!/usr/bin/env node
// Runs the real-client interoperability suites one after the other, each in its own process group with a time bound.
// Usage: node e2e/run.mjs [suite ...]      (default: all; `--list` prints the names)
// Prints one line per suite and ends with "N passed, N failed" (", N skipped" when any) alone on a line;
// exits 1 when any suite failed. Needs the broker built (`npx turbo run build`) and the clients installed (scripts/install/*.sh).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SUITES, loadSuite } from './lib/suites.mjs';

const args = process.argv.slice(2);
if (args.includes('--list')) {
  for (const name of SUITES) {
    const s = await loadSuite(name);
    console.log(`${name.padEnd(36)} ${s.description}`);
  }
  process.exit(0);
}
const wanted = args.length > 0 ? args : SUITES;
for (const name of wanted) if (!SUITES.includes(name)) {
  console.error(`unknown suite "${name}"; known: ${SUITES.join(', ')}`);
  process.exit(2);
}

const runSuite = fileURLToPath(new URL('./lib/run-suite.mjs', import.meta.url));
const CLEANUP_GRACE_MS = 30_000;

function runOne(name, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runSuite, name], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d.toString();
    });
    let timedOut = false;
    const killGroup = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGKILL');
    }, timeoutMs + CLEANUP_GRACE_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup('SIGKILL'); // anything the suite left behind (clients, brokers) goes with it
      const line = out.split('\n').find((l) => l.startsWith('SUITE-RESULT '));
      if (line) resolve(JSON.parse(line.slice('SUITE-RESULT '.length)));
      else
        resolve({
          status: 'fail',
          reason: timedOut ? `timed out after ${(timeoutMs + CLEANUP_GRACE_MS) / 1000} s` : `suite process died (code ${code}, signal ${signal})`,
          counts: {},
        });
    });
  });
}

const results = [];
for (const name of wanted) {
  const suite = await loadSuite(name);
  const startedMs = Date.now();
  console.log(`--- ${name}: ${suite.description}`);
  const r = await runOne(name, suite.timeoutMs);
  const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  const counts = Object.entries(r.counts ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const status = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }[r.status];
  console.log(`${status} ${name} ${seconds}s ${counts}${r.status === 'skip' ? ` (skipped: ${r.reason})` : ''}`);
  if (r.status === 'fail') console.log(`     ${String(r.reason).split('\n').join('\n     ')}`);
  results.push({ name, ...r, seconds });
}

console.log('');
console.log('e2e summary:');
for (const r of results) console.log(`  ${r.status.toUpperCase().padEnd(4)} ${r.name.padEnd(36)} ${r.seconds}s`);
const passed = results.filter((r) => r.status === 'pass').length;
const failed = results.filter((r) => r.status === 'fail').length;
const skipped = results.filter((r) => r.status === 'skip').length;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
