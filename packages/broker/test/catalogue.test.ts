import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCatalogue } from '../src/catalogue/sqlite-catalogue.js';

test('topics, configs, cluster id and producer ids survive reopening', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-cat-'));
  try {
    const path = join(dir, 'metadata.sqlite');
    const a = SqliteCatalogue.open(path);
    const created = a.createTopic('t1', 3, new Map([['retention.ms', '1000']]), 5);
    assert.equal(created.ok, true);
    assert.deepEqual(a.createTopic('t1', 1, new Map(), 6), { ok: false, reason: 'exists' });
    a.setPartitionCount('t1', 5);
    a.replaceTopicConfigs('t1', new Map([['segment.bytes', '2048']]));
    const p1 = a.allocateProducerId();
    const p2 = a.allocateProducerId();
    assert.notEqual(p1, p2);
    const clusterId = a.clusterId;
    a.close();

    const b = SqliteCatalogue.open(path);
    assert.equal(b.clusterId, clusterId);
    const t = b.getTopic('t1')!;
    assert.equal(t.partitionCount, 5);
    assert.deepEqual([...t.configs], [['segment.bytes', '2048']]);
    assert.equal(b.getTopicById(t.topicId)?.name, 't1');
    const p3 = b.allocateProducerId();
    assert.ok(p3 > p2, 'producer ids never repeat after restart');
    assert.equal(b.deleteTopic('t1'), true);
    assert.equal(b.deleteTopic('t1'), false);
    b.close();
    assert.throws(() => SqliteCatalogue.open(path, 'other-cluster'), /belongs to cluster/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
