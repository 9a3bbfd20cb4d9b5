// Retention, DeleteRecords and producer expiry across three in-process replicas (RaftHosts over a MemoryNetwork,
// real FileWals and PartitionLogs): the leader decides, every replica applies the same command at the same log
// position, ends with the same log start and byte-identical segment files, keeps them across a follower restart
// and a leader change; a snapshot taken after a trim restores with the right log start and no deleted segment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LOG_CONFIG, PartitionLog, kafkaOffset, type LogConfig } from '@tributary/log';
import { MemoryNetwork, Role, nodeId, raftGroupId } from '@tributary/raft';
import { MemoryObjectStore } from '@tributary/snapshot';
import { stageNewest, swapIn } from '../../src/cluster/snapshots/partition-restore.js';
import { snapshotGroupOf } from '../../src/cluster/snapshots/snapshot-service.js';
import { batchOf } from '../support/batches.js';
import { RAFT_GROUP, entryData, propose, repositoryOf, segmentFiles, servicesFor, silent, startReplica, waitFor, type Replica } from './partition-snapshot-support.js';

const group = raftGroupId(RAFT_GROUP);
const DAY_MS = 86_400_000;
/** 1 KiB segments, retention.ms one minute. */
const CONFIG: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytesMax: 1024, retentionMs: 60_000 };
const batchAt = (timestampMs: number, value: string, producer?: { id: number; seq: number }): Buffer =>
  Buffer.from(batchOf([{ key: null, value: Buffer.from(`${value}-${'x'.repeat(60)}`), timestamp: timestampMs }],
    producer === undefined ? undefined : { producerId: producer.id, producerEpoch: 0, baseSequence: producer.seq }));

const leaderOf = (replicas: readonly Replica[]): Replica | undefined => replicas.find((r) => r.host.group(group)?.role === Role.Leader);

function sameEverywhere(replicas: readonly Replica[], what: string): void {
  const reference = segmentFiles(replicas[0]!.dir);
  for (const r of replicas.slice(1)) {
    assert.deepEqual([...segmentFiles(r.dir).keys()], [...reference.keys()], `${what}: node ${r.node} holds the same segments`);
    for (const [name, bytes] of segmentFiles(r.dir)) assert.ok(bytes.equals(reference.get(name)!), `${what}: ${name} byte-identical on node ${r.node}`);
    assert.equal(r.partition.logStartOffset, replicas[0]!.partition.logStartOffset, `${what}: node ${r.node} log start`);
    assert.deepEqual(r.partition.epochs.all, replicas[0]!.partition.epochs.all, `${what}: node ${r.node} leader epochs`);
  }
}

