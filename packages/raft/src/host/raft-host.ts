// Multi-raft host: many Raft groups on one node, one tick timer, one fsync at a time for all groups (group
// commit), one message batch per peer node per round.
//
// Rounds are pipelined (etcd's asynchronous storage writes): a round takes the Ready of every group with work,
// stages their writes, sends leader replication and every message that needs nothing new to be durable, applies
// committed entries (the core hands out only entries durable here) and advances — without waiting for the fsync.
// Messages that need this round's writes durable (acks, votes) are held until the sync covering them completes;
// then the groups are told (persisted: a leader counts its own entries toward a commit only now) and the held
// messages leave with the next round. So the next round's appends and the previous round's fsync overlap.
// Rounds run back to back while there is work; input arriving during a round is handled by the next one
// (natural batching: the busier the host, the more proposals share one fsync and one network write).
import { RaftNode, type ProposeResult } from '../core/raft.js';
import type { ConfChange } from '../core/conf.js';
import { MessageType, Role, emptyMessage, isLeaderReplication, readyMustSync, type HardState, type Entry, type InitialState, type NodeId, type RaftGroupId, type RaftIndex, type ReadState, type Ready, type Snapshot, type SnapshotMeta, type Term } from '../core/types.js';
import type { RaftStorage } from '../storage/storage.js';
import type { GroupMessage } from '../transport/codec.js';
import type { RaftTransport } from '../transport/transport.js';

/** What a group's host-side application provides. */
export interface GroupStateMachine {
  /** Apply committed entries in order (normal and configuration entries; empty no-op entries included). */
  apply(entries: readonly Entry[]): void;
  /** Replace state with a snapshot image received from the leader. */
  restore(snapshot: Snapshot): void;
  /** The image for `meta` (the state at meta.index, as taken when the host called compact); null = unavailable. */
  snapshotData(meta: SnapshotMeta): Uint8Array | null;
  onLeaderChange?(leaderId: NodeId, term: Term, role: Role): void;
  onReadState?(read: ReadState): void;
}

export interface RaftHostOptions {
  readonly nodeId: NodeId;
  readonly transport: RaftTransport;
  /** One shared sync for every group's storage (e.g. FileWal.sync). */
  readonly syncAll: () => Promise<void> | void;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly maxInflight?: number;
  readonly maxMsgBytes?: number;
  readonly onError?: (err: Error) => void;
  /**
   * Quiesce idle groups (default true): a leader whose followers are all caught up stops heartbeating after telling
   * them; their hosts stop ticking the group. Any traffic for the group wakes it; a follower also wakes when the
   * leader's node has not been heard from (hosts ping every peer node once per tick) for an election timeout, or when
   * the transport reports that node restarted (its new process pings at once, but leads nothing).
   * Safety does not depend on timing, so this only affects how fast failures are detected.
   */
  readonly quiesce?: boolean;
}

interface Waiter { index: number; term: number; resolve: (r: CommitResult) => void }
/** A proposer waiting until its entry (index, term) is durable in this node's storage (see proposeTracked). */
interface DurableWaiter { index: number; term: number; resolve: (durable: boolean) => void }
/** A Ready whose writes are staged in sync generation `gen`; `deferred`: a snapshot Ready, applied once durable. */
interface AwaitingDurable { gen: number; g: HostedGroup; rd: Ready; deferred: boolean }
/** A message that may leave only once sync generation `gen` is durable. */
interface HeldMessage { gen: number; to: NodeId; gm: GroupMessage }
export type CommitResult = { ok: true; index: RaftIndex } | { ok: false; reason: string; leaderId: NodeId };
/**
 * A proposal followed in two steps: `durable` resolves true once this node's storage holds the entry durably (or once
 * it committed, which implies it), false if the proposal fails first; `committed` is what `propose` returns.
 * `index` is the entry's Raft index, null when the proposal was refused (then `committed` says why).
 */
export interface TrackedProposal { readonly index: RaftIndex | null; readonly durable: Promise<boolean>; readonly committed: Promise<CommitResult> }

/** Heartbeat context that tells a follower's host the leader has quiesced the group (never reaches the core). */
const QUIESCE_CONTEXT = Number.MAX_SAFE_INTEGER;

