import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterId } from '../src/ids.js';
import { manifestKey, nodeWriterCluster, parseNodeWriterCluster } from '../src/keys.js';
import { raftGroupId, raftIndex, raftTerm } from '../src/ids.js';

test('node writer prefixes: one key segment per (cluster, node), parsed back, distinct per node', () => {
  const writer = nodeWriterCluster(clusterId('Abc_def-1'), 3);
  assert.equal(writer, 'Abc_def-1.node-3');
  assert.deepEqual(parseNodeWriterCluster(writer), { cluster: 'Abc_def-1', nodeId: 3 });
  assert.equal(manifestKey(writer, raftGroupId('7'), { index: raftIndex(12), term: raftTerm(2) }), 'manifests/Abc_def-1.node-3/7/00000000000000000012-2.json');
  assert.notEqual(nodeWriterCluster(clusterId('c'), 1), nodeWriterCluster(clusterId('c'), 11));
  assert.equal(parseNodeWriterCluster('Abc_def-1'), null);
  assert.equal(parseNodeWriterCluster('x.node-'), null);
  assert.throws(() => nodeWriterCluster(clusterId('c'), -1), RangeError);
});
