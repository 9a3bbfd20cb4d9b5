import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDataDir } from './support/broker-process.js';

test('bad configuration exits 2 naming each bad variable and the reason', async () => {
  const { dir, cleanup } = tempDataDir();
  try {
    const r = await runCli(['start'], {
      TRIBUTARY_DATA_DIR: dir,
      TRIBUTARY_KAFKA_LISTEN: 'localhost',
      TRIBUTARY_FSYNC_POLICY: 'sometimes',
      TRIBUTARY_SOCKET_REQUEST_MAX_BYTES: '-5',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TRIBUTARY_KAFKA_LISTEN: expected host:port/);
    assert.match(r.stderr, /TRIBUTARY_FSYNC_POLICY: expected one of always \| interval \| never, got "sometimes"/);
    assert.match(r.stderr, /TRIBUTARY_SOCKET_REQUEST_MAX_BYTES: expected an integer in/);
  } finally {
    cleanup();
  }
});

test('start without a data dir exits 2; cluster is not available yet; unknown command exits 2', async () => {
  const start = await runCli(['start'], {});
  assert.equal(start.code, 2);
  assert.match(start.stderr, /TRIBUTARY_DATA_DIR: required/);
  const cluster = await runCli(['cluster', '--nodes', '3'], {});
  assert.equal(cluster.code, 2);
  assert.match(cluster.stderr, /not available yet/);
  const peers = await runCli(['start'], { TRIBUTARY_DATA_DIR: '/tmp/never-created', TRIBUTARY_NODE_ID: '1', TRIBUTARY_PEERS: '2@127.0.0.1:9999' });
  assert.equal(peers.code, 2);
  assert.match(peers.stderr, /multi-node clusters are not available yet/);
  const unknown = await runCli(['frobnicate'], {});
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});
