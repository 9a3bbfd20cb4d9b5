// Deployment docs and code agree on the configuration: every variable the code reads is in .env.example and
// docs/OPERATIONS.md, every variable they list is read by the code (TRIBUTARY_* by src/config.ts, AWS_* by the
// AWS SDK's credential chain), and each default .env.example states is the default the code applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES, loadConfig, type CliMode } from '../../src/config.js';

// dist/test/deploy -> repository root
const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../..');
const ENV_EXAMPLE = join(REPO_ROOT, '.env.example');
const OPERATIONS = join(REPO_ROOT, 'docs/OPERATIONS.md');

// A name ends in a letter or digit: `TRIBUTARY_S3_*` in prose is a family of names, not one.
const VARIABLE = /\b((?:TRIBUTARY|AWS)_[A-Z0-9_]*[A-Z0-9])\b/g;

function filesUnder(dir: string, suffix: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) filesUnder(path, suffix, out);
    else if (entry.endsWith(suffix)) out.push(path);
  }
  return out;
}

/** NAME=value lines of .env.example (comments skipped), in file order. */
function envExampleAssignments(): { name: string; value: string }[] {
  return readFileSync(ENV_EXAMPLE, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => ({ name: line.slice(0, line.indexOf('=')), value: line.slice(line.indexOf('=') + 1) }));
}

function namesIn(text: string): Set<string> {
  return new Set([...text.matchAll(VARIABLE)].map((m) => m[1]!));
}

const sorted = (names: Iterable<string>): string[] => [...names].sort();
const tributary = (names: Iterable<string>): string[] => sorted([...names].filter((n) => n.startsWith('TRIBUTARY_')));
const aws = (names: Iterable<string>): string[] => sorted([...names].filter((n) => n.startsWith('AWS_')));

test('the code reads TRIBUTARY_* variables only through src/config.ts, and only the ones it lists', () => {
  const codeRoots = readdirSync(join(REPO_ROOT, 'packages')).map((p) => join(REPO_ROOT, 'packages', p, 'src')).filter(existsSync);
  const mentioned = new Set<string>();
  for (const file of codeRoots.flatMap((root) => filesUnder(root, '.ts'))) {
    const text = readFileSync(file, 'utf8');
    for (const name of namesIn(text)) if (name.startsWith('TRIBUTARY_')) mentioned.add(name);
    if (!file.endsWith(join('broker', 'src', 'config.ts'))) {
      // Passing the whole environment on (`...process.env`) is fine; picking a variable out of it is config.ts's job.
      assert.doesNotMatch(text, /process\.env(\.|\[)/, `${file} reads process.env directly`);
    }
  }
  const listed = new Set<string>(CONFIG_VARIABLES);
  for (const name of mentioned) assert.ok(listed.has(name), `${name} appears in the code but is not in CONFIG_VARIABLES`);
});

test('.env.example and docs/OPERATIONS.md list exactly the variables the code reads', () => {
  const envNames = envExampleAssignments().map((a) => a.name);
  assert.equal(new Set(envNames).size, envNames.length, '.env.example assigns a variable twice');
  const operationsNames = namesIn(readFileSync(OPERATIONS, 'utf8'));
  const code = sorted(CONFIG_VARIABLES);
  assert.deepEqual(tributary(envNames), code, '.env.example vs CONFIG_VARIABLES');
  assert.deepEqual(tributary(operationsNames), code, 'docs/OPERATIONS.md vs CONFIG_VARIABLES');
  assert.ok(aws(envNames).length > 0, '.env.example documents the S3 credentials');
  assert.deepEqual(aws(operationsNames), aws(envNames), 'AWS_* variables: docs/OPERATIONS.md vs .env.example');
  assert.deepEqual(sorted(envNames), sorted([...tributary(envNames), ...aws(envNames)]), 'only TRIBUTARY_* and AWS_* variables');
});

test('every AWS_* variable the docs list is read by the AWS SDK the object store uses', () => {
  // The S3 store leaves credentials to the SDK's default chain; find each name as a string literal in its code.
  const snapshotRequire = createRequire(join(REPO_ROOT, 'packages/snapshot/package.json'));
  const clientEntry = snapshotRequire.resolve('@aws-sdk/client-s3');
  const nodeModules = clientEntry.slice(0, clientEntry.lastIndexOf(`${join('node_modules', '@aws-sdk')}`) + 'node_modules'.length);
  const sdkFiles = ['@aws-sdk', '@smithy']
    .flatMap((scope) => readdirSync(join(nodeModules, scope)).map((pkg) => join(nodeModules, scope, pkg, 'dist-cjs')))
    .filter(existsSync)
    .flatMap((dir) => filesUnder(dir, '.js'));
  assert.ok(sdkFiles.length > 0, `no AWS SDK code found under ${dirname(clientEntry)}`);
  const unread = new Set(aws(envExampleAssignments().map((a) => a.name)));
  for (const file of sdkFiles) {
    if (unread.size === 0) break;
    const text = readFileSync(file, 'utf8');
    for (const name of [...unread]) if (text.includes(`"${name}"`)) unread.delete(name);
  }
  assert.deepEqual([...unread], [], 'listed in .env.example but read by no AWS SDK module');
});

test('every default .env.example states is the default the code applies', () => {
  // Setting a variable to its documented default must give the same configuration as leaving it unset, in the
  // single-node default and with the S3 store (where the TRIBUTARY_S3_* defaults take effect).
  const bases: { mode: CliMode; env: Record<string, string> }[] = [
    { mode: 'dev', env: {} },
    { mode: 'dev', env: { TRIBUTARY_OBJECT_STORE: 's3', TRIBUTARY_S3_BUCKET: 'coherence' } },
  ];
  const cwd = '/srv/tributary';
  const documented = envExampleAssignments().filter((a) => a.name.startsWith('TRIBUTARY_'));
  assert.ok(documented.some((a) => a.value !== ''), 'some defaults are stated');
  for (const base of bases) {
    const unset = loadConfig(base.mode, base.env, cwd);
    assert.ok(unset.ok, JSON.stringify(unset));
    for (const { name, value } of documented) {
      if (name in base.env) continue;
      const set = loadConfig(base.mode, { ...base.env, [name]: value }, cwd);
      assert.deepEqual(set, unset, `${name}=${value} in .env.example is not the default`);
    }
  }
});
