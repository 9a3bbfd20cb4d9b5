#!/usr/bin/env node
// A standalone Raft node process (used by the multi-process test and the benchmark).
// Usage: node raft-node.js --id N --dir DIR --groups G [--voters 1,2,3] [--tick-ms 20] [--events] [--no-fsync] [--compact-entries 256] [--cpu-prof-dir DIR] [--heap-prof-dir DIR]
// Control over stdin/stdout, one line per command/event (control plane only; Raft traffic is the TCP transport):
//   stdout: listening <port> | leader <group> <leaderId> <term> <role> | applied <group> <index> <text> | restored <group> <index>
//           committed <req> <index> | failed <req> <reason> <leaderId> | bench <json>
//   stdin:  peers <json {id: port}> | propose <req> <group> <text> | bench <seconds> <inflightPerGroup> <payloadBytes>
import { createInterface } from 'node:readline';
import { performance, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { RaftHost, type GroupStateMachine } from '../host/raft-host.js';
import { FileWal } from '../storage/file-wal.js';
import { bootstrapState } from '../storage/storage.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { EntryType, Role, type NodeId, type RaftGroupId, type Snapshot } from '../core/types.js';

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]!;
  if (dflt === undefined) { console.error(`missing --${name}`); process.exit(2); }
  return dflt;
}

const id = Number(arg('id')) as NodeId;
const dir = arg('dir');
const groupCount = Number(arg('groups', '1'));
const tickMs = Number(arg('tick-ms', '20'));
const events = process.argv.includes('--events');
const fsync = !process.argv.includes('--no-fsync');
// Compact a group's log once this many entries were applied since its last compaction. Each compaction writes and
// fsyncs an image file: at 256 entries the 100-group benchmark made ~150 of them per second per node, competing with
// the WAL for the shared disk (the single-group local baselines make at most 2, one check per 500 ms).
const compactEntries = Number(arg('compact-entries', '256'));
const out = (line: string) => process.stdout.write(`${line}\n`);

const wal = await FileWal.open(dir, { fsync });
const transport = new TcpTransport({ nodeId: id, peers: new Map() });
const port = await transport.listen();
const host = new RaftHost({ nodeId: id, transport, syncAll: () => wal.sync(), tickMs, electionTicks: 10, heartbeatTicks: 2, onError: (e) => out(`error ${e.message}`) });
const voters = arg('voters', '1,2,3').split(',').map(Number) as NodeId[];
const leaderOf = new Map<number, NodeId>();
const appliedIndex = new Map<number, number>();
const lastCompacted = new Map<number, number>();

for (let g = 1; g <= groupCount; g++) {
  const gid = g as RaftGroupId;
  const sm: GroupStateMachine = {
    apply(entries) {
      for (const e of entries) {
        appliedIndex.set(g, e.index);
        if (events && e.type === EntryType.Normal && e.data.length > 0) out(`applied ${g} ${e.index} ${Buffer.from(e.data).toString()}`);
      }
    },
    restore(s: Snapshot) { appliedIndex.set(g, s.meta.index); if (events) out(`restored ${g} ${s.meta.index}`); },
    snapshotData: (meta) => Buffer.from(String(meta.index)),
    onLeaderChange(leaderId, t, role) {
      leaderOf.set(g, leaderId);
      if (events) out(`leader ${g} ${leaderId} ${t} ${role}`);
    },
  };
  host.addGroup(gid, wal.storage(gid, bootstrapState(voters)), sm);
}
// keep memory bounded: compact each group's log behind what it has applied
setInterval(() => {
  for (const [g, idx] of appliedIndex) {
    if (idx - (lastCompacted.get(g) ?? 0) >= compactEntries) {
      const raft = host.group(g as RaftGroupId)!;
      const upTo = Math.min(idx, raft.appliedIndex);
      host.compact(g as RaftGroupId, upTo, Buffer.from(String(upTo)));
      lastCompacted.set(g, upTo);
    }
  }
}, 500).unref();
out(`listening ${port}`);

/**
 * A measurement window, from start to report(): CPU, garbage collection, host and WAL counters, and a CPU profile
 * (--cpu-prof-dir) and allocation sampling (--heap-prof-dir) when asked for.
 */