test('three replicas: retention.ms, DeleteRecords and producer expiry replicated; log start survives a restart and a leader change', async () => {
  const base = mkdtempSync(join(tmpdir(), 'trib-trim-rep-'));
  const store = new MemoryObjectStore();
  const network = new MemoryNetwork(4);
  const voters = [1, 2, 3];
  const replicas: Replica[] = [];
  try {
    for (const node of voters) replicas.push(await startReplica({ node, voters, network, baseDir: base, store, logConfig: CONFIG }));
    const nowMs = Date.now();
    // 40 old records (an hour ago; producer 9 among them), then 20 recent ones
    let seq = 0;
    for (let i = 0; i < 40; i++) await propose(replicas, entryData(i % 2 === 0 ? batchAt(nowMs - 3_600_000, `old${i}`) : batchAt(nowMs - 3_600_000, `old${i}`, { id: 9, seq: seq++ })));
    for (let i = 0; i < 20; i++) await propose(replicas, entryData(batchAt(nowMs, `new${i}`)));
    await waitFor('every replica applied 60 records', () => replicas.every((r) => r.partition.logEndOffset === 60));
    sameEverywhere(replicas, 'before retention');

    // Retention on a follower decides nothing; on the leader it deletes every segment holding only old records.
    const leader = leaderOf(replicas)!;
    const follower = replicas.find((r) => r !== leader)!;
    await follower.partition.applyRetention(nowMs, DAY_MS);
    assert.equal(leader.partition.logStartOffset, 0, 'a follower proposes nothing');
    await leader.partition.applyRetention(nowMs, DAY_MS);
    const retained = leader.partition.logStartOffset as number;
    assert.ok(retained > 20 && retained <= 40, `log start moved to a segment boundary at or below the first recent record (${retained})`);
    await waitFor('every replica applied the retention', () => replicas.every((r) => r.partition.logStartOffset === retained && r.partition.captureState() !== null));
    sameEverywhere(replicas, 'after retention');
    assert.ok(![...segmentFiles(leader.dir).keys()].includes('00000000000000000000.log'), 'the first segment is gone');

    // Producer 9 wrote an hour ago: with a 1 min expiration the leader expires it, then a new sequence is accepted.
    const before = leader.partition.logEndOffset;
    await leader.partition.applyRetention(nowMs, 60_000);
    await waitFor('every replica applied the expiry', () => replicas.every((r) => r.partition.captureState() !== null && r.partition.appliedPosition().raftIndex === leader.partition.appliedPosition().raftIndex));
    await propose(replicas, entryData(batchAt(nowMs, 'restarted-sequence', { id: 9, seq: 1000 })));
    await waitFor('every replica appended the new sequence', () => replicas.every((r) => r.partition.logEndOffset === before + 1));

    // DeleteRecords: answered after commit with the new low watermark; past the high watermark out of range; a
    // follower answers not-leader.
    assert.deepEqual(await leader.partition.deleteRecordsBefore(kafkaOffset(1000)), { kind: 'offsetOutOfRange' });
    assert.equal((await follower.partition.deleteRecordsBefore(kafkaOffset(50))).kind, 'notLeader');
    assert.deepEqual(await leader.partition.deleteRecordsBefore(kafkaOffset(50)), { kind: 'ok', lowWatermark: 50 });
    assert.deepEqual(await leader.partition.deleteRecordsBefore(kafkaOffset(45)), { kind: 'ok', lowWatermark: 50 }, 'below the start: the start');
    await waitFor('every replica at log start 50', () => replicas.every((r) => r.partition.logStartOffset === 50 && r.partition.captureState() !== null));
    sameEverywhere(replicas, 'after DeleteRecords');
    assert.deepEqual(await follower.partition.read(kafkaOffset(49), 1 << 20, true), { kind: 'offsetOutOfRange' }, 'below the low watermark on a follower');

    // A snapshot after the trim names no deleted segment and restores with the log start; the follower compacts its
    // Raft log behind it (its checkpoint goes through the same writer as the commands').
    const content = await follower.source.createSnapshot();
    const logPieces = (content.pieces ?? []).map((p) => p.name).filter((name) => name.endsWith('.log'));
    for (const name of logPieces) assert.ok(segmentFiles(follower.dir).has(name), `piece ${name} is a live segment`);
    assert.ok(!logPieces.includes('00000000000000000000.log'));
    await repositoryOf(store, follower.node).write(snapshotGroupOf(RAFT_GROUP), content);
    await follower.source.compactLog(content.index);
    assert.ok(follower.host.group(group)!.firstIndex > content.index - 1, 'the follower compacted its Raft log');
    const target = join(base, 'restored');
    const staged = await stageNewest({ raftGroup: RAFT_GROUP, snapshotGroup: snapshotGroupOf(RAFT_GROUP), dir: target, services: servicesFor(store, 9), replicas: () => [follower.node], logger: silent }, [follower.node], 0);
    assert.ok(staged !== null);
    await swapIn({ dir: staged.stagingDir }, target);
    const restored = await PartitionLog.open(target, CONFIG);
    assert.equal(restored.logStartOffset, 50, 'the restored replica has the log start');
    await restored.close();

    // The follower restarts (its Raft log replays from the compaction point): same log start, nothing appended twice.
    const restartIndex = replicas.indexOf(follower);
    await follower.close();
    const again = await startReplica({ node: follower.node, voters, network, baseDir: base, store, logConfig: CONFIG });
    replicas[restartIndex] = again;
    await waitFor('the restarted follower caught up', () => again.partition.captureState() !== null && again.partition.logEndOffset === before + 1);
    assert.equal(again.partition.logStartOffset, 50);

    // Leader change: the new leader reports the same low watermark and keeps taking writes.
    const heir = replicas.find((r) => r !== leaderOf(replicas) && r !== again) ?? again;
    leaderOf(replicas)!.host.transferLeadership(group, nodeId(heir.node));
    await waitFor('the heir leads', () => heir.host.group(group)?.role === Role.Leader);
    assert.equal(heir.partition.logStartOffset, 50);
    assert.deepEqual(await heir.partition.deleteRecordsBefore(kafkaOffset(10)), { kind: 'ok', lowWatermark: 50 });
    await propose(replicas, entryData(batchAt(Date.now(), 'after the leader change')));
    await waitFor('every replica applied the last record', () => replicas.every((r) => r.partition.logEndOffset === before + 2));
    sameEverywhere(replicas, 'at the end');
  } finally {
    for (const r of replicas) await r.close().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  }
});
