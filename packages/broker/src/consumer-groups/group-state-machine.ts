// The classic consumer-group state machine (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead),
// following Apache Kafka's GroupCoordinator semantics. Pure: no timers, sockets or files. Each input event
// (join, sync, heartbeat, leave, timer expiry, offset-commit validation) mutates the group and returns the
// effects the host must carry out, in order: answers to parked JoinGroup/SyncGroup requests, timers to arm or
// cancel, and group records to persist (a persist effect must be durable before any answer after it is sent).
import { GroupErrorCode } from './error-codes.js';
import { parseSubscribedTopics } from './consumer-protocol.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** A member id handed out by the coordinator (`<clientId>-<uuid>`). */
export type MemberId = string & { readonly __brand: 'MemberId' };
export const memberId = (id: string): MemberId => id as MemberId;

/** Identifies a parked JoinGroup or SyncGroup request; the host maps it back to the waiting caller. */
export type RequestToken = number & { readonly __brand: 'RequestToken' };
export const requestToken = (n: number): RequestToken => n as RequestToken;

/** Timers of one group: the join phase, the pending-sync deadline, and each member's session. */
export type GroupTimer = 'join' | 'sync' | `session:${string}`;
const sessionTimer = (id: string): GroupTimer => `session:${id}`;

export interface ProtocolOffer {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface GroupMember {
  memberId: MemberId;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolOffer[];
  assignment: Buffer;
  awaitingJoin: RequestToken | null;
  awaitingSync: RequestToken | null;
  /** Evicted when the clock passes this without a heartbeat (unless parked in a join, see `isNew`). */
  sessionDeadlineMs: number;
  /** Joined but never completed a join: a parked join of a new member times out after NEW_MEMBER_JOIN_TIMEOUT_MS. */
  isNew: boolean;
}

export interface JoinResultMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  members: JoinResultMember[];
  skipAssignment: boolean;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

/** What the coordinator persists of a group (enough to resume a stable generation after a restart). */
export interface PersistedGroup {
  groupId: string;
  protocolType: string | null;
  protocolName: string | null;
  generationId: number;
  leaderId: string | null;
  stateTimestampMs: number;
  members: PersistedMember[];
}

export interface PersistedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** The member's metadata for the selected protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

export type GroupEffect =
  | { kind: 'completeJoin'; token: RequestToken; result: JoinResult }
  | { kind: 'completeSync'; token: RequestToken; result: SyncResult }
  | { kind: 'armTimer'; timer: GroupTimer; deadlineMs: number }
  | { kind: 'cancelTimer'; timer: GroupTimer }
  | { kind: 'persistGroup'; record: PersistedGroup };

export interface JoinInput {
  token: RequestToken;
  /** '' for a member joining without an id. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolOffer[];
  /** JoinGroup v4+: a member without an id first gets MEMBER_ID_REQUIRED with its new id. */
  requireKnownMemberId: boolean;
  /**
   * JoinGroup v9+ (KIP-814): a static leader rejoining a stable group is told it is the leader, with the member
   * list and skipAssignment, so it can watch metadata without reassigning. Older versions get the old leader id.
   */
  supportsSkipAssignment?: boolean;
  /** The id to hand out if this join creates a member (the host generates it). */
  newMemberId: MemberId;
}

export interface SyncInput {
  token: RequestToken;
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  assignments: ReadonlyMap<string, Buffer>;
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
}

export interface OffsetCommitIdentity extends MemberIdentity {
  generationId: number;
}

export interface GroupConfig {
  initialRebalanceDelayMs: number;
}

/** Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a parked join of a brand-new member expires after this. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

const EMPTY = Buffer.alloc(0);

type JoinPhase = { kind: 'initial'; remainingMs: number; newMemberAdded: boolean } | { kind: 'rebalance' };

export interface Outcome {
  errorCode: number;
  effects: GroupEffect[];
}

export class ConsumerGroupStateMachine {
  readonly groupId: string;
  private readonly config: GroupConfig;
  private currentState: GroupState = 'Empty';
  private stateSinceMs: number;
  private generation = 0;
  private groupProtocolType: string | null = null;
  private groupProtocolName: string | null = null;
  private leader: MemberId | null = null;
  private readonly memberById = new Map<MemberId, GroupMember>();
  private readonly staticMembers = new Map<string, MemberId>();
  /** Members given an id with MEMBER_ID_REQUIRED that have not joined with it yet, with their deadline. */
  private readonly pendingMembers = new Map<MemberId, number>();
  private readonly pendingSyncMembers = new Set<MemberId>();
  private joinPhase: JoinPhase | null = null;
  /** Topics the group's members subscribe to (consumer protocol), null when unknown. */
  private subscribed: ReadonlySet<string> | null = null;
  private out: GroupEffect[] = [];
  private now = 0;

