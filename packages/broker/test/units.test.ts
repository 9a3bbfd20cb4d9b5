import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstErrorCode } from '../src/server/dispatcher.js';
import { validateTopicConfig, validateTopicName, effectiveTopicConfig } from '../src/topic-configs.js';
import { loadConfig } from '../src/config.js';

test('firstErrorCode finds the top-level or the first nested partition error and ignores record bytes', () => {
  assert.equal(firstErrorCode({ errorCode: 0, responses: [{ partitions: [{ errorCode: 0, records: Buffer.from([1, 2]) }, { errorCode: 3 }] }] }), 3);
  assert.equal(firstErrorCode({ errorCode: 16 }), 16);
  assert.equal(firstErrorCode({ responses: [] }), 0);
});

test('topic names and configs are validated like Kafka', () => {
  assert.equal(validateTopicName('ok.name_-1'), null);
  for (const bad of ['', '.', '..', 'a/b', 'x'.repeat(250), null]) assert.notEqual(validateTopicName(bad), null, String(bad));
  assert.equal(validateTopicConfig('retention.ms', '-1'), null);
  assert.match(validateTopicConfig('cleanup.policy', 'compact')!, /only "delete"/);
  assert.match(validateTopicConfig('retention.ms', 'soon')!, /integer/);
  assert.match(validateTopicConfig('unclean.leader.election.enable', 'true')!, /unknown/);
  assert.equal(validateTopicConfig('segment.ms', null), null);
  const r = loadConfig('dev', {}, '/tmp');
  assert.ok(r.ok);
  if (!r.ok) return;
  const eff = effectiveTopicConfig(r.config, new Map([['max.message.bytes', '10']]));
  assert.equal(eff.maxMessageBytes, 10);
  assert.equal(eff.retentionMs, r.config.log.retentionMs);
});

test('every configuration variable is documented in the README table', async () => {
  const { readFileSync } = await import('node:fs');
  const { CONFIG_VARIABLES } = await import('../src/config.js');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const name of CONFIG_VARIABLES) assert.match(readme, new RegExp('\\| `' + name + '` \\|'), name);
});
