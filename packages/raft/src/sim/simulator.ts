// Deterministic cluster simulator: seeded PRNG, simulated clock, lossy/duplicating/reordering network with
// partitions, storage whose unsynced writes vanish on crash, random membership changes, compaction,
// leadership transfers and reads. Each seed runs its nodes either like RaftHost (asynchronous storage writes:
// the next Ready is taken while earlier writes are in flight, several syncs outstanding, acks held until their
// sync completes, crashes lose every write not yet synced) or in the synchronous style (one Ready at a time). A safety phase with faults is followed by a liveness phase that heals
// everything and requires a fresh proposal to commit on every voter.
import { applyConfChange, type ConfChange } from '../core/conf.js';
import { RaftNode } from '../core/raft.js';
import { EntryType, Role, isLeaderReplication, readyMustSync, type HardState, type Message, type NodeId, type RaftIndex, type Ready, type Snapshot, type SnapshotMeta } from '../core/types.js';
import { MemoryStorage, bootstrapState } from '../storage/storage.js';
import { Checker, entryKey, mixHash } from './checker.js';
import { EventQueue, Prng } from './prng.js';

export interface SimOptions {
  readonly seed: number;
  /** Make the leader commit previous-term entries by counting replicas (the checkers must catch it). */
  readonly broken?: boolean;
  /** Trace every event to this sink (replaying one seed). */
  readonly trace?: (line: string) => void;
}

export interface SimResult {
  readonly seed: number;
  readonly clusterSize: number;
  readonly faults: number;
  readonly committed: number;
  readonly violations: readonly string[];
  readonly simulatedMs: number;
}

const TICK_MS = 10;
const ELECTION_TICKS = 10;

interface SimNode {
  id: NodeId;
  raft: RaftNode | null;
  storage: MemoryStorage;
  up: boolean;
  syncing: Ready | null;
  /** asynchronous storage writes: sync generations staged / durable, Readies and messages waiting for them */
  stagedGen: number;
  durableGen: number;
  lastSyncAt: number;
  awaiting: { gen: number; rd: Ready; deferred: boolean }[];
  held: { gen: number; m: Message }[];
  /** a snapshot Ready is applied only once durable; no Ready is taken meanwhile */
  blocked: boolean;
  /** the hard state last handed to storage */
  hardState: HardState;
  incarnation: number;
  smIndex: number;
  smHash: number;
  snapshot: Snapshot | null;
  checkedCommit: number;
  proposed: Map<number, string>;
}

