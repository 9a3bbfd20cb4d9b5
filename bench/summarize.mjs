#!/usr/bin/env node
// Combines several bench/results/*.json runs of kafka-compare.mjs into one Markdown table: per workload and metric,
// the median of each system over the runs (and min-max), and each Tributary variant's median ratio to Kafka (and min-max).
// Ratios are taken per run (same run = same machine state) and then the median of those ratios is shown.
//
//   node bench/summarize.mjs bench/results/a.json bench/results/b.json ...
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/summarize.mjs <results.json> [...]');
  process.exit(2);
}
const runs = files.map((f) => ({ file: f, ...JSON.parse(readFileSync(f, 'utf8')) }));
const shape = (r) => JSON.stringify({ ...r.params, systems: undefined });
for (const run of runs.slice(1)) {
  if (shape(run) !== shape(runs[0])) console.error(`warning: ${run.file} ran with other parameters than ${runs[0].file}: ${shape(run)}`);
}

const median = (xs) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmt = (x) => (x === null ? '-' : Number.isInteger(x) ? String(x) : x >= 100 ? x.toFixed(0) : x.toFixed(2));

// Systems and row order from the first run; metric values from each run's `comparison` rows.
const systems = [];
for (const run of runs) for (const s of run.params.systems ?? Object.keys(run.results)) if (!systems.includes(s)) systems.push(s);
const variants = systems.filter((s) => s !== 'kafka');
const rows = new Map();
for (const run of runs) {
  for (const row of run.comparison) {
    const key = `${row.workload}|${row.metric}`;
    if (!rows.has(key)) rows.set(key, { workload: row.workload, metric: row.metric, values: {}, ratios: {} });
    const agg = rows.get(key);
    for (const s of systems) {
      const v = row.values?.[s];
      if (typeof v === 'number') (agg.values[s] ??= []).push(v);
      const r = row.ratios?.[s];
      if (typeof r === 'number') (agg.ratios[s] ??= []).push(r);
    }
  }
}

const header = ['workload', 'metric', ...systems, ...variants.map((s) => `${s} / kafka`)];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
for (const r of rows.values()) {
  const cells = systems.map((s) => {
    const xs = r.values[s] ?? [];
    if (xs.length === 0) return '-';
    const m = fmt(median(xs));
    return xs.length > 1 ? `${m} (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))})` : m;
  });
  const ratios = variants.map((s) => {
    const xs = r.ratios[s] ?? [];
    const m = median(xs);
    if (m === null) return '-';
    return xs.length > 1 ? `${m.toFixed(2)}x (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})` : `${m.toFixed(2)}x`;
  });
  console.log(`| ${[r.workload, r.metric, ...cells, ...ratios].join(' | ')} |`);
}
console.log(`\n${runs.length} run(s): ${runs.map((r) => `${r.startedAt} (load ${systems.map((s) => r.results[s]?.loadAverageAtStart?.[0] ?? '-').join('/')})`).join(', ')}`);
