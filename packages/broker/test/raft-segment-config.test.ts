// TRIBUTARY_RAFT_SEGMENT_BYTES: the Raft WAL's segment size (cluster-node.ts passes it to FileWal.open).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, RAFT_SEGMENT_BYTES_MIN } from '../src/config.js';

test('TRIBUTARY_RAFT_SEGMENT_BYTES: 64 MiB by default, a smaller size from 64 KiB up, anything below refused', () => {
  const unset = loadConfig('dev', {}, '/tmp/x');
  assert.ok(unset.ok);
  assert.equal(unset.config.raftSegmentBytesMax, 64 * 1024 * 1024);
  const small = loadConfig('dev', { TRIBUTARY_RAFT_SEGMENT_BYTES: '262144' }, '/tmp/x');
  assert.ok(small.ok);
  assert.equal(small.config.raftSegmentBytesMax, 262144);
  const tooSmall = loadConfig('dev', { TRIBUTARY_RAFT_SEGMENT_BYTES: String(RAFT_SEGMENT_BYTES_MIN - 1) }, '/tmp/x');
  assert.equal(tooSmall.ok, false);
  if (!tooSmall.ok) assert.match(tooSmall.errors.join('\n'), /TRIBUTARY_RAFT_SEGMENT_BYTES/);
});