class HostedGroup {
  waiters: Waiter[] = [];
  /** In index order (proposals get increasing indexes); settled by onDurable or by the proposal's outcome. */
  durableWaiters: DurableWaiter[] = [];
  /** Not ticked: an idle group whose leader stopped heartbeating (see RaftHost quiescence). */
  quiesced = false;
  idleTicks = 0;
  /** The hard state last handed to storage (a commit-only change need not be synced before its messages leave). */
  hardState: HardState;
  constructor(readonly id: RaftGroupId, readonly raft: RaftNode, readonly storage: RaftStorage, readonly sm: GroupStateMachine, hardState: HardState) {
    this.hardState = hardState;
  }
}

export class RaftHost {
  readonly nodeId: NodeId;
  private readonly groups = new Map<RaftGroupId, HostedGroup>();
  private readonly dirty = new Set<HostedGroup>();
  private timer: NodeJS.Timeout | null = null;
  private roundScheduled = false;
  private roundRunning = false;
  private closed = false;
  /** Sync generations: bumped by a round that staged writes needing durability; `durableGen` = covered by a finished sync. */
  private stagedGen = 0;
  private durableGen = 0;
  private syncRunning = false;
  private readonly awaitingDurable: AwaitingDurable[] = [];
  private heldMessages: HeldMessage[] = [];
  private readonly durableCallbacks: { gen: number; resolve: (durable: boolean) => void }[] = [];
  /** Messages to send with the next round, one batch per peer. */
  private outbox = new Map<NodeId, GroupMessage[]>();
  readonly stats = { rounds: 0, syncs: 0, batchesSent: 0, messagesSent: 0, ticks: 0, quiesced: 0, quiesceBatches: 0, peerRestarts: 0 };
  private readonly peerLastHeard = new Map<NodeId, number>();
  private tickCount = 0;

  constructor(private readonly opts: RaftHostOptions) {
    this.nodeId = opts.nodeId;
    opts.transport.setHandler((from, batch) => this.receive(from, batch));
    opts.transport.setPeerRestartHandler((peer) => this.peerRestarted(peer));
  }

  addGroup(id: RaftGroupId, storage: RaftStorage, sm: GroupStateMachine, initial?: InitialState): RaftNode {
    if (this.groups.has(id)) throw new Error(`raft group ${id} already hosted`);
    const snap = storage.loadSnapshot();
    if (snap !== null) sm.restore(snap);
    const loaded = initial ?? storage.load();
    for (const peer of [...loaded.snapshot.conf.voters, ...loaded.snapshot.conf.learners]) if (peer !== this.nodeId && !this.peerLastHeard.has(peer)) this.peerLastHeard.set(peer, 0);
    const raft = new RaftNode({
      id: this.nodeId, electionTicks: this.opts.electionTicks ?? 10, heartbeatTicks: this.opts.heartbeatTicks ?? 1,
      maxInflight: this.opts.maxInflight, maxMsgBytes: this.opts.maxMsgBytes, random: Math.random,
      snapshotData: (meta) => sm.snapshotData(meta), asyncStorageWrites: true, deferCommitOnlyAppends: true,
      // while Appends flow and are answered, tick heartbeats are pure overhead (at 1,000 groups they were a third of
      // the messages). A follower that does not answer (a peer that did not host the group yet when the Append
      // arrived: the broker adds partition groups as each node applies the topic) keeps getting them: their answers
      // are how the leader notices the lost Append (skipping on "an Append was sent" alone slowed new topics down)
      skipRedundantHeartbeats: true,
    }, loaded);
    const g = new HostedGroup(id, raft, storage, sm, loaded.hardState);
    this.groups.set(id, g);
    this.markDirty(g);
    return raft;
  }

  /**
   * Stops hosting a group (e.g. its topic was deleted): its pending proposals resolve `{ ok: false, reason: 'removed' }`,
   * its queued and held messages are dropped and later ones ignored, and its storage forgets it (a tombstone in the
   * FileWal: its records no longer hold segments back and it does not come back at restart). Resolves true once the
   * removal is durable; false if the group was not hosted or the host closed first.
   */
  removeGroup(id: RaftGroupId): Promise<boolean> {
    const g = this.groups.get(id);
    if (g === undefined) return Promise.resolve(false);
    this.groups.delete(id);
    this.dirty.delete(g);
    for (const w of g.waiters) w.resolve({ ok: false, reason: 'removed', leaderId: 0 as NodeId });
    g.waiters = [];
    g.durableWaiters = []; // settled false by their proposals' outcome
    for (const [to, list] of this.outbox) {
      const rest = list.filter((gm) => gm.groupId !== id);
      if (rest.length === 0) this.outbox.delete(to); else this.outbox.set(to, rest);
    }
    this.heldMessages = this.heldMessages.filter((h) => h.gm.groupId !== id);
    // its Readies awaiting a sync are skipped when it completes (onDurable checks the group is still hosted)
    g.storage.remove();
    const gen = ++this.stagedGen;
    const durable = new Promise<boolean>((resolve) => this.durableCallbacks.push({ gen, resolve }));
    this.maybeStartSync();
    return durable;
  }

