#!/usr/bin/env node
// Runs every compiled test file of every package in one node:test run, so there is one summary.
// Usage: node scripts/run-tests.mjs [package-name ...]   (default: all packages)
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const packages = readdirSync(join(root, 'packages')).filter((name) => wanted.length === 0 || wanted.includes(name));

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = packages.flatMap((name) => collect(join(root, 'packages', name, 'dist', 'test'), []));
if (files.length === 0) {
  console.error('no test files found: run the build first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
