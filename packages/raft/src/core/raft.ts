// The Raft core: a pure, deterministic state machine. No timers, sockets or files.
// Input: tick(), step(message), propose(), proposeConfChange(), readIndex(), transferLeadership(), compact().
// Output: ready() — what to persist, then send, then apply — acknowledged with advance(ready).
import { applyConfChange, decodeConf, encodeConf, quorumValue, type ConfChange } from './conf.js';
import { Progress, ProgressState } from './progress.js';
import { RaftLog } from './raft-log.js';
import {
  EntryType, MessageType, NO_NODE, Role, emptyMessage,
  type ConfState, type Entry, type HardState, type InitialState, type Message, type NodeId, type RaftIndex,
  type ReadState, type Ready, type Snapshot, type SnapshotMeta, type SoftState, type Term,
} from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks without hearing from a leader before campaigning (randomised in [electionTicks, 2*electionTicks)). */
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Max appends in flight to one follower in the replicate state. */
  readonly maxInflight?: number;
  /** Soft cap on the entry bytes of one append message. */
  readonly maxMsgBytes?: number;
  /** Uniform [0, 1) source for election jitter; pass a seeded one for determinism. */
  readonly random?: () => number;
  /** Supplies the state-machine image for a snapshot the leader must send; null = not available right now (retried later). */
  readonly snapshotData?: (meta: SnapshotMeta) => Uint8Array | null;
  /**
   * DELIBERATELY UNSAFE, for proving the checkers: the leader commits entries of previous terms by counting
   * replicas (the bug Figure 8 of the Raft paper warns about). Never set outside tests.
   */
  readonly unsafeCommitPreviousTerm?: boolean;
  /**
   * Asynchronous storage writes (etcd's AsyncStorageWrites): the host may ask for the next Ready while the writes of
   * earlier ones are still being made durable. It then calls advance(rd) once rd is applied and its messages are
   * sent or held, and persisted(rd) (in Ready order) once rd's writes are durable. Committed entries are handed out
   * for applying only once they are durable here. Default false: advance(rd) means "persisted, sent and applied".
   */
  readonly asyncStorageWrites?: boolean;
  /**
   * For hosts that call ready() again right away while there is work (RaftHost's back-to-back rounds): an Append that
   * would carry nothing but a new commit index waits one ready(), so that the next proposals (typically made by
   * callers the commit just answered) carry it instead; if none come, the next ready() sends it. Default false.
   */
  readonly deferCommitOnlyAppends?: boolean;
  /**
   * Skip a tick's heartbeat to a follower that was sent an Append since the previous heartbeat tick, answered an
   * Append since then too, and whose replication window is open: the Append already reset its election timer and
   * carried the commit index, and the answer told the leader where the follower stands. A follower that stays silent
   * (e.g. a node that does not host the group yet dropped the Append) keeps getting heartbeats, whose answers are how
   * the leader notices the loss. Heartbeats confirming ReadIndex reads are always sent. Default false.
   */
  readonly skipRedundantHeartbeats?: boolean;
}

export type ProposeResult =
  | { ok: true; index: RaftIndex; term: Term }
  | { ok: false; reason: 'not-leader' | 'transferring' | 'conf-change-pending' | 'invalid-conf-change'; leaderId: NodeId; message?: string };

export type ReadIndexResult = { ok: true } | { ok: false; reason: 'not-leader' | 'not-ready'; leaderId: NodeId };

interface PendingRead { index: number; context: number; seq: number }

export class RaftNode {
  readonly id: NodeId;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxMsgBytes: number;
  private readonly random: () => number;
  private readonly snapshotData: (meta: SnapshotMeta) => Uint8Array | null;
  private readonly unsafeCommitPreviousTerm: boolean;
  private readonly asyncStorageWrites: boolean;
  private readonly deferCommitOnlyAppends: boolean;
  private readonly skipRedundantHeartbeats: boolean;

  private currentTerm = 0;
  private votedFor: NodeId = NO_NODE;
  private roleValue: Role = Role.Follower;
  private leader: NodeId = NO_NODE;
  readonly log: RaftLog;