export function runSimulation(opts: SimOptions): SimResult {
  const rng = new Prng(opts.seed);
  const trace = opts.trace;
  const checker = new Checker();
  const queue = new EventQueue();
  let now = 0;
  let faults = 0;

  // ---- randomised scenario
  const clusterSize = rng.int(1, 7);
  const poolSize = Math.min(7, clusterSize + rng.int(0, 2));
  const dropRate = rng.pick([0, 0.01, 0.05, 0.1, 0.25]);
  const dupRate = rng.pick([0, 0.02, 0.1]);
  const maxDelayMs = rng.pick([2, 10, 30, 80]);
  const crashRate = rng.pick([0, 0.001, 0.003, 0.01, 0.03]);
  const maxMsgBytes = rng.pick([40, 100, 1024]);
  const maxInflight = rng.pick([2, 8, 64]);
  const partitionRate = rng.pick([0, 0.002, 0.005, 0.02]);
  /** targeted faults: crash or isolate whoever leads right now */
  // the broken variant (proving the checkers) always gets leader crashes and isolations: Figure 8 needs them
  const leaderCrashRate = Math.max(rng.pick([0, 0, 0.001, 0.005, 0.02]), opts.broken === true ? 0.005 : 0);
  const leaderIsolateRate = Math.max(rng.pick([0, 0, 0.001, 0.005, 0.02]), opts.broken === true ? 0.005 : 0);
  const proposeRate = rng.pick([0.05, 0.1, 0.3]);
  const confChangeRate = poolSize > 1 ? rng.pick([0, 0.003, 0.01]) : 0;
  const compactRate = rng.pick([0, 0.01, 0.05]);
  const transferRate = rng.pick([0, 0.003]);
  const readRate = rng.pick([0, 0.02]);
  /** three seeds in four exercise the asynchronous path RaftHost uses; the rest the synchronous contract */
  const asyncWrites = rng.chance(0.75);
  /** RaftHost's other two options, each on in half the seeds */
  const deferCommitOnlyAppends = rng.chance(0.5);
  const skipRedundantHeartbeats = rng.chance(0.5);
  const safetyMs = rng.int(1500, 3000);
  const livenessMs = 4000;
  const log = (s: string) => { if (trace) trace(`${String(now).padStart(6)} ${s}`); };
  log(`seed=${opts.seed} cluster=${clusterSize} pool=${poolSize} drop=${dropRate} dup=${dupRate} delay<=${maxDelayMs} crash=${crashRate} partition=${partitionRate} writes=${asyncWrites ? 'async' : 'sync'} deferCommit=${deferCommitOnlyAppends} skipHeartbeats=${skipRedundantHeartbeats}`);

  const allIds: NodeId[] = [];
  for (let i = 1; i <= poolSize; i++) allIds.push(i as NodeId);
  const initialVoters = allIds.slice(0, clusterSize);
  const nodes = new Map<NodeId, SimNode>();
  /** group label per node; messages cross only within the same label */
  const side = new Map<NodeId, number>();
  let faultsOn = true;
  let readCtx = 0;
  const pendingReads = new Map<number, number>(); // ctx -> globally committed index when asked

  for (const id of allIds) {
    const init = bootstrapState(initialVoters.includes(id) ? initialVoters : []);
    nodes.set(id, {
      id, raft: null, storage: new MemoryStorage(init), up: false, syncing: null, hardState: init.hardState, incarnation: 0,
      stagedGen: 0, durableGen: 0, lastSyncAt: 0, awaiting: [], held: [], blocked: false,
      smIndex: 0, smHash: 0, snapshot: null, checkedCommit: 0, proposed: new Map(),
    });
    side.set(id, 0);
  }

  const start = (n: SimNode) => {
    n.up = true;
    n.incarnation++;
    n.syncing = null;
    n.stagedGen = 0; n.durableGen = 0; n.awaiting = []; n.held = []; n.blocked = false;
    const init = n.storage.load();
    n.hardState = init.hardState;
    const snap = n.storage.loadSnapshot();
    n.snapshot = snap;
    if (snap !== null) restoreSm(n, snap.data);
    else { n.smIndex = 0; n.smHash = 0; }
    n.raft = new RaftNode({
      id: n.id, electionTicks: ELECTION_TICKS, heartbeatTicks: 1, random: () => rng.next(),
      snapshotData: (meta: SnapshotMeta) => (n.snapshot !== null && n.snapshot.meta.index === meta.index ? n.snapshot.data : null),
      unsafeCommitPreviousTerm: opts.broken === true, maxInflight, maxMsgBytes, asyncStorageWrites: asyncWrites,
      deferCommitOnlyAppends, skipRedundantHeartbeats,
    }, init);
    // durable committed prefix must still be what was committed
    n.checkedCommit = n.raft.log.snapshotIndex;
    checkCommitted(n);
    const incarnation = n.incarnation;
    const tickLoop = () => {
      if (!n.up || n.incarnation !== incarnation) return;
      n.raft!.tick();
      processNode(n);
      queue.push(now + TICK_MS, tickLoop);
    };
    queue.push(now + rng.int(1, TICK_MS), tickLoop);
    processNode(n);
  };

  function restoreSm(n: SimNode, data: Uint8Array): void {
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    n.smIndex = Number(b.readBigUInt64BE(0));
    n.smHash = b.readUInt32BE(8);
    checker.applied(n.id, n.smIndex as RaftIndex, n.smHash);
  }
  function smImage(n: SimNode): Uint8Array {
    const b = Buffer.alloc(12);
    b.writeBigUInt64BE(BigInt(n.smIndex), 0);
    b.writeUInt32BE(n.smHash, 8);
    return b;
  }

  function checkCommitted(n: SimNode): void {
    const raft = n.raft!;
    const commit = raft.commitIndex;
    for (let i = Math.max(n.checkedCommit + 1, raft.log.snapshotIndex + 1); i <= commit; i++) {
      const e = raft.log.entry(i);
      if (e === undefined) { checker.fail(`node ${n.id} commit ${commit} but no entry ${i}`); break; }
      checker.entryCommitted(n.id, e);
    }
    n.checkedCommit = Math.max(n.checkedCommit, commit);
  }

  function processNode(n: SimNode): void {
    if (asyncWrites) processNodeAsync(n);
    else processNodeSync(n);
  }

  function takeReady(n: SimNode): Ready {
    const raft = n.raft!;
    const rd = raft.ready();
    if (rd.softState !== null && rd.softState.role === Role.Leader) {
      log(`node ${n.id} leader term ${raft.term} last ${raft.lastIndex}`);
      checker.leaderElected(n.id, raft.term, raft.log);
    }
    return rd;
  }

  /**
   * Like RaftHost: stage, send leader replication, hold the rest until the sync covering it, apply, advance, next.
   * RaftHost starts the sync right after staging, before sending; here the sync's write mark is taken after the same
   * staging and its completion is a later event, so starting it at the end of the same instant is equivalent.
   */
  function processNodeAsync(n: SimNode): void {
    if (!n.up || n.blocked) return;
    const raft = n.raft!;
    while (raft.hasReady() && !n.blocked) {
      const rd = takeReady(n);
      const mustSync = readyMustSync(rd, n.hardState);
      if (rd.hardState !== null) { n.storage.setHardState(rd.hardState); n.hardState = rd.hardState; }
      if (rd.snapshot !== null) n.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) n.storage.append(rd.entries);
      if (mustSync) n.stagedGen++;
      const gen = n.stagedGen;
      for (const m of rd.messages) {
        if (gen === n.durableGen || isLeaderReplication(m.type)) send(m);
        else n.held.push({ gen, m });
      }
      if (rd.snapshot !== null) {
        n.awaiting.push({ gen, rd, deferred: true });
        n.blocked = true;
      } else {
        applyReady(n, rd);
        raft.advance(rd);
        if (rd.entries.length > 0) n.awaiting.push({ gen, rd, deferred: false });
        checkCommitted(n);
      }
      if (mustSync) scheduleSync(n, gen);
    }
  }

  /** An fsync of everything staged so far, completing 0-3 ms later but never before an earlier one (syncs are ordered). */
  function scheduleSync(n: SimNode, gen: number): void {
    const mark = n.storage.writeMark();
    const incarnation = n.incarnation;
    n.lastSyncAt = Math.max(n.lastSyncAt, now) + rng.int(0, 3);
    queue.push(n.lastSyncAt, () => {
      if (!n.up || n.incarnation !== incarnation) return;
      n.storage.syncTo(mark);
      n.durableGen = gen;
      const raft = n.raft!;
      while (n.awaiting.length > 0 && n.awaiting[0]!.gen <= gen) {
        const { rd, deferred } = n.awaiting.shift()!;
        raft.persisted(rd);
        if (deferred) {
          applyReady(n, rd);
          raft.advance(rd);
          n.blocked = false;
          checkCommitted(n);
        }
      }
      while (n.held.length > 0 && n.held[0]!.gen <= gen) send(n.held.shift()!.m);
      processNode(n);
    });
  }

  function applyReady(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== null) {
      restoreSm(n, rd.snapshot.data);
      n.snapshot = rd.snapshot;
      if (n.smIndex !== rd.snapshot.meta.index) checker.fail(`snapshot image index ${n.smIndex} != meta index ${rd.snapshot.meta.index}`);
    }
    for (const e of rd.committedEntries) {
      if (e.index <= n.smIndex) continue;
      if (e.index !== n.smIndex + 1) { checker.fail(`node ${n.id} applies ${e.index} after ${n.smIndex}`); break; }
      n.smHash = mixHash(n.smHash, e);
      n.smIndex = e.index;
      checker.applied(n.id, e.index, n.smHash);
      const key = n.proposed.get(e.index);
      if (key !== undefined) {
        n.proposed.delete(e.index);
        if (key === entryKey(e)) checker.acknowledge(e.index, key);
      }
    }
    for (const rs of rd.readStates) {
      const askedAt = pendingReads.get(rs.context);
      if (askedAt !== undefined && rs.index < askedAt) checker.fail(`read ${rs.context} served at ${rs.index} but ${askedAt} was committed when asked`);
      pendingReads.delete(rs.context);
    }
  }

  function processNodeSync(n: SimNode): void {
    if (!n.up || n.syncing !== null) return;
    const raft = n.raft!;
    if (!raft.hasReady()) return;
    const rd = takeReady(n);
    // like RaftHost: a Ready that only moves the commit index is staged without a sync (a crash may lose it)
    const mustSync = readyMustSync(rd, n.hardState);
    if (rd.hardState !== null) { n.storage.setHardState(rd.hardState); n.hardState = rd.hardState; }
    if (rd.snapshot !== null) n.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    n.syncing = rd;
    const incarnation = n.incarnation;
    queue.push(now + rng.int(0, 2), () => {
      if (!n.up || n.incarnation !== incarnation) return;
      if (mustSync) n.storage.sync();
      for (const m of rd.messages) send(m);
      applyReady(n, rd);
      raft.advance(rd);
      n.syncing = null;
      checkCommitted(n);
      processNode(n);
    });
  }

  function send(m: Message): void {
    if (faultsOn) {
      if (side.get(m.from) !== side.get(m.to)) return;
      if (rng.chance(dropRate)) { faults++; return; }
    }
    const copies = faultsOn && rng.chance(dupRate) ? 2 : 1;
    if (copies === 2) faults++;
    for (let c = 0; c < copies; c++) {
      queue.push(now + rng.int(1, faultsOn ? maxDelayMs : 3), () => {
        const to = nodes.get(m.to);
        if (to === undefined || !to.up) return;
        to.raft!.step(m);
        processNode(to);
      });
    }
  }

  function leaders(): SimNode[] {
    return [...nodes.values()].filter((n) => n.up && n.raft!.role === Role.Leader);
  }
  function currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of leaders()) if (best === undefined || n.raft!.term > best.raft!.term) best = n;
    return best;
  }

  let proposalSeq = 0;
  function proposeAt(n: SimNode): { index: number; key: string } | null {
    const data = Buffer.alloc(8);
    data.writeUInt32BE(n.id, 0);
    data.writeUInt32BE(++proposalSeq, 4);
    const r = n.raft!.propose(data);
    if (!r.ok) return null;
    const key = `${r.term}:${EntryType.Normal}:${data.toString('hex')}`;
    n.proposed.set(r.index, key);
    processNode(n);
    return { index: r.index, key };
  }

  for (const id of allIds) start(nodes.get(id)!);

  // ---- safety phase: one chaos step per millisecond
  const chaos = () => {
    if (!faultsOn) return;
    const up = [...nodes.values()].filter((n) => n.up);
    const lead0 = currentLeader();
    let victim: SimNode | undefined;
    if (rng.chance(crashRate) && up.length > 0) victim = rng.pick(up);
    else if (lead0 !== undefined && rng.chance(leaderCrashRate)) victim = lead0;
    if (victim !== undefined) {
      const v = victim;
      victim.up = false;
      victim.storage.crash();
      victim.raft = null;
      faults++;
      log(`crash node ${victim.id}`);
      queue.push(now + rng.int(5, 300), () => { if (!v.up) { log(`restart node ${v.id}`); start(v); } });
    }
    if (lead0 !== undefined && lead0.up && rng.chance(leaderIsolateRate)) {
      faults++;
      for (const id of allIds) side.set(id, id === lead0.id ? 1 : 0);
      log(`isolate leader ${lead0.id}`);
    }
    if (rng.chance(partitionRate)) {
      faults++;
      const groups = rng.int(1, 3);
      for (const id of allIds) side.set(id, rng.int(0, groups - 1));
      log(`partition ${allIds.map((id) => `${id}:${side.get(id)}`).join(' ')}`);
    }
    const leader = currentLeader();
    if (leader !== undefined) {
      if (rng.chance(proposeRate)) proposeAt(leader);
      if (rng.chance(confChangeRate)) {
        const conf = leader.raft!.conf;
        const members = [...conf.voters, ...conf.learners];
        const outsiders = allIds.filter((id) => !members.includes(id));
        let change: ConfChange;
        const roll = rng.next();
        if (roll < 0.35 && outsiders.length > 0) change = { type: 'addLearner', nodeId: rng.pick(outsiders) };
        else if (roll < 0.7 && conf.learners.length > 0) change = { type: 'addVoter', nodeId: rng.pick(conf.learners) };
        else if (roll < 0.8 && outsiders.length > 0) change = { type: 'addVoter', nodeId: rng.pick(outsiders) };
        else change = { type: 'removeNode', nodeId: rng.pick(members) };
        if (applyConfChange(conf, change).ok) {
          const r = leader.raft!.proposeConfChange(change);
          log(`conf change ${change.type} ${change.nodeId} -> ${r.ok ? `index ${r.index}` : r.reason}`);
          processNode(leader);
        }
      }
      if (rng.chance(transferRate)) {
        const target = rng.pick(allIds);
        if (leader.raft!.transferLeadership(target)) { log(`transfer ${leader.id} -> ${target}`); processNode(leader); }
      }
      if (rng.chance(readRate)) {
        const ctx = ++readCtx;
        if (leader.raft!.readIndex(ctx).ok) { pendingReads.set(ctx, checker.maxCommitted); processNode(leader); }
      }
    }
    const upNow = [...nodes.values()].filter((n) => n.up);
    if (compactRate > 0 && rng.chance(compactRate) && upNow.length > 0) {
      const n = rng.pick(upNow);
      const raft = n.raft!;
      const target = raft.appliedIndex - rng.int(0, 3);
      if (n.syncing === null && !n.blocked && target > raft.log.snapshotIndex && n.smIndex === raft.appliedIndex) {
        // snapshot exactly at applied (the simulated state machine keeps only its head), then compact
        const meta = raft.compact(raft.appliedIndex);
        if (meta !== null) {
          const snap = { meta, data: smImage(n) };
          n.snapshot = snap;
          n.storage.compact(snap);
          // like RaftHost.compact: staged, it rides the next sync (asynchronously: a crash before it loses it)
          if (asyncWrites) scheduleSync(n, ++n.stagedGen);
          else n.storage.sync();
        }
      }
    }
    queue.push(now + 1, chaos);
  };
  queue.push(1, chaos);

  // ---- liveness phase
  let livenessDone = false;
  let probe: { leader: NodeId; term: number; index: number; key: string } | null = null;
  queue.push(safetyMs, () => {
    faultsOn = false;
    log('heal: network repaired, all nodes restarted');
    for (const id of allIds) side.set(id, 0);
    for (const n of nodes.values()) if (!n.up) start(n);
  });
  const livenessCheck = () => {
    if (livenessDone) return;
    const leader = currentLeader();
    if (leader !== undefined) {
      const raft = leader.raft!;
      if (probe === null || probe.leader !== leader.id || probe.term !== raft.term) {
        const p = proposeAt(leader);
        probe = p === null ? null : { leader: leader.id, term: raft.term, ...p };
      } else {
        const voters = raft.conf.voters;
        const everywhere = voters.every((v) => {
          const n = nodes.get(v)!;
          return n.up && n.smIndex >= probe!.index;
        });
        if (everywhere && checker.committed.get(probe.index) === probe.key) { livenessDone = true; log(`liveness ok: probe ${probe.index} applied on ${voters.join(',')}`); }
      }
    }
    if (!livenessDone) queue.push(now + 20, livenessCheck);
  };
  queue.push(safetyMs + 1, livenessCheck);

  const endMs = safetyMs + livenessMs;
  while (queue.size > 0 && checker.violations.length === 0 && !livenessDone) {
    const ev = queue.pop()!;
    if (ev.at > endMs) break;
    now = ev.at;
    ev.run();
  }
  if (!livenessDone && checker.violations.length === 0) {
    const states = [...nodes.values()].map((n) => `${n.id}${n.syncing ? "(syncing)" : ""}${n.blocked ? "(blocked)" : ""}${n.raft?.hasReady() ? "(ready)" : ""}:${n.up ? `${n.raft!.role}/t${n.raft!.term}/c${n.raft!.commitIndex}/l${n.raft!.lastIndex}/v${n.raft!.conf.voters.join('.')}` : 'down'}`).join(' ');
    const lead = currentLeader();
    const prog = lead === undefined ? '' : [...lead.raft!.progress()].map(([id, p]) => `${id}:${p.state}/m${p.match}/n${p.next}`).join(' ');
    checker.fail(`liveness: no proposal committed on all voters within ${livenessMs} ms of healing (${states}) progress ${prog}`);
  }
  checker.finish();
  return { seed: opts.seed, clusterSize, faults, committed: checker.maxCommitted, violations: checker.violations, simulatedMs: now };
}
