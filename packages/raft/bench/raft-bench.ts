// Raft replication benchmark: 3 node processes on loopback (TCP transport, file WAL with fsync),
// 1 KiB proposals, at 1, 100 and 1,000 groups per node, each against local baselines of the same shape (same
// groups per process, same proposals in flight, single-voter groups: the same code with nothing to replicate);
// then idle cost at 1,000 and 10,000 groups.
// Usage: npm run bench -w @tributary/raft [-- --seconds 5 --groups 1,100,1000 --idle 1000,10000 --inflight N
//        --no-local --no-fsync --compact-entries 256 --cpu-prof-dir DIR --heap-prof-dir DIR --sweep]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeProcess, sendPeers } from '../test/support/node-process.js';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}
const seconds = Number(opt('seconds', '5'));
const groupSizes = opt('groups', '1,100,1000').split(',').filter(Boolean).map(Number);
const idleSizes = opt('idle', '1000,10000').split(',').filter(Boolean).map(Number);
const payloadBytes = 1024;
const nodeArgs = process.argv.includes('--no-fsync') ? ['--no-fsync'] : [];
if (process.argv.includes('--compact-entries')) nodeArgs.push('--compact-entries', opt('compact-entries', '256'));
if (process.argv.includes('--cpu-prof-dir')) nodeArgs.push('--cpu-prof-dir', opt('cpu-prof-dir', '.')); // per-node CPU profile of the bench window
if (process.argv.includes('--heap-prof-dir')) nodeArgs.push('--heap-prof-dir', opt('heap-prof-dir', '.')); // per-node allocation sampling of the window