  /** Configuration history: base (at the snapshot) then each ConfChange entry in the log, in index order. */
  private confHistory: { index: number; conf: ConfState }[];
  private prs = new Map<NodeId, Progress>();
  /** Reused by maybeCommit (runs on acknowledgements of every group; a fresh array each time was garbage). */
  private readonly matchScratch: number[] = [];
  private votes = new Map<NodeId, boolean>();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NO_NODE;
  private transferElapsed = 0;

  private readSeq = 0;
  private pendingReads: PendingRead[] = [];
  private readStates: ReadState[] = [];

  private msgs: Message[] = [];
  /**
   * Appends owed to every follower, built once in ready() instead of once per proposal or per acknowledgement:
   * 0 none, 1 new entries only, 2 also an empty Append when there is nothing new (it carries a new commit index).
   * Messages leave only through ready() anyway, so this coalesces them without delaying any.
   */
  private bcastOwed: 0 | 1 | 2 = 0;
  /** A commit advance owed to followers as an empty Append (deferCommitOnlyAppends): 1 = may wait one ready(), 2 = send in the next. */
  private commitOwed: 0 | 1 | 2 = 0;
  private pendingSnapshot: Snapshot | null = null;
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private outstandingReady: Ready | null = null;

  constructor(config: RaftConfig, initial: InitialState) {
    this.id = config.id;
    if (config.id === NO_NODE) throw new RangeError('node id 0 is reserved');
    this.electionTicks = config.electionTicks ?? 10;
    this.heartbeatTicks = config.heartbeatTicks ?? 1;
    if (this.heartbeatTicks >= this.electionTicks) throw new RangeError('heartbeatTicks must be smaller than electionTicks');
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxInflight = config.maxInflight ?? 256;
    this.maxMsgBytes = config.maxMsgBytes ?? 1 << 20;
    this.random = config.random ?? mulberry(config.id);
    this.snapshotData = config.snapshotData ?? (() => null);
    this.unsafeCommitPreviousTerm = config.unsafeCommitPreviousTerm ?? false;
    this.asyncStorageWrites = config.asyncStorageWrites ?? false;
    this.deferCommitOnlyAppends = config.deferCommitOnlyAppends ?? false;
    this.skipRedundantHeartbeats = config.skipRedundantHeartbeats ?? false;

    const snap = initial.snapshot;
    this.log = new RaftLog(snap.index, snap.term, initial.entries, initial.hardState.commit);
    this.currentTerm = initial.hardState.term;
    this.votedFor = initial.hardState.vote;
    this.confHistory = [{ index: snap.index, conf: snap.conf }];
    this.scanConfEntries(this.log.firstIndex());
    this.prevHardState = this.hardState();
    this.prevSoftState = this.softState();
    this.resetRandomizedElectionTimeout();
  }

  // ---------------------------------------------------------------- queries

  get term(): Term { return this.currentTerm as Term; }
  get role(): Role { return this.roleValue; }
  get leaderId(): NodeId { return this.leader; }
  get commitIndex(): RaftIndex { return this.log.committed as RaftIndex; }
  get appliedIndex(): RaftIndex { return this.log.applied as RaftIndex; }
  get lastIndex(): RaftIndex { return this.log.lastIndex() as RaftIndex; }
  get firstIndex(): RaftIndex { return this.log.firstIndex() as RaftIndex; }
  get conf(): ConfState { return this.confHistory[this.confHistory.length - 1]!.conf; }
  hardState(): HardState { return { term: this.currentTerm as Term, vote: this.votedFor, commit: this.log.committed as RaftIndex }; }
  softState(): SoftState { return { leaderId: this.leader, role: this.roleValue }; }
  /** Replication state of each peer (leader only), for observability. */
  progress(): ReadonlyMap<NodeId, { match: number; next: number; state: 'probe' | 'replicate' | 'snapshot' }> {
    const out = new Map<NodeId, { match: number; next: number; state: 'probe' | 'replicate' | 'snapshot' }>();
    for (const [id, pr] of this.prs) out.set(id, { match: pr.match, next: pr.next, state: pr.state === 0 ? 'probe' : pr.state === 1 ? 'replicate' : 'snapshot' });
    return out;
  }
  /** True when the group is a leader whose followers are all caught up, or a follower with nothing pending: heartbeats may be quiesced by the host. */
  isIdleLeader(): boolean {
    if (this.roleValue !== Role.Leader || this.pendingReads.length > 0 || this.leadTransferee !== NO_NODE || this.commitOwed !== 0) return false;
    const last = this.log.lastIndex();
    if (this.log.committed !== last || this.log.applied !== last || this.log.unstableFrom <= last) return false;
    for (const [id, pr] of this.prs) if (id !== this.id && pr.match !== last) return false;
    return true;
  }

