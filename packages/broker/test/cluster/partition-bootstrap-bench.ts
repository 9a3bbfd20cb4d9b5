// Benchmark (not a test): bringing back a wiped partition replica by bootstrap from a snapshot versus replaying the
// whole log from the leader (DESIGN §7, issue 6). In process: three replicas (RaftHost over a MemoryNetwork, FileWal
// with fsync, real PartitionLogs) and a local-directory object store, 1 KiB batches.
//
//   node packages/broker/dist/test/cluster/partition-bootstrap-bench.js [--entries 100000] [--in-flight 64] [--segment-mib 16]
//
// 1. replay: node 3 is down while the leader takes N entries; it restarts with an empty directory and no snapshot
//    exists: the leader sends it the whole log (append by append); time until it has applied everything.
// 2. snapshot: nodes 1 and 2 snapshot (timed: creation incl. upload + full verification, size) and compact; node 3 is
//    wiped again and restarted by bootstrap (download + restore of the newest snapshot, Raft starting at its index);
//    time until it has applied everything, and the restore alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { DEFAULT_LOG_CONFIG } from '@tributary/log';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork, nodeId, raftGroupId, Role } from '@tributary/raft';
import { LocalDirectoryObjectStore } from '@tributary/snapshot';
import { stageNewest, swapIn } from '../../src/cluster/snapshots/partition-restore.js';
import { snapshotGroupOf } from '../../src/cluster/snapshots/snapshot-service.js';
import { RAFT_GROUP, entryData, plainBatch, repositoryOf, servicesFor, silent, startReplica, waitFor, type Replica } from './partition-snapshot-support.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const entries = arg('entries', 100_000);
const inFlight = arg('in-flight', 64);
const segmentBytes = arg('segment-mib', 16) * 1048576;
const group = raftGroupId(RAFT_GROUP);
const snapshotGroup = snapshotGroupOf(RAFT_GROUP);
const payload = 'x'.repeat(1000);

async function produce(replicas: readonly Replica[], count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const leader = replicas.find((r) => r.host.group(group)?.role === Role.Leader);
      if (leader === undefined) {
        await new Promise((r) => setTimeout(r, 20));
        next--;
        continue;
      }
      const r = await leader.host.propose(group, entryData(plainBatch(`${next}-${payload}`)));
      if (!r.ok) next--;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/**
 * A wiped replica is only taken back by a leader that does not remember an older match for it (see the cluster
 * README's Raft limit): hand leadership to the other live node, whose progress for node 3 starts fresh.
 */
async function freshLeader(up: readonly Replica[]): Promise<void> {
  const leader = up.find((r) => r.host.group(group)?.role === Role.Leader)!;
  const other = up.find((r) => r !== leader)!;
  leader.host.transferLeadership(group, nodeId(other.node));
  await waitFor('the leadership transfer', () => other.host.group(group)?.role === Role.Leader, 30_000);
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'trib-boot-bench-'));
  const store = new LocalDirectoryObjectStore(join(base, 'store'));
  const network = new MemoryNetwork(7);
  const voters = [1, 2, 3];
  const start = (node: number, startAt?: { index: number; term: number }): Promise<Replica> =>
    startReplica({ node, voters, network, baseDir: base, store, walSegmentBytes: 64 << 20, logConfig: { ...DEFAULT_LOG_CONFIG, segmentBytesMax: segmentBytes }, ...(startAt ? { startAt } : {}) });
  const replicas: Replica[] = [];
  try {
    for (const node of voters) replicas.push(await start(node));
    await waitFor('a leader', () => replicas.some((r) => r.host.group(group)?.role === Role.Leader));
    // node 3 goes down first: the leader's progress for it stays at the start (see the cluster README's Raft limit)
    await replicas[2]!.close();
    const up = replicas.slice(0, 2);
    let t = Date.now();
    await produce(up, entries);
    const produceMs = Date.now() - t;
    // a proposal reported lost may still commit: wait until both live replicas agree before taking the target
    await waitFor('nodes 1 and 2 settled', () => up[0]!.partition.logEndOffset === up[1]!.partition.logEndOffset, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const target = up[0]!.partition.logEndOffset;
    console.log(`produced ${entries} entries (1 KiB) in ${produceMs} ms; log end ${target}`);

    // 1. full replay from the leader
    rmSync(join(base, 'node-3'), { recursive: true, force: true });
    t = Date.now();
    replicas[2] = await start(3);
    const r3 = replicas[2];
    const replayOpenMs = Date.now() - t;
    await freshLeader(up);
    const replayLeaderMs = Date.now() - t;
    await waitFor('node 3 replayed the log', () => r3.partition.logEndOffset >= target, 600_000);
    const replayMs = Date.now() - t;
    console.log(`replay: a wiped replica caught up by log replay in ${replayMs} ms (open ${replayOpenMs} ms, fresh leader at ${replayLeaderMs} ms)`);
    await r3.close();

    // 2. snapshot + compaction on nodes 1 and 2, then bootstrap
    const created: number[] = [];
    for (const r of up) {
      t = Date.now();
      const content = await r.source.createSnapshot();
      const written = await repositoryOf(store, r.node).write(snapshotGroup, content);
      await r.source.compactLog(content.index);
      created.push(Date.now() - t);
      console.log(`node ${r.node}: snapshot at ${content.index} created+uploaded+verified+compacted in ${created.at(-1)} ms, ${(written.bytesUploaded / 1048576).toFixed(1)} MiB uploaded (${written.piecesUploaded} pieces)`);
    }
    rmSync(join(base, 'node-3'), { recursive: true, force: true });
    t = Date.now();
    const dir = join(base, 'node-3', 'partition');
    const staged = await stageNewest({ raftGroup: RAFT_GROUP, snapshotGroup, dir, services: servicesFor(store, 3), replicas: () => voters, logger: silent }, [1, 2], 0);
    if (staged === null) throw new Error('no snapshot to bootstrap from');
    await swapIn({ dir: staged.stagingDir }, dir);
    const restoreMs = Date.now() - t;
    replicas[2] = await start(3, { index: staged.raftIndex, term: staged.raftTerm });
    const b3 = replicas[2];
    const bootOpenMs = Date.now() - t;
    await freshLeader(up);
    const bootLeaderMs = Date.now() - t;
    await waitFor('node 3 bootstrapped and caught up', () => b3.partition.logEndOffset >= target, 600_000);
    const bootstrapMs = Date.now() - t;
    console.log(`bootstrap: restore ${restoreMs} ms, log open at ${bootOpenMs} ms, fresh leader at ${bootLeaderMs} ms, caught up in ${bootstrapMs} ms total`);
    console.log(JSON.stringify({ entries, produceMs, replayMs, replayOpenMs, replayLeaderMs, snapshotCreateMs: created, restoreMs, bootOpenMs, bootLeaderMs, bootstrapMs, speedup: Number((replayMs / bootstrapMs).toFixed(1)) }));
  } finally {
    for (const r of replicas) await r.close().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
// the shared log flush scheduler and the store keep handles open; the measurement is done
process.exit(0);