  group(id: RaftGroupId): RaftNode | undefined { return this.groups.get(id)?.raft; }
  get groupCount(): number { return this.groups.size; }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tickAll(), this.opts.tickMs ?? 100);
  }

  private tickAll(): void {
    this.stats.ticks++;
    this.tickCount++;
    const quiesce = this.opts.quiesce ?? true;
    const electionTicks = this.opts.electionTicks ?? 10;
    let quiescedCount = 0;
    const quiesceBatches = new Map<NodeId, GroupMessage[]>();
    for (const g of this.groups.values()) {
      if (g.quiesced) {
        // wake a follower whose leader's node went silent, so it can elect a new leader
        const leader = g.raft.leaderId;
        const heard = this.peerLastHeard.get(leader) ?? 0;
        if (g.raft.role !== Role.Leader && (leader === 0 || this.tickCount - heard > electionTicks)) this.wake(g);
        else { quiescedCount++; continue; }
      }
      g.raft.tick();
      if (quiesce && g.raft.isIdleLeader()) {
        if (++g.idleTicks >= electionTicks) this.quiesceGroup(g, quiesceBatches);
      } else g.idleTicks = 0;
      if (g.raft.hasReady()) this.markDirty(g);
    }
    this.stats.quiesced = quiescedCount;
    for (const [to, batch] of quiesceBatches) { this.opts.transport.send(to, batch); this.stats.quiesceBatches++; }
    // node-level liveness ping: one empty batch per peer per tick
    if (quiesce) for (const peer of this.peerLastHeard.keys()) this.opts.transport.send(peer, []);
  }

  private quiesceGroup(g: HostedGroup, batch: Map<NodeId, GroupMessage[]>): void {
    g.quiesced = true;
    g.idleTicks = 0;
    const conf = g.raft.conf;
    for (const peer of [...conf.voters, ...conf.learners]) {
      if (peer === this.nodeId) continue;
      const m = emptyMessage(MessageType.Heartbeat, this.nodeId, peer, g.raft.term);
      m.commit = g.raft.commitIndex; // every follower matches the last index (isIdleLeader), so commit is safe to send
      m.context = QUIESCE_CONTEXT;
      let list = batch.get(peer);
      if (list === undefined) { list = []; batch.set(peer, list); }
      list.push({ groupId: g.id, message: m });
    }
  }

  /**
   * `peer`'s process restarted, so it leads none of the groups it led: wake the quiesced ones here that follow it.
   * Their election timers run again and they elect a leader after an election timeout, as for a silent leader.
   */
  private peerRestarted(peer: NodeId): void {
    this.stats.peerRestarts++;
    for (const g of this.groups.values()) if (g.quiesced && g.raft.role !== Role.Leader && g.raft.leaderId === peer) this.wake(g);
  }

  private wake(g: HostedGroup): void {
    g.quiesced = false;
    g.idleTicks = 0;
  }

  /** Groups currently quiesced on this host. */
  get quiescedCount(): number { let n = 0; for (const g of this.groups.values()) if (g.quiesced) n++; return n; }

  /** Proposes `data`; resolves when the entry is committed and applied here, or fails (not leader, lost leadership). */
  propose(id: RaftGroupId, data: Uint8Array): Promise<CommitResult> {
    const g = this.groups.get(id);
    if (g === undefined) return Promise.resolve({ ok: false, reason: 'unknown-group', leaderId: 0 as NodeId });
    return this.track(g, g.raft.propose(data));
  }

  /**
   * Like propose, and also tells the proposer as soon as the entry is durable in this node's own log, before it
   * commits (what Kafka's acks=1 waits for). An entry durable here may still be lost if this node loses leadership
   * before a majority holds it.
   */
  proposeTracked(id: RaftGroupId, data: Uint8Array): TrackedProposal {
    const g = this.groups.get(id);
    if (g === undefined) return { index: null, durable: Promise.resolve(false), committed: Promise.resolve({ ok: false, reason: 'unknown-group', leaderId: 0 as NodeId }) };
    const r = g.raft.propose(data);
    const committed = this.track(g, r);
    if (!r.ok) return { index: null, durable: Promise.resolve(false), committed };
    const durable = new Promise<boolean>((resolve) => {
      g.durableWaiters.push({ index: r.index, term: r.term, resolve });
      // commit implies durable here (the core hands out only entries durable here); a failure first means never
      void committed.then((c) => resolve(c.ok));
    });
    return { index: r.index as RaftIndex, durable, committed };
  }

  proposeConfChange(id: RaftGroupId, change: ConfChange): Promise<CommitResult> {
    const g = this.groups.get(id);
    if (g === undefined) return Promise.resolve({ ok: false, reason: 'unknown-group', leaderId: 0 as NodeId });
    return this.track(g, g.raft.proposeConfChange(change));
  }

  private track(g: HostedGroup, r: ProposeResult): Promise<CommitResult> {
    this.wake(g);
    if (!r.ok) return Promise.resolve({ ok: false, reason: r.reason, leaderId: r.leaderId });
    this.markDirty(g);
    return new Promise((resolve) => g.waiters.push({ index: r.index, term: r.term, resolve }));
  }

  readIndex(id: RaftGroupId, context: number): boolean {
    const g = this.groups.get(id);
    if (g === undefined) return false;
    this.wake(g);
    const ok = g.raft.readIndex(context).ok;
    if (ok) this.markDirty(g);
    return ok;
  }

  transferLeadership(id: RaftGroupId, to: NodeId): boolean {
    const g = this.groups.get(id);
    if (g === undefined) return false;
    this.wake(g);
    if (!g.raft.transferLeadership(to)) return false;
    this.markDirty(g);
    return true;
  }

  /**
   * `peer` restarted with a wiped data directory: every group this node leads forgets its replication progress for it
   * (RaftNode.resetPeerProgress), so the peer is repaired from what it really holds (or by InstallSnapshot). Call it
   * once the peer's new process is up (its previous incarnation's messages can no longer arrive). Returns the number
   * of groups reset.
   */
  resetPeerProgress(peer: NodeId): number {
    let reset = 0;
    for (const g of this.groups.values()) {
      if (g.raft.role !== Role.Leader) continue;
      this.wake(g);
      if (g.raft.resetPeerProgress(peer)) { reset++; this.markDirty(g); }
    }
    return reset;
  }

  /** The state machine took a snapshot at `index` (<= applied): drop the log prefix and record it durably. */
  compact(id: RaftGroupId, index: number, data: Uint8Array): void {
    const g = this.groups.get(id);
    if (g === undefined) return;
    const meta = g.raft.compact(index);
    if (meta !== null) g.storage.compact({ meta, data });
  }

  private receive(from: NodeId, batch: GroupMessage[]): void {
    if (this.closed) return;
    this.peerLastHeard.set(from, this.tickCount);
    for (const { groupId, message } of batch) {
      const g = this.groups.get(groupId);
      if (g === undefined || message.to !== this.nodeId) continue;
      if (message.type === MessageType.Heartbeat && message.context === QUIESCE_CONTEXT) {
        message.context = 0;
        g.raft.step(message);
        if (g.raft.role === Role.Follower && g.raft.leaderId === message.from) { g.quiesced = true; g.idleTicks = 0; }
      } else {
        // any other traffic wakes the group; heartbeats and their acks in the current term do not (a heartbeat of the
        // leader's last tick may arrive after its quiesce notice; a quiesced follower still answers heartbeats)
        const heartbeatTraffic = (message.type === MessageType.Heartbeat || message.type === MessageType.HeartbeatResponse) && message.term === g.raft.term;
        if (!heartbeatTraffic) this.wake(g);
        g.raft.step(message);
      }
      this.markDirty(g);
    }
  }

  private markDirty(g: HostedGroup): void {
    this.dirty.add(g);
    this.scheduleRound();
  }

  private scheduleRound(): void {
    if (!this.roundScheduled && !this.roundRunning && !this.closed) {
      this.roundScheduled = true;
      setImmediate(() => { this.roundScheduled = false; void this.runRound(); });
    }
  }

  private async runRound(): Promise<void> {
    if (this.roundRunning || this.closed) return;
    this.roundRunning = true;
    try {
      while ((this.dirty.size > 0 || this.outbox.size > 0) && !this.closed) {
        const work: { g: HostedGroup; rd: Ready }[] = [];
        for (const g of this.dirty) if (g.raft.hasReady()) work.push({ g, rd: g.raft.ready() });
        this.dirty.clear();
        if (work.length === 0 && this.outbox.size === 0) break;
        this.stats.rounds++;
        // a Ready with entries, a snapshot, a term or a vote must be durable before the messages that depend on it
        // leave; a commit-only hard state is staged and rides the next sync (see readyMustSync)
        let mustSync = false;
        for (const { g, rd } of work) {
          if (readyMustSync(rd, g.hardState)) mustSync = true;
          if (rd.hardState !== null) { g.storage.setHardState(rd.hardState); g.hardState = rd.hardState; }
          if (rd.snapshot !== null) g.storage.applySnapshot(rd.snapshot);
          if (rd.entries.length > 0) g.storage.append(rd.entries);
        }
        if (mustSync) this.stagedGen++;
        // the fsync starts before this round sends or applies anything: it runs off the event loop while the leader
        // writes its Appends to the sockets (on loopback a 64 KiB write costs ~0.3 ms per peer) and the groups apply
        this.maybeStartSync();
        // A leader's replication may leave before its own fsync (it counts itself toward a commit only in
        // persisted()). Any other message (an ack, a vote) may describe writes not yet durable — this round's or an
        // earlier one's still in flight — so it waits until everything staged so far is durable.
        const gen = this.stagedGen;
        for (const { g, rd } of work) {
          for (const m of rd.messages) {
            const gm: GroupMessage = { groupId: g.id, message: m };
            if (gen === this.durableGen || isLeaderReplication(m.type)) this.enqueue(m.to, gm);
            else this.heldMessages.push({ gen, to: m.to, gm });
          }
        }
        this.flushOutbox();
        for (const { g, rd } of work) {
          if (rd.snapshot !== null) {
            // the state machine takes the image only once it is durable; the group produces no Ready until then
            this.awaitingDurable.push({ gen, g, rd, deferred: true });
            continue;
          }
          try { this.applyReady(g, rd); } catch (err) { this.opts.onError?.(err as Error); }
          g.raft.advance(rd);
          if (rd.entries.length > 0) this.awaitingDurable.push({ gen, g, rd, deferred: false });
          if (g.raft.hasReady()) this.dirty.add(g);
        }
        this.maybeStartSync();
        // yield to the event loop so incoming messages, proposals and finished syncs join the next round
        if (this.dirty.size > 0 || this.outbox.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.roundRunning = false;
      if ((this.dirty.size > 0 || this.outbox.size > 0) && !this.closed) this.scheduleRound();
    }
  }

  /** One sync at a time; a sync covers every write staged before it starts (FileWal.sync is a group commit). */
  private maybeStartSync(): void {
    if (this.syncRunning || this.closed || this.stagedGen === this.durableGen) return;
    const gen = this.stagedGen;
    this.syncRunning = true;
    this.stats.syncs++;
    let done: Promise<void>;
    try { done = Promise.resolve(this.opts.syncAll()); } catch (err) { done = Promise.reject(err as Error); }
    done.then(() => {
      this.syncRunning = false;
      if (this.closed) return;
      this.onDurable(gen);
      this.maybeStartSync();
    }, (err: unknown) => {
      this.syncRunning = false;
      this.fail(err as Error);
    });
  }

  /** Everything staged up to generation `gen` is durable: tell the groups (in Ready order) and release held messages. */
  private onDurable(gen: number): void {
    this.durableGen = gen;
    let k = 0;
    for (; k < this.awaitingDurable.length && this.awaitingDurable[k]!.gen <= gen; k++) {
      const { g, rd, deferred } = this.awaitingDurable[k]!;
      if (this.groups.get(g.id) !== g) continue; // removed meanwhile
      g.raft.persisted(rd);
      if (g.durableWaiters.length > 0 && rd.entries.length > 0) this.settleDurable(g, rd.entries);
      if (deferred) {
        try { this.applyReady(g, rd); } catch (err) { this.opts.onError?.(err as Error); }
        g.raft.advance(rd);
      }
      if (g.raft.hasReady()) this.markDirty(g);
    }
    this.awaitingDurable.splice(0, k);
    let h = 0;
    for (; h < this.heldMessages.length && this.heldMessages[h]!.gen <= gen; h++) {
      const { to, gm } = this.heldMessages[h]!;
      if (this.groups.has(gm.groupId)) this.enqueue(to, gm);
    }
    if (h > 0) this.heldMessages = this.heldMessages.slice(h);
    let c = 0;
    for (; c < this.durableCallbacks.length && this.durableCallbacks[c]!.gen <= gen; c++) this.durableCallbacks[c]!.resolve(true);
    this.durableCallbacks.splice(0, c);
    // the released acks and votes leave now, not with the next round: they are on the leader's commit path
    this.flushOutbox();
  }

  /** `entries` (contiguous) are durable here: their proposers learn it; one whose index now holds another term's entry never will. */
  private settleDurable(g: HostedGroup, entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    const last = entries[entries.length - 1]!.index;
    let k = 0;
    for (; k < g.durableWaiters.length && g.durableWaiters[k]!.index <= last; k++) {
      const w = g.durableWaiters[k]!;
      if (w.index < first) continue; // persisted by an earlier Ready: already settled (kept only until passed)
      w.resolve(entries[w.index - first]!.term === w.term);
    }
    g.durableWaiters.splice(0, k);
  }

  /** Storage failed (e.g. fsync): nothing staged may be assumed durable, so stop (fail-stop, like etcd); the process should restart from disk. */
  private fail(err: Error): void {
    if (this.closed) return;
    this.opts.onError?.(err);
    void this.close();
  }

  private enqueue(to: NodeId, gm: GroupMessage): void {
    let list = this.outbox.get(to);
    if (list === undefined) { list = []; this.outbox.set(to, list); }
    list.push(gm);
  }

  private flushOutbox(): void {
    if (this.outbox.size === 0) return;
    const perPeer = this.outbox;
    this.outbox = new Map();
    for (const [to, batch] of perPeer) {
      this.opts.transport.send(to, batch);
      this.stats.batchesSent++;
      this.stats.messagesSent += batch.length;
    }
  }

  private applyEntries(g: HostedGroup, entries: readonly Entry[]): void {
    g.sm.apply(entries);
    if (g.waiters.length === 0) return;
    const first = entries[0]!.index;
    const last = entries[entries.length - 1]!.index;
    const keep: Waiter[] = [];
    for (const w of g.waiters) {
      if (w.index > last) { keep.push(w); continue; }
      const e = w.index >= first ? entries[w.index - first] : undefined;
      if (e === undefined || e.term === w.term) w.resolve({ ok: true, index: w.index as RaftIndex });
      else w.resolve({ ok: false, reason: 'overwritten', leaderId: g.raft.leaderId });
    }
    g.waiters = keep;
  }

  private applyReady(g: HostedGroup, rd: Ready): void {
    if (rd.softState !== null) g.sm.onLeaderChange?.(rd.softState.leaderId, g.raft.term, rd.softState.role);
    if (rd.snapshot !== null) g.sm.restore(rd.snapshot);
    if (rd.committedEntries.length > 0) this.applyEntries(g, rd.committedEntries);
    for (const rs of rd.readStates) g.sm.onReadState?.(rs);
    if (rd.softState !== null && rd.softState.role !== Role.Leader && g.waiters.length > 0) {
      // entries we proposed may still commit under the next leader; we cannot know, so report the loss of leadership
      for (const w of g.waiters) w.resolve({ ok: false, reason: 'leadership-lost', leaderId: rd.softState.leaderId });
      g.waiters = [];
    }
    if (rd.softState !== null && rd.softState.role !== Role.Leader && g.durableWaiters.length > 0) {
      // their proposals just failed (above); dropping them keeps the list in index order for a later term's proposals
      for (const w of g.durableWaiters) w.resolve(false);
      g.durableWaiters = [];
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const g of this.groups.values()) for (const w of g.waiters) w.resolve({ ok: false, reason: 'closed', leaderId: 0 as NodeId });
    for (const c of this.durableCallbacks.splice(0)) c.resolve(false);
    await this.opts.transport.close();
  }
}