  private isVoter(id: NodeId): boolean { return this.conf.voters.includes(id); }
  /**
   * May this node campaign? A voter of its latest configuration may; so may a voter of the previous one while the
   * latest (which removed it) is uncommitted — otherwise a removed leader that stepped down before committing its
   * own removal could leave the remaining voters, which lack the entry, unable to elect anyone.
   */
  private promotable(): boolean {
    if (this.isVoter(this.id)) return true;
    const h = this.confHistory;
    return h.length > 1 && h[h.length - 1]!.index > this.log.committed && h[h.length - 2]!.conf.voters.includes(this.id);
  }

  // ---------------------------------------------------------------- host inputs

  tick(): void {
    if (this.roleValue === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.preVote ? 'pre' : 'election', false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.currentTerm, NO_NODE);
          return;
        }
        for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
      }
    }
    if (this.leadTransferee !== NO_NODE && ++this.transferElapsed >= this.electionTicks) this.abortTransfer();
    for (const [id, pr] of this.prs) {
      if (id !== this.id && pr.state === ProgressState.Snapshot && ++pr.snapshotTicks >= this.electionTicks) pr.becomeProbe();
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(0);
    }
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.roleValue !== Role.Leader) return { ok: false, reason: 'not-leader', leaderId: this.leader };
    if (this.leadTransferee !== NO_NODE) return { ok: false, reason: 'transferring', leaderId: this.leader };
    const index = this.appendEntry(EntryType.Normal, data);
    return { ok: true, index: index as RaftIndex, term: this.currentTerm as Term };
  }

  /**
   * Single-server membership change. It takes effect on each node as soon as the entry is in its log.
   * Safety rules (Ongaro's dissertation §4.1 plus the fix for its single-server bug): at most one
   * uncommitted change at a time, and none before the leader has committed an entry of its own term.
   */
  proposeConfChange(change: ConfChange): ProposeResult {
    if (this.roleValue !== Role.Leader) return { ok: false, reason: 'not-leader', leaderId: this.leader };
    if (this.leadTransferee !== NO_NODE) return { ok: false, reason: 'transferring', leaderId: this.leader };
    const latestConfIndex = this.confHistory[this.confHistory.length - 1]!.index;
    if (latestConfIndex > this.log.committed || this.log.term(this.log.committed) !== this.currentTerm) {
      return { ok: false, reason: 'conf-change-pending', leaderId: this.leader };
    }
    const result = applyConfChange(this.conf, change);
    if (!result.ok) return { ok: false, reason: 'invalid-conf-change', leaderId: this.leader, message: result.reason };
    const index = this.appendEntry(EntryType.ConfChange, encodeConf(result.conf));
    return { ok: true, index: index as RaftIndex, term: this.currentTerm as Term };
  }

  /** Starts a ReadIndex read; its ReadState (index + context) appears in a later Ready once leadership is confirmed by a quorum. */
  readIndex(context: number): ReadIndexResult {
    if (this.roleValue !== Role.Leader) return { ok: false, reason: 'not-leader', leaderId: this.leader };
    if (this.log.term(this.log.committed) !== this.currentTerm) return { ok: false, reason: 'not-ready', leaderId: this.leader };
    const read = { index: this.log.committed, context, seq: ++this.readSeq };
    if (this.conf.voters.length === 1 && this.isVoter(this.id)) {
      this.readStates.push({ index: read.index as RaftIndex, context });
      return { ok: true };
    }
    this.pendingReads.push(read);
    this.bcastHeartbeat(read.seq);
    return { ok: true };
  }

  transferLeadership(to: NodeId): boolean {
    if (this.roleValue !== Role.Leader || to === this.id || !this.isVoter(to)) return false;
    const pr = this.prs.get(to);
    if (pr === undefined) return false;
    this.leadTransferee = to;
    this.transferElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.send(emptyMessage(MessageType.TimeoutNow, this.id, to, this.currentTerm as Term));
    else this.sendAppend(to, true);
    return true;
  }

  /**
   * A follower restarted with its durable state lost (a wiped data directory). Raft assumes a node's log never
   * shrinks, so this leader would take each of its rejections at or below `match` as stale and never repair it.
   * Forget what we knew of it and probe from our last index (see Progress.resetForLostState). The host may call this
   * only when no message sent by the peer's previous incarnation can still arrive (that one may acknowledge entries
   * the new one does not hold). Returns false unless this node leads and `peer` is a member.
   */
  resetPeerProgress(peer: NodeId): boolean {
    if (this.roleValue !== Role.Leader || peer === this.id) return false;
    const pr = this.prs.get(peer);
    if (pr === undefined) return false;
    pr.resetForLostState(this.log.lastIndex() + 1);
    this.sendAppend(peer, true);
    return true;
  }

  /** Forces an immediate campaign (tests, bootstrap of a single node). */
  campaignNow(): void {
    if (this.roleValue !== Role.Leader && this.promotable()) this.campaign(this.preVote ? 'pre' : 'election', false);
  }

  /**
   * Log compaction: the host has taken a snapshot of its state machine at `index` (<= applied) and keeps its bytes
   * available through `snapshotData`. Returns the snapshot metadata the host must persist with the storage.
   */
  compact(index: number): SnapshotMeta | null {
    if (index <= this.log.snapshotIndex) return null;
    if (index > this.log.applied) throw new RangeError(`compact(${index}) beyond applied index ${this.log.applied}`);
    const t = this.log.term(index)!;
    const conf = this.confAt(index);
    this.log.compact(index);
    let keep = 0;
    while (keep + 1 < this.confHistory.length && this.confHistory[keep + 1]!.index <= index) keep++;
    this.confHistory = this.confHistory.slice(keep);
    this.confHistory[0] = { index, conf };
    return { index: index as RaftIndex, term: t as Term, conf };
  }

  private confAt(index: number): ConfState {
    let conf = this.confHistory[0]!.conf;
    for (const h of this.confHistory) if (h.index <= index) conf = h.conf;
    return conf;
  }

  // ---------------------------------------------------------------- ready / advance

  hasReady(): boolean {
    if (this.outstandingReady !== null) return false;
    return this.msgs.length > 0 || this.pendingSnapshot !== null || this.log.inProgressTo < this.log.lastIndex()
      || this.bcastOwed !== 0 || this.commitOwed !== 0 || this.applicableIndex() > this.log.applying || this.readStates.length > 0
      || this.prevHardState.term !== this.currentTerm || this.prevHardState.vote !== this.votedFor || this.prevHardState.commit !== this.log.committed
      || this.prevSoftState.leaderId !== this.leader || this.prevSoftState.role !== this.roleValue;
  }

  ready(): Ready {
    if (this.outstandingReady !== null) throw new Error('ready() called twice without advance()');
    this.flushOwedBroadcast();
    const hs = this.hardState();
    const ss = this.softState();
    const from = Math.max(this.log.applying + 1, this.log.firstIndex());
    const applicable = this.applicableIndex();
    const committedEntries = applicable >= from ? this.log.slice(from, applicable, Number.MAX_SAFE_INTEGER) : [];
    const rd: Ready = {
      softState: sameSoftState(this.prevSoftState, ss) ? null : ss,
      hardState: sameHardState(this.prevHardState, hs) ? null : hs,
      snapshot: this.pendingSnapshot,
      entries: this.log.takeUnpersisted(),
      committedEntries,
      messages: this.msgs,
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevHardState = hs;
    this.prevSoftState = ss;
    if (committedEntries.length > 0) this.log.applying = committedEntries[committedEntries.length - 1]!.index;
    this.outstandingReady = rd;
    return rd;
  }

  /**
   * Committed entries the host may apply: all of them, or with asynchronous storage writes only those durable here
   * (a follower learns a commit index that may cover entries of its own writes still in flight).
   */
  private applicableIndex(): number {
    return this.asyncStorageWrites ? Math.min(this.log.committed, this.log.persistedIndex()) : this.log.committed;
  }

  /**
   * The host has sent (or, for messages that need durability, queued) the messages of `rd` and applied its committed
   * entries / snapshot. Without asynchronous storage writes this also means rd's writes are durable.
   */
  advance(rd: Ready): void {
    if (this.outstandingReady !== rd) throw new Error('advance() with a Ready that is not the outstanding one');
    this.outstandingReady = null;
    if (rd.snapshot !== null) {
      const si = rd.snapshot.meta.index;
      this.log.applied = Math.max(this.log.applied, si);
      this.log.applying = Math.max(this.log.applying, si);
      if (this.pendingSnapshot === rd.snapshot) this.pendingSnapshot = null;
    }
    if (rd.committedEntries.length > 0) {
      this.log.applied = Math.max(this.log.applied, rd.committedEntries[rd.committedEntries.length - 1]!.index);
    }
    if (!this.asyncStorageWrites) this.persisted(rd);
  }

  /**
   * Asynchronous storage writes: the writes of `rd` (and of every Ready before it) are durable. Call in Ready order,
   * before or after advance(rd). Only now does a leader count these entries of its own toward a commit (DESIGN.md §3).
   * An entry truncated and replaced since rd was produced is not marked durable by it (its term no longer matches).
   */
  persisted(rd: Ready): void {
    if (rd.entries.length === 0) return;
    const last = rd.entries[rd.entries.length - 1]!;
    this.log.stableTo(last.index, last.term);
    if (this.roleValue === Role.Leader) {
      const self = this.prs.get(this.id);
      if (self !== undefined) self.maybeUpdate(this.log.persistedIndex());
      if (this.maybeCommit()) this.oweCommit();
    }
  }

  // ---------------------------------------------------------------- step

  step(m: Message): void {
    if (m.term > this.currentTerm) {
      const isVoteRequest = m.type === MessageType.Vote || m.type === MessageType.PreVote;
      if (isVoteRequest) {
        const force = m.context === 1;
        const inLease = this.checkQuorum && this.leader !== NO_NODE && this.electionElapsed < this.electionTicks;
        if (!force && inLease) return; // a live leader exists: ignore disruptive candidates
      }
      if (m.type === MessageType.PreVote) {
        // never change term for a pre-vote
      } else if (m.type === MessageType.PreVoteResponse && !m.reject) {
        // our pre-vote succeeded at term+1; the term changes when we campaign for real
      } else {
        const isFromLeader = m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.InstallSnapshot;
        this.becomeFollower(m.term, isFromLeader ? m.from : NO_NODE);
      }
    } else if (m.term < this.currentTerm) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Append || m.type === MessageType.Heartbeat)) {
        // tell a stale leader our term so it steps down (it may be partitioned away from everyone else)
        this.send(emptyMessage(MessageType.AppendResponse, this.id, m.from, this.currentTerm as Term));
      } else if (m.type === MessageType.PreVote) {
        const resp = emptyMessage(MessageType.PreVoteResponse, this.id, m.from, this.currentTerm as Term);
        resp.reject = true;
        this.send(resp);
      }
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.roleValue) {
      case Role.Follower: this.stepFollower(m); break;
      case Role.PreCandidate:
      case Role.Candidate: this.stepCandidate(m); break;
      case Role.Leader: this.stepLeader(m); break;
    }
  }

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === MessageType.PreVote;
    const canVote = this.votedFor === m.from
      || (this.votedFor === NO_NODE && this.leader === NO_NODE)
      || (isPre && m.term > this.currentTerm);
    const respType = isPre ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send(emptyMessage(respType, this.id, m.from, m.term));
      if (!isPre) {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
    } else {
      const resp = emptyMessage(respType, this.id, m.from, this.currentTerm as Term);
      resp.reject = true;
      this.send(resp);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.electionElapsed = 0; this.leader = m.from; this.handleAppend(m); break;
      case MessageType.Heartbeat:
        this.electionElapsed = 0; this.leader = m.from; this.handleHeartbeat(m); break;
      case MessageType.InstallSnapshot:
        this.electionElapsed = 0; this.leader = m.from; this.handleSnapshot(m); break;
      case MessageType.TimeoutNow:
        if (this.promotable()) this.campaign('election', true);
        break;
      default: break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.becomeFollower(m.term, m.from); this.handleAppend(m); break;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from); this.handleHeartbeat(m); break;
      case MessageType.InstallSnapshot:
        this.becomeFollower(m.term, m.from); this.handleSnapshot(m); break;
      case MessageType.VoteResponse:
      case MessageType.PreVoteResponse: {
        const expected = this.roleValue === Role.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        if (m.type !== expected) break;
        if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
        const outcome = this.tally();
        if (outcome === 'won') {
          if (this.roleValue === Role.PreCandidate) this.campaign('election', false);
          else this.becomeLeader();
        } else if (outcome === 'lost') {
          this.becomeFollower(this.currentTerm, NO_NODE);
        }
        break;
      }
      default: break;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case MessageType.AppendResponse: this.handleAppendResponse(m, pr); break;
      case MessageType.HeartbeatResponse: this.handleHeartbeatResponse(m, pr); break;
      default: break;
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: Message): void {
    const resp = emptyMessage(MessageType.AppendResponse, this.id, m.from, this.currentTerm as Term);
    if (m.index < this.log.committed) {
      resp.index = this.log.committed as RaftIndex;
      this.send(resp);
      return;
    }
    const result = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (result !== null) {
      if (result.changedFrom > 0) this.onLogChanged(result.changedFrom);
      resp.index = result.lastNew as RaftIndex;
    } else {
      const hintIndex = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
      resp.reject = true;
      resp.index = m.index;
      resp.rejectHint = hintIndex as RaftIndex;
      resp.logTerm = (this.log.term(hintIndex) ?? 0) as Term;
    }
    this.send(resp);
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    const resp = emptyMessage(MessageType.HeartbeatResponse, this.id, m.from, this.currentTerm as Term);
    resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    const resp = emptyMessage(MessageType.AppendResponse, this.id, m.from, this.currentTerm as Term);
    if (s === null) return;
    const si = s.meta.index;
    if (si <= this.log.committed) {
      resp.index = this.log.committed as RaftIndex;
    } else if (this.log.matchTerm(si, s.meta.term)) {
      // we already hold the snapshot's last entry: just learn that it is committed
      this.log.commitTo(si);
      resp.index = this.log.committed as RaftIndex;
    } else {
      this.log.restore(si, s.meta.term);
      this.confHistory = [{ index: si, conf: s.meta.conf }];
      this.pendingSnapshot = s;
      resp.index = si;
    }
    this.send(resp);
  }

  // ---------------------------------------------------------------- leader handlers

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.answeredSinceHeartbeat = true;
    if (m.reject) {
      let hint = m.rejectHint as number;
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(hint, m.logTerm);
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === ProgressState.Probe) pr.becomeReplicate();
    else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) { pr.becomeProbe(); pr.becomeReplicate(); }
    else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(m.index);

    // an acknowledgement at or below the commit index cannot move it (the quorum value only rises with a match above
    // it): with three voters the second ack of every entry is one of these, so skip the majority count for it
    if (pr.match > this.log.committed && this.maybeCommit()) this.oweCommit();
    else if (wasPaused) this.sendAppend(m.from, true);
    while (this.sendAppend(m.from, false)) { /* pipeline while the window allows */ }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send(emptyMessage(MessageType.TimeoutNow, this.id, m.from, this.currentTerm as Term));
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context > 0 && m.context > pr.readAck) {
      pr.readAck = m.context;
      this.releaseReads();
    }
  }

  private releaseReads(): void {
    let released = -1;
    for (let i = this.pendingReads.length - 1; i >= 0; i--) {
      const seq = this.pendingReads[i]!.seq;
      const acks: number[] = [];
      for (const v of this.conf.voters) acks.push(v === this.id ? Number.MAX_SAFE_INTEGER : (this.prs.get(v)?.readAck ?? 0));
      if (quorumValue(acks) >= seq) { released = i; break; }
    }
    if (released < 0) return;
    for (const r of this.pendingReads.splice(0, released + 1)) this.readStates.push({ index: r.index as RaftIndex, context: r.context });
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const v of this.conf.voters) if (v === this.id || this.prs.get(v)?.recentActive === true) active++;
    return active > this.conf.voters.length / 2;
  }

  private maybeCommit(): boolean {
    const voters = this.conf.voters;
    const matches = this.matchScratch;
    matches.length = voters.length;
    for (let i = 0; i < voters.length; i++) matches[i] = this.prs.get(voters[i]!)?.match ?? 0;
    const mci = quorumValue(matches);
    if (mci <= this.log.committed) return false;
    if (!this.unsafeCommitPreviousTerm && this.log.term(mci) !== this.currentTerm) return false;
    this.log.commitTo(mci);
    // a leader removed from the configuration steps down once its removal is committed
    const latestConfIndex = this.confHistory[this.confHistory.length - 1]!.index;
    if (!this.isVoter(this.id) && this.log.committed >= latestConfIndex) {
      this.bcastAppend();
      this.becomeFollower(this.currentTerm, NO_NODE);
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- sending

  private send(m: Message): void { this.msgs.push(m); }

  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    const ents = this.log.slice(pr.next, this.log.lastIndex(), this.maxMsgBytes);
    if (ents.length === 0 && !sendIfEmpty) return false;
    const m = emptyMessage(MessageType.Append, this.id, to, this.currentTerm as Term);
    m.index = prevIndex as RaftIndex;
    m.logTerm = prevTerm as Term;
    m.entries = ents;
    m.commit = this.log.committed as RaftIndex;
    pr.sentCommit = Math.max(pr.sentCommit, m.commit);
    pr.appendedSinceHeartbeat = true;
    this.send(m);
    if (pr.state === ProgressState.Replicate) {
      if (ents.length > 0) {
        const last = ents[ents.length - 1]!.index;
        pr.next = last + 1;
        pr.inflights.add(last);
      }
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    const meta: SnapshotMeta = { index: this.log.snapshotIndex as RaftIndex, term: this.log.snapshotTerm as Term, conf: this.confHistory[0]!.conf };
    const data = this.snapshotData(meta);
    if (data === null) return false;
    const m = emptyMessage(MessageType.InstallSnapshot, this.id, to, this.currentTerm as Term);
    m.snapshot = { meta, data };
    this.send(m);
    pr.becomeSnapshot(meta.index);
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id, true);
  }

  /** Defers a broadcast to ready() (see bcastOwed). */
  private owe(level: 1 | 2): void { if (level > this.bcastOwed) this.bcastOwed = level; }

  /** The commit index advanced: followers must learn it (see deferCommitOnlyAppends). */
  private oweCommit(): void {
    if (!this.deferCommitOnlyAppends) this.owe(2);
    else if (this.commitOwed === 0) this.commitOwed = 1;
  }

  private flushOwedBroadcast(): void {
    let level = this.bcastOwed;
    this.bcastOwed = 0;
    const commitOwed = this.commitOwed;
    // owed once already: empty Appends carry it now; owed just now: only Appends with entries carry it, ask again
    if (commitOwed === 2) level = 2;
    this.commitOwed = commitOwed === 1 ? 2 : 0;
    if (level === 0 || this.roleValue !== Role.Leader) return;
    // a follower already sent an Append with the current commit index needs no empty one (the commit index only grows,
    // so such an Append was sent since the commit reached this value)
    for (const [id, pr] of this.prs) if (id !== this.id) this.sendAppend(id, level === 2 && pr.sentCommit < this.log.committed);
  }

  private bcastHeartbeat(readSeq: number): void {
    const skipBusy = this.skipRedundantHeartbeats && readSeq === 0 && this.pendingReads.length === 0;
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      const busy = pr.appendedSinceHeartbeat && pr.answeredSinceHeartbeat;
      pr.appendedSinceHeartbeat = false;
      pr.answeredSinceHeartbeat = false;
      if (skipBusy && busy && !pr.isPaused()) continue;
      const m = emptyMessage(MessageType.Heartbeat, this.id, id, this.currentTerm as Term);
      m.commit = Math.min(pr.match, this.log.committed) as RaftIndex;
      m.context = readSeq > 0 ? readSeq : this.pendingReads.length > 0 ? this.readSeq : 0;
      this.send(m);
    }
  }

  // ---------------------------------------------------------------- role changes

  private campaign(kind: 'pre' | 'election', force: boolean): void {
    let voteTerm: number;
    let type: MessageType;
    if (kind === 'pre') {
      this.reset(this.currentTerm);
      this.roleValue = Role.PreCandidate;
      voteTerm = this.currentTerm + 1;
      type = MessageType.PreVote;
    } else {
      this.reset(this.currentTerm + 1);
      this.votedFor = this.id;
      this.roleValue = Role.Candidate;
      voteTerm = this.currentTerm;
      type = MessageType.Vote;
    }
    this.votes.set(this.id, true);
    if (this.tally() === 'won') {
      if (kind === 'pre') this.campaign('election', force);
      else this.becomeLeader();
      return;
    }
    for (const v of this.conf.voters) {
      if (v === this.id) continue;
      const m = emptyMessage(type, this.id, v, voteTerm as Term);
      m.index = this.log.lastIndex() as RaftIndex;
      m.logTerm = this.log.lastTerm() as Term;
      m.context = force ? 1 : 0;
      this.send(m);
    }
  }

  private tally(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const v of this.conf.voters) {
      const vote = this.votes.get(v);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    const majority = Math.floor(this.conf.voters.length / 2) + 1;
    if (granted >= majority) return 'won';
    if (rejected > this.conf.voters.length - majority) return 'lost';
    return 'pending';
  }

  private reset(newTerm: number): void {
    if (newTerm !== this.currentTerm) {
      this.currentTerm = newTerm;
      this.votedFor = NO_NODE;
    }
    this.leader = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.votes.clear();
    this.leadTransferee = NO_NODE;
    this.pendingReads = [];
    this.prs.clear();
    this.commitOwed = 0;
  }

  private becomeFollower(newTerm: number, leader: NodeId): void {
    this.reset(newTerm);
    this.roleValue = Role.Follower;
    this.leader = leader;
  }

  private becomeLeader(): void {
    this.roleValue = Role.Leader;
    this.leader = this.id;
    this.rebuildProgress();
    // the no-op entry of the new term: committing it commits everything before it (Figure 8).
    // The deliberately broken variant skips it, as it believes it can commit old entries by counting replicas.
    if (!this.unsafeCommitPreviousTerm) this.appendEntry(EntryType.Normal, new Uint8Array(0));
    else this.bcastAppend();
  }

  private rebuildProgress(): void {
    const next = this.log.lastIndex() + 1;
    const members = [...this.conf.voters, ...this.conf.learners];
    for (const id of [...this.prs.keys()]) if (!members.includes(id) && id !== this.id) this.prs.delete(id);
    for (const id of members) {
      if (this.prs.has(id)) continue;
      const pr = new Progress(next, this.maxInflight);
      if (id === this.id) { pr.match = this.log.unstableFrom - 1; pr.becomeReplicate(); }
      pr.recentActive = true;
      this.prs.set(id, pr);
    }
    if (!this.prs.has(this.id)) {
      const self = new Progress(next, this.maxInflight);
      self.match = this.log.unstableFrom - 1;
      self.becomeReplicate();
      this.prs.set(this.id, self);
    }
  }

  private appendEntry(type: EntryType, data: Uint8Array): number {
    const index = this.log.lastIndex() + 1;
    this.log.append([{ index: index as RaftIndex, term: this.currentTerm as Term, type, data }]);
    if (type === EntryType.ConfChange) this.onLogChanged(index);
    this.owe(type === EntryType.ConfChange ? 2 : 1);
    return index;
  }

  private abortTransfer(): void { this.leadTransferee = NO_NODE; this.transferElapsed = 0; }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(this.random() * this.electionTicks);
  }

  /** The log changed from `from` on (truncated and/or appended): recompute the configuration. */
  private onLogChanged(from: number): void {
    const before = this.conf;
    while (this.confHistory.length > 1 && this.confHistory[this.confHistory.length - 1]!.index >= from) this.confHistory.pop();
    this.scanConfEntries(from);
    if (this.conf !== before && this.roleValue === Role.Leader) {
      this.rebuildProgress();
      if (this.maybeCommit()) this.bcastAppend();
    }
  }

  private scanConfEntries(from: number): void {
    const last = this.log.lastIndex();
    for (let i = Math.max(from, this.log.firstIndex()); i <= last; i++) {
      const e = this.log.entry(i)!;
      if (e.type === EntryType.ConfChange) this.confHistory.push({ index: i, conf: decodeConf(e.data) });
    }
  }
}

function sameHardState(a: HardState, b: HardState): boolean { return a.term === b.term && a.vote === b.vote && a.commit === b.commit; }
function sameSoftState(a: SoftState, b: SoftState): boolean { return a.leaderId === b.leaderId && a.role === b.role; }

/** Small seeded PRNG (mulberry32) for election jitter. */
export function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type { Entry };