async function openWindow(): Promise<{ report: (fields: Record<string, unknown>, latencies: number[]) => Promise<void> }> {
  const profDir = process.argv.includes('--cpu-prof-dir') ? arg('cpu-prof-dir') : null;
  const heapProfDir = process.argv.includes('--heap-prof-dir') ? arg('heap-prof-dir') : null;
  const session = profDir === null && heapProfDir === null ? null : new Session();
  if (session !== null) session.connect();
  if (session !== null && profDir !== null) { await session.post('Profiler.enable'); await session.post('Profiler.start'); }
  // allocation sampling (every ~32 KiB allocated): where the garbage the collector spends its time on comes from
  if (session !== null && heapProfDir !== null) await session.post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const cpu0 = process.cpuUsage();
  // garbage collection in the window: full (mark-compact) collections are the costly ones, triggered also by
  // external (Buffer) memory churn
  const gc = { minorMs: 0, minor: 0, majorMs: 0, major: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) { gc.minor++; gc.minorMs += e.duration; } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) { gc.major++; gc.majorMs += e.duration; }
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const hostStats0 = { ...host.stats };
  const walStats0 = { ...wal.stats };
  return {
    async report(fields, latencies) {
      const cpu = process.cpuUsage(cpu0);
      gcObserver.disconnect();
      if (session !== null && profDir !== null) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(`${profDir}/node-${id}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
      }
      if (session !== null && heapProfDir !== null) {
        const { profile } = await session.post('HeapProfiler.stopSampling');
        writeFileSync(`${heapProfDir}/node-${id}-${Date.now()}.heapprofile`, JSON.stringify(profile));
      }
      session?.disconnect();
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!);
      out(`bench ${JSON.stringify({
        node: id, ...fields, p50Ms: pct(0.5), p99Ms: pct(0.99), gc,
        cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, rounds: host.stats.rounds - hostStats0.rounds, messagesSent: host.stats.messagesSent - hostStats0.messagesSent,
        syncs: host.stats.syncs - hostStats0.syncs, walSyncMs: wal.stats.syncMs - walStats0.syncMs,
        walSyncs: wal.stats.syncs - walStats0.syncs, imagesSynced: wal.stats.imagesSynced - walStats0.imagesSynced,
        imageSyncMs: wal.stats.imageSyncMs - walStats0.imageSyncMs, compactionImages: wal.stats.compactionImages - walStats0.compactionImages, rssMb: process.memoryUsage().rss / 1048576,
      })}`);
    },
  };
}

function ledGroups(): number[] {
  const led: number[] = [];
  for (let g = 1; g <= groupCount; g++) if (host.group(g as RaftGroupId)!.role === Role.Leader) led.push(g);
  return led;
}

/** Closed loop: `inflight` proposers per led group, each proposing again as soon as its last proposal committed. */
async function bench(seconds: number, inflight: number, payloadBytes: number): Promise<void> {
  const payload = Buffer.alloc(payloadBytes, 0x61);
  const latencies: number[] = [];
  let committed = 0;
  const window = await openWindow();
  const deadline = performance.now() + seconds * 1000;
  const led = ledGroups();
  // proposals still unresolved per group (reported instead of hanging if some never resolve)
  const waiting = new Map<number, Set<{ sinceMs: number }>>();
  const loop = async (g: number) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const p = host.propose(g as RaftGroupId, payload);
      const mine = { sinceMs: t0 };
      let list = waiting.get(g);
      if (list === undefined) { list = new Set(); waiting.set(g, list); }
      list.add(mine); // a Set: O(1) per proposal (a list with indexOf/splice was quadratic at 512 in flight)
      const r = await p;
      list.delete(mine);
      if (!r.ok) { await new Promise((res) => setTimeout(res, 5)); continue; }
      latencies.push(performance.now() - t0);
      committed++;
    }
  };
  const loops = Promise.all(led.flatMap((g) => Array.from({ length: inflight }, () => loop(g))));
  // a proposal should never stay unresolved: after a 20 s grace, report the stuck groups' state instead of hanging
  let graceTimer: NodeJS.Timeout | undefined;
  const stuck = await Promise.race([
    loops.then(() => null),
    new Promise<string>((res) => { graceTimer = setTimeout(() => {
      const groups = [...waiting].filter(([, l]) => l.size > 0).map(([g, l]) => {
        const raft = host.group(g as RaftGroupId)!;
        return `g${g} pending=${l.size} oldest=${(performance.now() - Math.min(...[...l].map((x) => x.sinceMs))).toFixed(0)}ms role=${raft.role} term=${raft.term} leader=${raft.leaderId} last=${raft.lastIndex} commit=${raft.commitIndex} applied=${raft.appliedIndex}`;
      });
      res(groups.join('; '));
    }, Math.max(0, deadline - performance.now()) + 20_000); }),
  ]);
  clearTimeout(graceTimer);
  if (stuck !== null) out(`error unresolved proposals after the bench window: ${stuck}`);
  // a node that leads nothing (a follower at 1 group) still measures (and profiles) the whole window: its CPU is part
  // of every commit (it used to report at once, so "CPU per commit, 3 nodes" at 1 group counted the leader only)
  await new Promise((res) => setTimeout(res, Math.max(0, deadline - performance.now())));
  await window.report({ groupsLed: led.length, committed, seconds, stuck }, latencies);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, ...rest] = line.trim().split(' ');
  if (cmd === 'peers') {
    const ports = JSON.parse(rest.join(' ')) as Record<string, number>;
    for (const [peer, p] of Object.entries(ports)) if (Number(peer) !== id) transport.setPeer(Number(peer) as NodeId, { host: '127.0.0.1', port: p });
    host.start();
  } else if (cmd === 'propose') {
    const [req, g, ...text] = rest;
    void host.propose(Number(g) as RaftGroupId, Buffer.from(text.join(' '))).then((r) => {
      out(r.ok ? `committed ${req} ${r.index}` : `failed ${req} ${r.reason} ${r.leaderId}`);
    });
  } else if (cmd === 'bench') {
    void bench(Number(rest[0]), Number(rest[1]), Number(rest[2]));
  } else if (cmd === 'stats') {
    const seconds = Number(rest[0]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let leaders = 0;
    for (let g = 1; g <= groupCount; g++) if (host.group(g as RaftGroupId)!.role === Role.Leader) leaders++;
    setTimeout(() => {
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - t0;
      out(`stats ${JSON.stringify({ node: id, groups: groupCount, leaders, quiesced: host.quiescedCount, cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100, rssMb: process.memoryUsage().rss / 1048576, heapMb: process.memoryUsage().heapUsed / 1048576 })}`);
    }, seconds * 1000);
  } else if (cmd === 'exit') {
    void host.close().then(() => wal.close()).then(() => process.exit(0));
  }
});