async function cluster(groups: number, tickMs: number, extra: string[] = []): Promise<{ nodes: NodeProcess[]; root: string }> {
  const root = mkdtempSync(join(tmpdir(), 'raft-bench-'));
  const nodes = [1, 2, 3].map((id) => new NodeProcess(id, join(root, `n${id}`), ['--groups', String(groups), '--tick-ms', String(tickMs), ...nodeArgs, ...extra]));
  await Promise.all(nodes.map((n) => n.start()));
  sendPeers(nodes);
  return { nodes, root };
}
async function stop(c: { nodes: NodeProcess[]; root: string }): Promise<void> {
  for (const n of c.nodes) n.kill9();
  await Promise.all(c.nodes.map((n) => n.exited));
  rmSync(c.root, { recursive: true, force: true });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Proposals in flight per led group: --inflight, else a light closed loop (latency, not capacity: see --sweep). */
function defaultInflight(groups: number): number {
  return Number(opt('inflight', '0')) || (groups === 1 ? 64 : groups <= 100 ? 4 : 1);
}

interface BenchLine { node: number; groupsLed: number; committed: number; gc?: { minorMs: number; minor: number; majorMs: number; major: number }; messagesSent?: number; p50Ms: number; p99Ms: number; cpuUserMs: number; cpuSystemMs: number; rounds: number; syncs: number; rssMb: number; stuck?: string | null; walSyncMs?: number; walSyncs?: number; imagesSynced?: number; imageSyncMs?: number; compactionImages?: number }
/** What the nodes of one run did together in the window. */
function totals(rs: readonly BenchLine[]): { committed: number; cpuMs: number; rounds: number } {
  return {
    committed: rs.reduce((a, r) => a + r.committed, 0),
    cpuMs: rs.reduce((a, r) => a + r.cpuUserMs + r.cpuSystemMs, 0),
    rounds: rs.reduce((a, r) => a + r.rounds, 0),
  };
}
/** Per node: full collections and their total ms in the window, then scavenges. */
function gcDetail(rs: readonly BenchLine[]): string {
  return rs.map((r) => (r.gc === undefined ? '?' : `${r.gc.major} major ${r.gc.majorMs.toFixed(0)}ms, ${r.gc.minor} minor ${r.gc.minorMs.toFixed(0)}ms`)).join(' / ');
}
/** Mean WAL sync time per node (ms) and the share of it spent fsyncing snapshot images. */
function syncDetail(rs: readonly BenchLine[]): string {
  return rs.map((r) => `${((r.walSyncMs ?? 0) / Math.max(1, r.walSyncs ?? 0)).toFixed(2)}ms${(r.imagesSynced ?? 0) > 0 ? `(img ${r.imagesSynced} ${(r.imageSyncMs ?? 0).toFixed(0)}ms)` : ''}`).join('/');
}

async function throughput(groups: number, inflightPerGroup?: number): Promise<number> {
  const c = await cluster(groups, 50);
  try {
    await sleep(2500 + groups * 2); // elections settle
    const inflight = inflightPerGroup ?? defaultInflight(groups);
    const from = c.nodes.map((n) => n.lines.length);
    for (const n of c.nodes) n.send(`bench ${seconds} ${inflight} ${payloadBytes}`);
    const results: BenchLine[] = [];
    for (const [i, n] of c.nodes.entries()) results.push(JSON.parse((await n.waitFor(/^bench (.*)$/, (seconds + 45) * 1000, from[i]))[1]!) as BenchLine);
    for (const r of results) if (r.stuck) console.log(`node ${r.node}: UNRESOLVED PROPOSALS after the window: ${r.stuck}`);
    const { committed, cpuMs, rounds } = totals(results);
    const syncs = results.reduce((a, r) => a + r.syncs, 0);
    const led = results.map((r) => r.groupsLed).join('/');
    const p50 = Math.max(...results.filter((r) => r.committed > 0).map((r) => r.p50Ms));
    const p99 = Math.max(...results.filter((r) => r.committed > 0).map((r) => r.p99Ms));
    console.log(`groups/node ${String(groups).padStart(5)} | inflight/group ${String(inflight).padStart(2)} | leaders ${led} | ${(committed / seconds).toFixed(0).padStart(7)} commits/s | ${((committed * payloadBytes) / seconds / 1e6).toFixed(2).padStart(6)} MB/s | p50 ${p50.toFixed(2)} ms | p99 ${p99.toFixed(2)} ms | CPU ${(cpuMs / Math.max(1, committed) * 1000).toFixed(0)} us/commit (3 nodes) | ${(cpuMs / Math.max(1, rounds) * 1000).toFixed(0)} us/round | ${syncs} fsyncs | ${(results.reduce((a, r) => a + (r.messagesSent ?? 0), 0) / Math.max(1, committed)).toFixed(2)} msgs/commit | sync ${syncDetail(results)} | ${results.reduce((a, r) => a + (r.compactionImages ?? 0), 0)} compaction images | rss ${results.map((r) => r.rssMb.toFixed(0)).join('/')} MB | CPU/commit per node ${results.map((r) => ((r.cpuUserMs + r.cpuSystemMs) / Math.max(1, committed) * 1000).toFixed(1)).join('/')} us (of it system ${results.map((r) => (r.cpuSystemMs / Math.max(1, committed) * 1000).toFixed(1)).join('/')}) | GC ${gcDetail(results)}`);
    return committed / seconds;
  } finally { await stop(c); }
}

async function idle(groups: number): Promise<void> {
  const c = await cluster(groups, 100);
  try {
    type Stats = { leaders: number; quiesced: number; cpuPct: number; rssMb: number; heapMb: number };
    const sample = async (secs: number): Promise<Stats[]> => {
      const from = c.nodes.map((n) => n.lines.length);
      for (const n of c.nodes) n.send(`stats ${secs}`);
      const out: Stats[] = [];
      for (const [i, n] of c.nodes.entries()) out.push(JSON.parse((await n.waitFor(/^stats (.*)$/, 120_000, from[i]))[1]!) as Stats);
      return out;
    };
    // wait (bounded) until every group has a leader and has gone idle
    const settleBy = Date.now() + 90_000;
    let settled = false;
    while (!settled && Date.now() < settleBy) {
      const s = await sample(1);
      settled = s.reduce((a, x) => a + x.leaders, 0) === groups && s.every((x) => x.quiesced === groups);
    }
    const stats = await sample(5);
    console.log(`idle groups/node ${String(groups).padStart(6)} | ${settled ? 'all quiesced' : 'NOT all quiesced'} | leaders ${stats.map((s) => s.leaders).join('/')} | CPU ${stats.map((s) => s.cpuPct.toFixed(1)).join('/')} % of one core | rss ${stats.map((s) => s.rssMb.toFixed(0)).join('/')} MB | heap ${stats.map((s) => s.heapMb.toFixed(0)).join('/')} MB`);
  } finally { await stop(c); }
}

/**
 * Local append baselines: the same node process, WAL, fsync and load on single-voter groups (no replication).
 * `processes` = 1: one process alone on the box; 3: three such processes at once, each with its own WAL, sharing
 * the cores and the disk the way the three replicas of the replicated runs do (the same work per process).
 */
async function local(processes: number, groups: number, inflightPerGroup?: number): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'raft-bench-'));
  const inflight = inflightPerGroup ?? defaultInflight(groups);
  const nodes = Array.from({ length: processes }, (_, i) => new NodeProcess(1, join(root, `n${i}`), ['--groups', String(groups), '--voters', '1', '--tick-ms', '50', ...nodeArgs]));
  try {
    await Promise.all(nodes.map((n) => n.start()));
    for (const n of nodes) n.send('peers {}');
    await sleep(1500 + groups);
    const from = nodes.map((n) => n.lines.length);
    for (const n of nodes) n.send(`bench ${seconds} ${inflight} ${payloadBytes}`);
    const rs: BenchLine[] = [];
    for (const [i, n] of nodes.entries()) rs.push(JSON.parse((await n.waitFor(/^bench (.*)$/, (seconds + 30) * 1000, from[i]))[1]!) as BenchLine);
    const { committed, cpuMs, rounds } = totals(rs);
    console.log(`local ${processes}x ${groups} 1-voter groups | inflight/group ${inflight} | ${(committed / seconds).toFixed(0).padStart(7)} commits/s | ${((committed * payloadBytes) / seconds / 1e6).toFixed(2).padStart(6)} MB/s | p50 ${Math.max(...rs.map((r) => r.p50Ms)).toFixed(2)} ms | p99 ${Math.max(...rs.map((r) => r.p99Ms)).toFixed(2)} ms | CPU ${(cpuMs / Math.max(1, committed) * 1000).toFixed(0)} us/commit | ${(cpuMs / Math.max(1, rounds) * 1000).toFixed(0)} us/round | ${rs.reduce((a, r) => a + r.syncs, 0)} fsyncs | system CPU ${(rs.reduce((a, r) => a + r.cpuSystemMs, 0) / Math.max(1, committed) * 1000).toFixed(1)} us/commit | sync ${syncDetail(rs)} | ${rs.reduce((a, r) => a + (r.compactionImages ?? 0), 0)} compaction images | GC ${gcDetail(rs)}`);
    return committed / seconds;
  } finally {
    for (const n of nodes) n.kill9();
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `--sweep`: throughput is the most a system commits, not what a light closed loop gets (a loop of N proposals in
 * flight measures N ÷ latency). For each shape, local 1× and replicated run at rising numbers of proposals in flight
 * per group, and each one's peak is reported: the two capacities compared at their own best load.
 */
const SWEEP_INFLIGHT: Record<number, number[]> = { 1: [64, 256, 1024, 4096], 100: [4, 16, 64], 1000: [1, 4, 16] };
async function sweep(): Promise<void> {
  const peaks: string[] = [];
  for (const g of groupSizes) {
    const levels = SWEEP_INFLIGHT[g] ?? [defaultInflight(g), defaultInflight(g) * 4, defaultInflight(g) * 16];
    let local1 = { rate: 0, inflight: 0 };
    let replicated = { rate: 0, inflight: 0 };
    for (const inflight of levels) {
      const l = await local(1, g, inflight);
      if (l > local1.rate) local1 = { rate: l, inflight };
      const r = await throughput(g, inflight);
      if (r > replicated.rate) replicated = { rate: r, inflight };
    }
    peaks.push(`peak groups/node ${String(g).padStart(5)} | local 1x ${local1.rate.toFixed(0)} commits/s (${local1.inflight} in flight per group) | replicated ${replicated.rate.toFixed(0)} commits/s (${replicated.inflight} in flight) | replicated = ${((replicated.rate / local1.rate) * 100).toFixed(0)} % of local 1x`);
  }
  for (const line of peaks) console.log(line);
}

/**
 * Each shape: local 1× (one process alone: what one node appends without replication), local 3× (three such processes
 * at once, sharing the 2 cores and the disk as the three replicas do), then replicated; and the two ratios. Neither
 * baseline is the whole truth on one machine: a replicated commit is written and fsynced by three processes (local 3×
 * ÷ 3 does the same work per process), while local 1× has the box to itself (docs/BENCHMARKS.md discusses both).
 */
if (process.argv.includes('--sweep')) await sweep();
else {
  for (const g of groupSizes) {
    if (process.argv.includes('--no-local')) { await throughput(g); continue; }
    const local1 = await local(1, g);
    const local3 = await local(3, g);
    const replicated = await throughput(g);
    console.log(`ratio groups/node ${String(g).padStart(5)} | replicated = ${((replicated / local1) * 100).toFixed(0)} % of local 1x | ${((replicated / (local3 / 3)) * 100).toFixed(0)} % of local 3x / 3 (per process)`);
  }
}
for (const g of idleSizes) await idle(g);
