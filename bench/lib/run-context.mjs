// What every comparison script sets up before it measures: a timestamp naming the run, bench/results/ for its JSON
// (and profiles), a scratch directory for this run under the OS temp dir, and a timestamped progress log on stderr
// (stdout stays the report).
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './processes.mjs';

/** `scratchPrefix` names the run's scratch directory: `<tmp>/<scratchPrefix>-<stamp>`. Both directories exist on return. */
export function benchRunContext(scratchPrefix) {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(repoRoot, 'bench', 'results');
  const runDir = join(os.tmpdir(), `${scratchPrefix}-${stamp}`);
  mkdirSync(resultsDir, { recursive: true });
  mkdirSync(runDir, { recursive: true });
  const log = (msg) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  return { stamp, resultsDir, runDir, log };
}
