// RaftPartition.replaceLog (topic config change): committed entries that arrive while the log is being reopened
// wait and are applied in order on the new log; reads wait for the new log; nothing is lost or applied twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_LOG_CONFIG, PartitionLog, kafkaOffset } from '@tributary/log';
import { EntryType, raftGroupId, type Entry, type RaftHost, type RaftIndex, type Term } from '@tributary/raft';
import { RaftPartition, encodePartitionEntry } from '../../src/cluster/raft-partition.js';
import { batchOf, recordsIn } from '../support/batches.js';

const silent = pino({ level: 'silent' });

test('RaftPartition.replaceLog: entries committed during the reopen are applied afterwards, in order, on the new log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-reopen-'));
  const host = { nodeId: 1, group: () => undefined } as unknown as RaftHost;
  const fail = (err: Error): void => assert.fail(err);
  try {
    const logDir = join(dir, 'p0');
    const entry = (index: number, value: string): Entry => ({
      index: index as RaftIndex,
      term: 2 as Term,
      type: EntryType.Normal,
      data: encodePartitionEntry(Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }])), false, 1000 + index),
    });
    const log = await PartitionLog.open(logDir, DEFAULT_LOG_CONFIG);
    const p = new RaftPartition('t', 0, raftGroupId(2), log, host, await RaftPartition.recover(log), silent, fail);
    p.apply([entry(1, 'a'), entry(2, 'b')]);

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reopenedWith: number | undefined;
    const replaced = p.replaceLog(async (old) => {
      await old.close();
      await gate; // entries committed now must wait for the new log
      const config = { ...DEFAULT_LOG_CONFIG, segmentBytesMax: 1024 };
      reopenedWith = config.segmentBytesMax;
      return PartitionLog.open(logDir, config);
    });
    await new Promise((r) => setImmediate(r));
    p.apply([entry(3, 'c'), entry(4, 'd')]);
    const reading = p.read(kafkaOffset(0), 1 << 20, true);
    assert.equal(p.highWatermark, 2, 'nothing applied while the log is reopened');
    release();
    await replaced;
    assert.equal(reopenedWith, 1024);
    assert.equal(p.highWatermark, 4);
    const r = await reading;
    assert.equal(r.kind, 'ok');
    const all = await p.read(kafkaOffset(0), 1 << 20, true);
    assert.deepEqual(recordsIn(all.kind === 'ok' ? all.result.records : null).map((x) => x.value!.toString()), ['a', 'b', 'c', 'd']);
    p.apply([entry(3, 'c'), entry(5, 'e')]); // a replayed index is skipped; the next applies normally
    assert.equal(p.highWatermark, 5);
    await p.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