  constructor(groupId: string, config: GroupConfig, nowMs: number) {
    this.groupId = groupId;
    this.config = config;
    this.stateSinceMs = nowMs;
  }

  /** Rebuilds a group from its persisted record: Stable with its members if it had any, else Empty. */
  static restore(record: PersistedGroup, config: GroupConfig, nowMs: number): { group: ConsumerGroupStateMachine; effects: GroupEffect[] } {
    const group = new ConsumerGroupStateMachine(record.groupId, config, record.stateTimestampMs);
    group.generation = record.generationId;
    group.groupProtocolType = record.protocolType;
    group.groupProtocolName = record.protocolName;
    const effects: GroupEffect[] = [];
    if (record.members.length > 0 && record.protocolName !== null && record.protocolType !== null) {
      for (const stored of record.members) {
        const member: GroupMember = {
          memberId: memberId(stored.memberId),
          groupInstanceId: stored.groupInstanceId,
          clientId: stored.clientId,
          clientHost: stored.clientHost,
          sessionTimeoutMs: stored.sessionTimeoutMs,
          rebalanceTimeoutMs: stored.rebalanceTimeoutMs,
          protocolType: record.protocolType,
          protocols: [{ name: record.protocolName, metadata: stored.subscription }],
          assignment: stored.assignment,
          awaitingJoin: null,
          awaitingSync: null,
          sessionDeadlineMs: nowMs + stored.sessionTimeoutMs,
          isNew: false,
        };
        group.memberById.set(member.memberId, member);
        if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, member.memberId);
        effects.push({ kind: 'armTimer', timer: sessionTimer(member.memberId), deadlineMs: member.sessionDeadlineMs });
      }
      const storedLeader = record.leaderId === null ? undefined : group.memberById.get(memberId(record.leaderId));
      group.leader = storedLeader?.memberId ?? [...group.memberById.keys()][0] ?? null;
      group.currentState = 'Stable';
      group.stateSinceMs = nowMs;
      group.subscribed = group.computeSubscribedTopics();
    }
    return { group, effects };
  }

  // ---- read-only views -------------------------------------------------------------------------------

  get state(): GroupState {
    return this.currentState;
  }
  get stateTimestampMs(): number {
    return this.stateSinceMs;
  }
  get generationId(): number {
    return this.generation;
  }
  get protocolType(): string | null {
    return this.groupProtocolType;
  }
  get protocolName(): string | null {
    return this.groupProtocolName;
  }
  get leaderId(): MemberId | null {
    return this.leader;
  }
  get members(): ReadonlyMap<MemberId, Readonly<GroupMember>> {
    return this.memberById;
  }
  get memberCount(): number {
    return this.memberById.size;
  }
  get pendingMemberCount(): number {
    return this.pendingMembers.size;
  }
  /** Topics the members subscribe to; null when not known (then every topic counts as subscribed). */
  get subscribedTopics(): ReadonlySet<string> | null {
    return this.subscribed;
  }
  isSubscribedTo(topic: string): boolean {
    return this.subscribed === null || this.subscribed.has(topic);
  }

  // ---- events ------------------------------------------------------------------------------------------

  join(input: JoinInput, nowMs: number): GroupEffect[] {
    this.begin(nowMs);
    const protocolNames = input.protocols.map((p) => p.name);
    if (this.currentState === 'Dead') {
      this.answerJoinError(input.token, input.memberId, GroupErrorCode.COORDINATOR_NOT_AVAILABLE);
    } else if (!this.supportsProtocols(input.protocolType, protocolNames)) {
      this.answerJoinError(input.token, input.memberId, GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    } else if (input.memberId === '') {
      this.joinUnknownMember(input);
    } else {
      this.joinKnownMember(input);
    }
    if (this.currentState === 'PreparingRebalance') this.tryCompleteJoin();
    return this.finish();
  }

  sync(input: SyncInput, nowMs: number): GroupEffect[] {
    this.begin(nowMs);
    const error = this.validateSync(input);
    if (error !== GroupErrorCode.NONE) {
      this.answerSyncError(input.token, error);
      return this.finish();
    }
    const member = this.memberById.get(memberId(input.memberId));
    assert(member !== undefined, 'validated member exists');
    if (this.currentState === 'PreparingRebalance') {
      this.answerSyncError(input.token, GroupErrorCode.REBALANCE_IN_PROGRESS);
      return this.finish();
    }
    this.refreshSession(member);
    this.removePendingSync(member.memberId);
    if (this.currentState === 'Stable') {
      this.out.push({ kind: 'completeSync', token: input.token, result: this.syncSuccess(member.assignment) });
      return this.finish();
    }
    // CompletingRebalance: park the request until the leader's assignment arrives.
    if (member.awaitingSync !== null) this.answerSyncError(member.awaitingSync, GroupErrorCode.REBALANCE_IN_PROGRESS);
    member.awaitingSync = input.token;
    if (member.memberId === this.leader) {
      for (const m of this.memberById.values()) m.assignment = input.assignments.get(m.memberId) ?? EMPTY;
      this.out.push({ kind: 'persistGroup', record: this.toRecord() });
      for (const m of this.memberById.values()) {
        if (m.awaitingSync !== null) {
          this.out.push({ kind: 'completeSync', token: m.awaitingSync, result: this.syncSuccess(m.assignment) });
          m.awaitingSync = null;
        }
      }
      this.transition('Stable');
    }
    return this.finish();
  }

  heartbeat(identity: OffsetCommitIdentity, nowMs: number): Outcome {
    this.begin(nowMs);
    let errorCode: number = GroupErrorCode.NONE;
    if (this.currentState === 'Dead') errorCode = GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    else {
      errorCode = this.validateCurrentMember(identity.memberId, identity.groupInstanceId);
      if (errorCode === GroupErrorCode.NONE && identity.generationId !== this.generation) errorCode = GroupErrorCode.ILLEGAL_GENERATION;
      if (errorCode === GroupErrorCode.NONE) {
        const member = this.memberById.get(memberId(identity.memberId));
        assert(member !== undefined, 'validated member exists');
        if (this.currentState === 'Empty') errorCode = GroupErrorCode.UNKNOWN_MEMBER_ID;
        else {
          this.refreshSession(member);
          if (this.currentState === 'PreparingRebalance') errorCode = GroupErrorCode.REBALANCE_IN_PROGRESS;
        }
      }
    }
    return { errorCode, effects: this.finish() };
  }

  /** LeaveGroup for one or more members (v3+ batches them); one error code per member, in order. */
  leave(leaving: readonly MemberIdentity[], nowMs: number): { errorCodes: number[]; effects: GroupEffect[] } {
    this.begin(nowMs);
    const errorCodes: number[] = [];
    for (const identity of leaving) {
      if (this.currentState === 'Dead') {
        errorCodes.push(GroupErrorCode.COORDINATOR_NOT_AVAILABLE);
        continue;
      }
      let id = identity.memberId;
      if (id === '' && identity.groupInstanceId !== null) {
        const current = this.staticMembers.get(identity.groupInstanceId);
        if (current === undefined) {
          errorCodes.push(GroupErrorCode.UNKNOWN_MEMBER_ID);
          continue;
        }
        id = current;
      }
      if (this.pendingMembers.has(memberId(id))) {
        this.pendingMembers.delete(memberId(id));
        this.out.push({ kind: 'cancelTimer', timer: sessionTimer(id) });
        if (this.currentState === 'PreparingRebalance') this.tryCompleteJoin();
        errorCodes.push(GroupErrorCode.NONE);
        continue;
      }
      const error = this.validateCurrentMember(id, identity.groupInstanceId);
      if (error !== GroupErrorCode.NONE) {
        errorCodes.push(error);
        continue;
      }
      const member = this.memberById.get(memberId(id));
      assert(member !== undefined, 'validated member exists');
      this.removeMemberAndUpdateGroup(member);
      errorCodes.push(GroupErrorCode.NONE);
    }
    return { errorCodes, effects: this.finish() };
  }

  /**
   * May this commit be accepted? Members commit with their generation; simple consumers (generation -1,
   * no member id) only while the group is Empty (not using group management). A valid member's commit counts
   * as a heartbeat.
   */
  validateOffsetCommit(identity: OffsetCommitIdentity, nowMs: number): Outcome {
    this.begin(nowMs);
    let errorCode: number = GroupErrorCode.NONE;
    if (this.currentState === 'Dead') errorCode = GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    else if (identity.generationId >= 0 || identity.memberId !== '' || identity.groupInstanceId !== null) {
      errorCode = this.validateCurrentMember(identity.memberId, identity.groupInstanceId);
      if (errorCode === GroupErrorCode.NONE && identity.generationId !== this.generation) errorCode = GroupErrorCode.ILLEGAL_GENERATION;
      if (errorCode === GroupErrorCode.NONE) {
        if (this.currentState === 'CompletingRebalance') errorCode = GroupErrorCode.REBALANCE_IN_PROGRESS;
        else {
          const member = this.memberById.get(memberId(identity.memberId));
          if (member !== undefined) this.refreshSession(member);
        }
      }
    } else if (this.currentState !== 'Empty') {
      errorCode = GroupErrorCode.UNKNOWN_MEMBER_ID;
    }
    return { errorCode, effects: this.finish() };
  }

  timerExpired(timer: GroupTimer, nowMs: number): GroupEffect[] {
    this.begin(nowMs);
    if (timer === 'join') this.onJoinTimer();
    else if (timer === 'sync') this.onSyncTimer();
    else this.onSessionTimer(memberId(timer.slice('session:'.length)));
    return this.finish();
  }

  /** DeleteGroups / retention: only an Empty group may die. Returns false if it is not Empty. */
  markDead(nowMs: number): boolean {
    if (this.currentState !== 'Empty' && this.currentState !== 'Dead') return false;
    this.now = nowMs;
    this.transition('Dead');
    return true;
  }

  /** The summary DescribeGroups reports: member metadata and assignments only when Stable. */
  describe(): { state: GroupState; protocolType: string; protocolData: string; members: DescribedMember[] } {
    const stable = this.currentState === 'Stable';
    const members = [...this.memberById.values()].map((m) => ({
      memberId: m.memberId as string,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: stable ? this.metadataFor(m) : EMPTY,
      assignment: stable ? m.assignment : EMPTY,
    }));
    return {
      state: this.currentState,
      protocolType: this.groupProtocolType ?? '',
      protocolData: stable ? (this.groupProtocolName ?? '') : '',
      members,
    };
  }

  // ---- join internals ------------------------------------------------------------------------------------

  private joinUnknownMember(input: JoinInput): void {
    const newId = input.newMemberId;
    if (input.groupInstanceId !== null) {
      this.joinStaticMember(input, newId, input.groupInstanceId);
    } else if (input.requireKnownMemberId) {
      const deadlineMs = this.now + input.sessionTimeoutMs;
      this.pendingMembers.set(newId, deadlineMs);
      this.out.push({ kind: 'armTimer', timer: sessionTimer(newId), deadlineMs });
      this.answerJoinError(input.token, newId, GroupErrorCode.MEMBER_ID_REQUIRED);
    } else {
      this.addMemberAndRebalance(input, newId);
    }
  }

  private joinKnownMember(input: JoinInput): void {
    const id = memberId(input.memberId);
    if (this.pendingMembers.has(id)) {
      this.pendingMembers.delete(id);
      this.addMemberAndRebalance(input, id);
      return;
    }
    const error = this.validateCurrentMember(input.memberId, input.groupInstanceId);
    if (error !== GroupErrorCode.NONE) {
      this.answerJoinError(input.token, input.memberId, error);
      return;
    }
    const member = this.memberById.get(id);
    assert(member !== undefined, 'validated member exists');
    switch (this.currentState) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(member, input);
        return;
      case 'CompletingRebalance':
        // The member lost its JoinGroup response: answer again unless its protocols changed.
        if (matches(member, input.protocols)) this.answerCurrentGeneration(input.token, member);
        else this.updateMemberAndRebalance(member, input);
        return;
      case 'Stable':
        // The leader rejoining, or any member changing its subscription, starts a rebalance.
        if (member.memberId === this.leader || !matches(member, input.protocols)) this.updateMemberAndRebalance(member, input);
        else this.answerCurrentGeneration(input.token, member);
        return;
      case 'Empty':
      case 'Dead':
        this.answerJoinError(input.token, input.memberId, GroupErrorCode.UNKNOWN_MEMBER_ID);
        return;
    }
  }

  private joinStaticMember(input: JoinInput, newId: MemberId, groupInstanceId: string): void {
    const oldId = this.staticMembers.get(groupInstanceId);
    if (oldId === undefined) {
      this.addMemberAndRebalance(input, newId);
      return;
    }
    // A known static member restarted: it takes over its old member's place under a fresh id, fencing the old id.
    const member = this.memberById.get(oldId);
    assert(member !== undefined, 'static member is a member');
    const previousLeader = this.leader;
    if (member.awaitingJoin !== null) this.answerJoinError(member.awaitingJoin, oldId, GroupErrorCode.FENCED_INSTANCE_ID);
    if (member.awaitingSync !== null) this.answerSyncError(member.awaitingSync, GroupErrorCode.FENCED_INSTANCE_ID);
    member.awaitingJoin = null;
    member.awaitingSync = null;
    this.memberById.delete(oldId);
    this.out.push({ kind: 'cancelTimer', timer: sessionTimer(oldId) });
    member.memberId = newId;
    this.memberById.set(newId, member);
    this.staticMembers.set(groupInstanceId, newId);
    if (this.leader === oldId) this.leader = newId;
    if (this.pendingSyncMembers.delete(oldId)) this.pendingSyncMembers.add(newId);
    this.updateMember(member, input);
    member.sessionDeadlineMs = this.now + member.sessionTimeoutMs;
    this.out.push({ kind: 'armTimer', timer: sessionTimer(newId), deadlineMs: member.sessionDeadlineMs });

    switch (this.currentState) {
      case 'Stable': {
        const nextProtocol = this.selectProtocol();
        if (nextProtocol === this.groupProtocolName) {
          this.out.push({ kind: 'persistGroup', record: this.toRecord() });
          const token = member.awaitingJoin;
          assert(token !== null, 'static rejoin parked');
          member.awaitingJoin = null;
          // Without skipAssignment the old leader id is returned, so a rejoining leader does not assign again
          // in a stable group (its new assignment would not reach the others).
          const skip = input.supportsSkipAssignment === true;
          const isLeader = this.leader === newId;
          this.out.push({
            kind: 'completeJoin',
            token,
            result: {
              errorCode: GroupErrorCode.NONE,
              generationId: this.generation,
              protocolType: this.groupProtocolType,
              protocolName: this.groupProtocolName,
              leaderId: skip ? (this.leader ?? '') : (previousLeader ?? ''),
              memberId: newId,
              members: skip && isLeader ? this.currentMemberMetadata() : [],
              skipAssignment: skip && isLeader,
            },
          });
        } else {
          this.prepareRebalance();
        }
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning to the old id: start over.
        this.prepareRebalance();
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        assert(false, `static member present in ${this.currentState} group`);
    }
  }

  private addMemberAndRebalance(input: JoinInput, id: MemberId): void {
    const member: GroupMember = {
      memberId: id,
      groupInstanceId: input.groupInstanceId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      sessionTimeoutMs: input.sessionTimeoutMs,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs,
      protocolType: input.protocolType,
      protocols: input.protocols,
      assignment: EMPTY,
      awaitingJoin: input.token,
      awaitingSync: null,
      sessionDeadlineMs: this.now + NEW_MEMBER_JOIN_TIMEOUT_MS,
      isNew: true,
    };
    if (this.currentState === 'PreparingRebalance' && this.joinPhase?.kind === 'initial') this.joinPhase.newMemberAdded = true;
    if (this.memberById.size === 0) this.groupProtocolType = input.protocolType;
    this.memberById.set(id, member);
    if (this.leader === null) this.leader = id;
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, id);
    this.out.push({ kind: 'armTimer', timer: sessionTimer(id), deadlineMs: member.sessionDeadlineMs });
    this.maybePrepareRebalance();
  }

  private updateMemberAndRebalance(member: GroupMember, input: JoinInput): void {
    this.updateMember(member, input);
    this.maybePrepareRebalance();
  }

  private updateMember(member: GroupMember, input: JoinInput): void {
    member.protocols = input.protocols;
    member.protocolType = input.protocolType;
    member.sessionTimeoutMs = input.sessionTimeoutMs;
    member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    if (member.awaitingJoin !== null) this.answerJoinError(member.awaitingJoin, member.memberId, GroupErrorCode.REBALANCE_IN_PROGRESS);
    member.awaitingJoin = input.token;
  }

  private maybePrepareRebalance(): void {
    if (this.currentState === 'Stable' || this.currentState === 'CompletingRebalance' || this.currentState === 'Empty') {
      this.prepareRebalance();
    }
  }

  private prepareRebalance(): void {
    if (this.currentState === 'CompletingRebalance') {
      // Members waiting for the leader's assignment learn that a new rebalance began.
      for (const m of this.memberById.values()) {
        m.assignment = EMPTY;
        if (m.awaitingSync !== null) {
          this.answerSyncError(m.awaitingSync, GroupErrorCode.REBALANCE_IN_PROGRESS);
          m.awaitingSync = null;
        }
      }
    }
    this.clearPendingSync();
    if (this.currentState === 'Empty') {
      const delayMs = this.config.initialRebalanceDelayMs;
      this.joinPhase = { kind: 'initial', remainingMs: Math.max(this.rebalanceTimeoutMs() - delayMs, 0), newMemberAdded: false };
      this.out.push({ kind: 'armTimer', timer: 'join', deadlineMs: this.now + delayMs });
    } else {
      this.joinPhase = { kind: 'rebalance' };
      this.out.push({ kind: 'armTimer', timer: 'join', deadlineMs: this.now + this.rebalanceTimeoutMs() });
    }
    this.transition('PreparingRebalance');
    this.tryCompleteJoin();
  }

  /** A (non-initial) join phase completes as soon as every known member has rejoined and no new member is pending. */
  private tryCompleteJoin(): void {
    if (this.currentState !== 'PreparingRebalance' || this.joinPhase?.kind !== 'rebalance') return;
    if (this.pendingMembers.size > 0) return;
    for (const m of this.memberById.values()) if (m.awaitingJoin === null) return;
    this.completeJoin();
  }

  private onJoinTimer(): void {
    if (this.currentState !== 'PreparingRebalance' || this.joinPhase === null) return;
    const phase = this.joinPhase;
    if (phase.kind === 'initial' && phase.newMemberAdded && phase.remainingMs > 0) {
      // Members are still arriving: wait another delay (bounded by the rebalance timeout).
      const delayMs = Math.min(this.config.initialRebalanceDelayMs, phase.remainingMs);
      this.joinPhase = { kind: 'initial', newMemberAdded: false, remainingMs: Math.max(phase.remainingMs - this.config.initialRebalanceDelayMs, 0) };
      this.out.push({ kind: 'armTimer', timer: 'join', deadlineMs: this.now + delayMs });
      return;
    }
    this.completeJoin();
  }

  private completeJoin(): void {
    this.joinPhase = null;
    this.out.push({ kind: 'cancelTimer', timer: 'join' });
    // Dynamic members that did not rejoin in time are gone; static ones keep their place.
    for (const m of [...this.memberById.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) this.removeMember(m);
    }
    if (!this.electJoinedLeader() && this.memberById.size > 0) {
      // Only static members that have not rejoined remain: wait another rebalance timeout.
      this.joinPhase = { kind: 'rebalance' };
      this.out.push({ kind: 'armTimer', timer: 'join', deadlineMs: this.now + this.rebalanceTimeoutMs() });
      return;
    }
    this.generation += 1;
    if (this.memberById.size === 0) {
      this.groupProtocolName = null;
      this.subscribed = null;
      this.transition('Empty');
      this.out.push({ kind: 'persistGroup', record: this.toRecord() });
      return;
    }
    this.groupProtocolName = this.selectProtocol();
    this.subscribed = this.computeSubscribedTopics();
    this.transition('CompletingRebalance');
    const allMembers = this.currentMemberMetadata();
    let maxRebalanceTimeoutMs = 0;
    for (const m of this.memberById.values()) {
      if (m.awaitingJoin !== null) {
        const isLeader = m.memberId === this.leader;
        this.out.push({
          kind: 'completeJoin',
          token: m.awaitingJoin,
          result: {
            errorCode: GroupErrorCode.NONE,
            generationId: this.generation,
            protocolType: this.groupProtocolType,
            protocolName: this.groupProtocolName,
            leaderId: this.leader ?? '',
            memberId: m.memberId,
            members: isLeader ? allMembers : [],
            skipAssignment: false,
          },
        });
        m.awaitingJoin = null;
      }
      m.isNew = false;
      m.sessionDeadlineMs = this.now + m.sessionTimeoutMs;
      this.out.push({ kind: 'armTimer', timer: sessionTimer(m.memberId), deadlineMs: m.sessionDeadlineMs });
      this.pendingSyncMembers.add(m.memberId);
      maxRebalanceTimeoutMs = Math.max(maxRebalanceTimeoutMs, m.rebalanceTimeoutMs);
    }
    this.out.push({ kind: 'armTimer', timer: 'sync', deadlineMs: this.now + maxRebalanceTimeoutMs });
  }

  /** Keeps the leader if it rejoined, else picks any member that did. False when no member rejoined. */
  private electJoinedLeader(): boolean {
    if (this.leader === null) return false;
    const current = this.memberById.get(this.leader);
    if (current !== undefined && current.awaitingJoin !== null) return true;
    for (const m of this.memberById.values()) {
      if (m.awaitingJoin !== null) {
        this.leader = m.memberId;
        return true;
      }
    }
    return false;
  }

  private onSyncTimer(): void {
    if (this.currentState !== 'CompletingRebalance' && this.currentState !== 'Stable') return;
    if (this.pendingSyncMembers.size === 0) return;
    // Members that got a JoinGroup answer but never synced within the rebalance timeout are removed.
    for (const id of [...this.pendingSyncMembers]) {
      const member = this.memberById.get(id);
      if (member !== undefined) this.removeMember(member);
    }
    this.pendingSyncMembers.clear();
    this.prepareRebalance();
  }

  private onSessionTimer(id: MemberId): void {
    const pendingDeadlineMs = this.pendingMembers.get(id);
    if (pendingDeadlineMs !== undefined) {
      if (pendingDeadlineMs <= this.now) {
        this.pendingMembers.delete(id);
        if (this.currentState === 'PreparingRebalance') this.tryCompleteJoin();
      } else {
        this.out.push({ kind: 'armTimer', timer: sessionTimer(id), deadlineMs: pendingDeadlineMs });
      }
      return;
    }
    const member = this.memberById.get(id);
    if (member === undefined) return;
    if (member.awaitingJoin !== null && !member.isNew) return; // kept alive while parked; re-armed when the join completes
    if (member.sessionDeadlineMs <= this.now) {
      this.removeMemberAndUpdateGroup(member);
    } else {
      this.out.push({ kind: 'armTimer', timer: sessionTimer(id), deadlineMs: member.sessionDeadlineMs });
    }
  }

  // ---- membership helpers ----------------------------------------------------------------------------------

  private removeMemberAndUpdateGroup(member: GroupMember): void {
    this.removeMember(member);
    switch (this.currentState) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance();
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin();
        return;
      case 'Empty':
      case 'Dead':
        return;
    }
  }

  private removeMember(member: GroupMember): void {
    if (member.awaitingJoin !== null) this.answerJoinError(member.awaitingJoin, '', GroupErrorCode.UNKNOWN_MEMBER_ID);
    if (member.awaitingSync !== null) this.answerSyncError(member.awaitingSync, GroupErrorCode.UNKNOWN_MEMBER_ID);
    member.awaitingJoin = null;
    member.awaitingSync = null;
    this.memberById.delete(member.memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === member.memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    this.removePendingSync(member.memberId);
    this.out.push({ kind: 'cancelTimer', timer: sessionTimer(member.memberId) });
    if (this.leader === member.memberId) this.leader = [...this.memberById.keys()][0] ?? null;
  }

  private removePendingSync(id: MemberId): void {
    if (this.pendingSyncMembers.delete(id) && this.pendingSyncMembers.size === 0) this.out.push({ kind: 'cancelTimer', timer: 'sync' });
  }

  private clearPendingSync(): void {
    if (this.pendingSyncMembers.size > 0) this.out.push({ kind: 'cancelTimer', timer: 'sync' });
    this.pendingSyncMembers.clear();
  }

  private refreshSession(member: GroupMember): void {
    member.sessionDeadlineMs = Math.max(member.sessionDeadlineMs, this.now + member.sessionTimeoutMs);
  }

  /**
   * FENCED_INSTANCE_ID when the instance id belongs to another member id, UNKNOWN_MEMBER_ID when the
   * instance or member is not in the group.
   */
  private validateCurrentMember(id: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
      return current === id ? GroupErrorCode.NONE : GroupErrorCode.FENCED_INSTANCE_ID;
    }
    return this.memberById.has(memberId(id)) ? GroupErrorCode.NONE : GroupErrorCode.UNKNOWN_MEMBER_ID;
  }

  private validateSync(input: SyncInput): number {
    if (this.currentState === 'Dead') return GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateCurrentMember(input.memberId, input.groupInstanceId);
    if (memberError !== GroupErrorCode.NONE) return memberError;
    if (input.generationId !== this.generation) return GroupErrorCode.ILLEGAL_GENERATION;
    if (input.protocolType !== null && input.protocolType !== this.groupProtocolType) return GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    if (input.protocolName !== null && input.protocolName !== this.groupProtocolName) return GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    if (this.currentState === 'Empty') return GroupErrorCode.UNKNOWN_MEMBER_ID;
    return GroupErrorCode.NONE;
  }

  /** An empty group takes any non-empty offer; otherwise same protocol type and one protocol every member supports. */
  private supportsProtocols(protocolType: string, protocolNames: readonly string[]): boolean {
    if (this.memberById.size === 0) return protocolType !== '' && protocolNames.length > 0;
    if (protocolType !== this.groupProtocolType) return false;
    const candidates = this.candidateProtocols();
    return protocolNames.some((name) => candidates.has(name));
  }

  /** Protocols every member supports. */
  private candidateProtocols(): Set<string> {
    const counts = new Map<string, number>();
    for (const m of this.memberById.values()) {
      for (const name of new Set(m.protocols.map((p) => p.name))) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const candidates = new Set<string>();
    for (const [name, count] of counts) if (count === this.memberById.size) candidates.add(name);
    return candidates;
  }

  /**
   * Kafka's selection: each member votes for its most preferred protocol among those all members support;
   * the most votes wins. Ties go to the protocol the leader prefers.
   */
  private selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.memberById.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name));
      assert(choice !== undefined, 'every member supports a candidate protocol');
      votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    const leader = this.leader === null ? undefined : this.memberById.get(this.leader);
    const order = (leader ?? [...this.memberById.values()][0])?.protocols.map((p) => p.name) ?? [];
    let best: string | null = null;
    let bestVotes = -1;
    for (const name of order) {
      const count = votes.get(name) ?? 0;
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    assert(best !== null && bestVotes > 0, 'a protocol was selected');
    return best;
  }

  private computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.groupProtocolType !== 'consumer' || this.groupProtocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.memberById.values()) {
      const parsed = parseSubscribedTopics(this.metadataFor(m));
      if (parsed === null) return null;
      for (const t of parsed) topics.add(t);
    }
    return topics;
  }

  private metadataFor(member: GroupMember): Buffer {
    return member.protocols.find((p) => p.name === this.groupProtocolName)?.metadata ?? EMPTY;
  }

  private rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.memberById.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  private currentMemberMetadata(): JoinResultMember[] {
    return [...this.memberById.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: this.metadataFor(m) }));
  }

  private answerCurrentGeneration(token: RequestToken, member: GroupMember): void {
    const isLeader = member.memberId === this.leader;
    this.out.push({
      kind: 'completeJoin',
      token,
      result: {
        errorCode: GroupErrorCode.NONE,
        generationId: this.generation,
        protocolType: this.groupProtocolType,
        protocolName: this.groupProtocolName,
        leaderId: this.leader ?? '',
        memberId: member.memberId,
        members: isLeader ? this.currentMemberMetadata() : [],
        skipAssignment: false,
      },
    });
  }

  private answerJoinError(token: RequestToken, id: string, errorCode: number): void {
    this.out.push({
      kind: 'completeJoin',
      token,
      result: { errorCode, generationId: -1, protocolType: null, protocolName: null, leaderId: '', memberId: id, members: [], skipAssignment: false },
    });
  }

  private answerSyncError(token: RequestToken, errorCode: number): void {
    this.out.push({ kind: 'completeSync', token, result: { errorCode, protocolType: null, protocolName: null, assignment: EMPTY } });
  }

  private syncSuccess(assignment: Buffer): SyncResult {
    return { errorCode: GroupErrorCode.NONE, protocolType: this.groupProtocolType, protocolName: this.groupProtocolName, assignment };
  }

  toRecord(): PersistedGroup {
    const stable = this.currentState === 'Stable' || this.currentState === 'CompletingRebalance';
    return {
      groupId: this.groupId,
      protocolType: this.groupProtocolType,
      protocolName: this.groupProtocolName,
      generationId: this.generation,
      leaderId: this.leader,
      stateTimestampMs: this.stateSinceMs,
      members: stable
        ? [...this.memberById.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            sessionTimeoutMs: m.sessionTimeoutMs,
            rebalanceTimeoutMs: m.rebalanceTimeoutMs,
            subscription: this.metadataFor(m),
            assignment: m.assignment,
          }))
        : [],
    };
  }

  private transition(next: GroupState): void {
    this.currentState = next;
    this.stateSinceMs = this.now;
  }

  private begin(nowMs: number): void {
    this.now = nowMs;
    this.out = [];
  }

  private finish(): GroupEffect[] {
    const effects = this.out;
    this.out = [];
    return effects;
  }
}

export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

function matches(member: GroupMember, protocols: readonly ProtocolOffer[]): boolean {
  if (member.protocols.length !== protocols.length) return false;
  return protocols.every((p, i) => {
    const mine = member.protocols[i];
    return mine !== undefined && mine.name === p.name && mine.metadata.equals(p.metadata);
  });
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`consumer group invariant broken: ${message}`);
}
