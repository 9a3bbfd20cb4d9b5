import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.js';

test('dev with an empty environment uses the documented defaults', () => {
  const r = loadConfig('dev', {}, '/tmp/x');
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.deepEqual(r.config.kafkaListen, { host: '127.0.0.1', port: 9092 });
  assert.deepEqual(r.config.httpListen, { host: '127.0.0.1', port: 9644 });
  assert.equal(r.config.dataDir, '/tmp/x/.data/dev');
  assert.equal(r.config.objectStoreDir, '/tmp/x/.data/dev/object-store');
  assert.equal(r.config.fsyncPolicy, 'always');
  assert.equal(r.config.socketRequestMaxBytes, 104857600);
  assert.equal(r.config.autoCreateTopics, true);
  assert.equal(r.config.log.retentionBytes, -1);
});

test('every bad variable is named with its reason', () => {
  const r = loadConfig('dev', {
    TRIBUTARY_KAFKA_LISTEN: 'nonsense',
    TRIBUTARY_FSYNC_POLICY: 'sometimes',
    TRIBUTARY_DEFAULT_PARTITIONS: '0',
    TRIBUTARY_AUTO_CREATE_TOPICS: 'maybe',
    TRIBUTARY_PEERS: '1@a:1,b:2',
    TRIBUTARY_S3_ENDPOINT: 'ftp://x',
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const text = r.errors.join('\n');
  for (const name of [
    'TRIBUTARY_KAFKA_LISTEN',
    'TRIBUTARY_FSYNC_POLICY',
    'TRIBUTARY_DEFAULT_PARTITIONS',
    'TRIBUTARY_AUTO_CREATE_TOPICS',
    'TRIBUTARY_PEERS',
    'TRIBUTARY_S3_ENDPOINT',
  ]) {
    assert.match(text, new RegExp(`^${name}: `, 'm'), name);
  }
  assert.equal(r.errors.length, 6);
});

test('start requires a data dir; s3 requires a bucket', () => {
  const r = loadConfig('start', { TRIBUTARY_OBJECT_STORE: 's3' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.ok(r.errors.some((e) => e.startsWith('TRIBUTARY_DATA_DIR:')));
  assert.ok(r.errors.some((e) => e.startsWith('TRIBUTARY_S3_BUCKET:')));
});

test('port 0, IPv6 listen addresses and peers parse', () => {
  const r = loadConfig('start', {
    TRIBUTARY_DATA_DIR: '/d',
    TRIBUTARY_KAFKA_LISTEN: '[::1]:0',
    TRIBUTARY_PEERS: '2@10.0.0.2:9093, 3@[::1]:9094',
    TRIBUTARY_NODE_ID: '1',
  });
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.deepEqual(r.config.kafkaListen, { host: '::1', port: 0 });
  assert.deepEqual(r.config.peers, [
    { nodeId: 2, host: '10.0.0.2', port: 9093 },
    { nodeId: 3, host: '::1', port: 9094 },
  ]);
});

test('consumer-group settings have Kafka defaults, parse overrides and reject min > max session timeout', () => {
  const defaults = loadConfig('dev', {}, '/tmp/x');
  assert.equal(defaults.ok, true);
  if (!defaults.ok) return;
  assert.deepEqual(defaults.config.consumerGroups, {
    initialRebalanceDelayMs: 3000,
    minSessionTimeoutMs: 6000,
    maxSessionTimeoutMs: 1800000,
    offsetsRetentionMs: 7 * 24 * 60 * 60 * 1000,
  });
  const overridden = loadConfig('dev', {
    TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    TRIBUTARY_OFFSETS_RETENTION_MINUTES: '2',
  });
  assert.equal(overridden.ok, true);
  if (!overridden.ok) return;
  assert.equal(overridden.config.consumerGroups.initialRebalanceDelayMs, 0);
  assert.equal(overridden.config.consumerGroups.offsetsRetentionMs, 120000);
  const bad = loadConfig('dev', {
    TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS: '9000',
    TRIBUTARY_GROUP_MAX_SESSION_TIMEOUT_MS: '8000',
  });
  assert.equal(bad.ok, false);
  if (bad.ok) return;
  assert.match(bad.errors.join('\n'), /^TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS: 9000 exceeds/m);
});

test('S3 path-style addressing defaults on for a custom endpoint, off for AWS, and can be overridden', () => {
  const base = { TRIBUTARY_OBJECT_STORE: 's3', TRIBUTARY_S3_BUCKET: 'b' };
  const custom = loadConfig('dev', { ...base, TRIBUTARY_S3_ENDPOINT: 'http://127.0.0.1:8333' });
  const aws = loadConfig('dev', base);
  const forcedOff = loadConfig('dev', { ...base, TRIBUTARY_S3_ENDPOINT: 'http://127.0.0.1:8333', TRIBUTARY_S3_FORCE_PATH_STYLE: 'false' });
  assert.ok(custom.ok && aws.ok && forcedOff.ok);
  assert.equal(custom.config.s3?.forcePathStyle, true);
  assert.equal(aws.config.s3?.forcePathStyle, false);
  assert.equal(forcedOff.config.s3?.forcePathStyle, false);
});

test('the Raft election timeout defaults to 1 s, parses an override and refuses values out of range', () => {
  const byDefault = loadConfig('dev', {}, '/tmp/x');
  assert.equal(byDefault.ok && byDefault.config.raftElectionTimeoutMs, 1000);
  const set = loadConfig('dev', { TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS: '3000' }, '/tmp/x');
  assert.equal(set.ok && set.config.raftElectionTimeoutMs, 3000);
  const tooShort = loadConfig('dev', { TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS: '100' }, '/tmp/x');
  assert.equal(tooShort.ok, false);
  assert.match(tooShort.ok ? '' : tooShort.errors.join('\n'), /^TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS: /m);
});

test('metadata voters default to this node and its peers; a joining node lists the formation voters without itself', () => {
  const formation = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '2', TRIBUTARY_PEERS: '3@h:1,1@h:2', TRIBUTARY_DEFAULT_REPLICATION_FACTOR: '3' }, '/tmp/x');
  assert.ok(formation.ok, JSON.stringify(formation));
  if (!formation.ok) return;
  assert.deepEqual(formation.config.metadataVoters, [1, 2, 3]);
  assert.equal(formation.config.clusterAdvertisedAddress, undefined);
  // Node 4 with one seed: the voters count as known nodes, so an RF 3 default is accepted.
  const joining = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '4', TRIBUTARY_PEERS: '2@h:1', TRIBUTARY_METADATA_VOTERS: '3, 1,2', TRIBUTARY_DEFAULT_REPLICATION_FACTOR: '3', TRIBUTARY_CLUSTER_ADVERTISED_ADDRESS: 'node-4:9093' }, '/tmp/x');
  assert.ok(joining.ok, JSON.stringify(joining));
  if (!joining.ok) return;
  assert.deepEqual(joining.config.metadataVoters, [1, 2, 3]);
  assert.deepEqual(joining.config.clusterAdvertisedAddress, { host: 'node-4', port: 9093 });
  const tooMany = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '4', TRIBUTARY_PEERS: '2@h:1', TRIBUTARY_DEFAULT_REPLICATION_FACTOR: '3' }, '/tmp/x');
  assert.deepEqual(tooMany.ok ? [] : tooMany.errors, ['TRIBUTARY_DEFAULT_REPLICATION_FACTOR: 3 exceeds the number of nodes (2)']);
  const bad = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '4', TRIBUTARY_PEERS: '2@h:1', TRIBUTARY_METADATA_VOTERS: '1,x' }, '/tmp/x');
  assert.ok(!bad.ok && bad.errors[0]!.startsWith('TRIBUTARY_METADATA_VOTERS: entry "x"'), JSON.stringify(bad));
  const twice = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '4', TRIBUTARY_PEERS: '2@h:1', TRIBUTARY_METADATA_VOTERS: '1,2,1' }, '/tmp/x');
  assert.ok(!twice.ok && twice.errors[0] === 'TRIBUTARY_METADATA_VOTERS: node id 1 appears twice', JSON.stringify(twice));
});

