#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `node bench/kafka-compare.mjs --profile true`):
// the functions with the most self time and the most total (inclusive) time, with file:line, as % of all samples.
//
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--filter packages/]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlagsOrExit } from './lib/stats.mjs';
import { repoRoot } from './lib/processes.mjs';

const [file, ...rest] = process.argv.slice(2);
if (!file || file.startsWith('--')) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--filter <substring of the script path>]');
  process.exit(2);
}
const flags = parseFlagsOrExit(rest, { top: '25', filter: '' }, 'profile-summary');
const top = Number(flags.top);

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Sample counts per node from the samples array (more exact than hitCount when present).
const hits = new Map();
for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
if (hits.size === 0) for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
const totalSamples = [...hits.values()].reduce((a, b) => a + b, 0);

function label(frame) {
  let where = frame.url;
  if (where.startsWith('file://')) where = relative(repoRoot, fileURLToPath(where));
  const name = frame.functionName || '(anonymous)';
  return where ? `${name}  ${where}:${frame.lineNumber + 1}` : name;
}

const self = new Map();
const inclusive = new Map();
for (const [id, count] of hits) {
  if (count === 0) continue;
  const node = byId.get(id);
  const key = label(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + count);
  // Inclusive: every distinct function on the stack gets the sample once.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur).callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + count);
  }
}

const pct = (n) => `${((n / totalSamples) * 100).toFixed(1).padStart(5)}%`;
const show = (title, map) => {
  console.log(`\n${title}`);
  [...map.entries()]
    .filter(([k]) => !flags.filter || k.includes(flags.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, v]) => console.log(`${pct(v)}  ${k}`));
};
const durationMs = (profile.endTime - profile.startTime) / 1000;
const idle = self.get('(idle)') ?? 0;
console.log(`${file}: ${totalSamples} samples over ${(durationMs / 1000).toFixed(1)} s, busy ${pct(totalSamples - idle).trim()}`);
show('self time', self);
show('total time (inclusive)', inclusive);