test('cluster mode: set by TRIBUTARY_PEERS or by TRIBUTARY_METADATA_VOTERS alone (a one-node cluster), off otherwise', () => {
  const standalone = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d' }, '/tmp/x');
  assert.ok(standalone.ok, JSON.stringify(standalone)); // a failed load must not pass as "not cluster mode"
  assert.equal(standalone.config.clusterMode, false);
  const withPeers = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '1', TRIBUTARY_PEERS: '2@h:1' }, '/tmp/x');
  assert.equal(withPeers.ok && withPeers.config.clusterMode, true);
  const oneNode = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_NODE_ID: '1', TRIBUTARY_METADATA_VOTERS: '1' }, '/tmp/x');
  assert.ok(oneNode.ok, JSON.stringify(oneNode));
  if (!oneNode.ok) return;
  assert.equal(oneNode.config.clusterMode, true);
  assert.deepEqual(oneNode.config.peers, []);
  assert.deepEqual(oneNode.config.metadataVoters, [1]);
  const noId = loadConfig('start', { TRIBUTARY_DATA_DIR: '/d', TRIBUTARY_METADATA_VOTERS: '1' }, '/tmp/x');
  assert.deepEqual(noId.ok ? [] : noId.errors, ['TRIBUTARY_NODE_ID: required when TRIBUTARY_PEERS or TRIBUTARY_METADATA_VOTERS is set']);
});
