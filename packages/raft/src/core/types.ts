// Branded identifiers and the plain data shapes exchanged between the Raft core and its host.
// Raft knows nothing of Kafka: a RaftIndex is a position in a Raft log, never a Kafka offset.

export type NodeId = number & { readonly __brand: 'NodeId' };
export type Term = number & { readonly __brand: 'Term' };
export type RaftIndex = number & { readonly __brand: 'RaftIndex' };
/** Identifies one Raft group on a host (unsigned 32-bit on the wire). */
export type RaftGroupId = number & { readonly __brand: 'RaftGroupId' };

function checkedUint(n: number, what: string, max: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new RangeError(`${what} must be an integer in [0, ${max}], got ${n}`);
  return n;
}
export const nodeId = (n: number): NodeId => checkedUint(n, 'NodeId', 0xffffffff) as NodeId;
export const term = (n: number): Term => checkedUint(n, 'Term', Number.MAX_SAFE_INTEGER) as Term;
export const raftIndex = (n: number): RaftIndex => checkedUint(n, 'RaftIndex', Number.MAX_SAFE_INTEGER) as RaftIndex;
export const raftGroupId = (n: number): RaftGroupId => checkedUint(n, 'RaftGroupId', 0xffffffff) as RaftGroupId;

/** "No node" (0 is never a valid member id). */
export const NO_NODE = 0 as NodeId;

export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly index: RaftIndex;
  readonly term: Term;
  readonly type: EntryType;
  /** Opaque payload (empty for the leader's no-op); for ConfChange the encoded resulting configuration. */
  readonly data: Uint8Array;
}

/** A configuration: who votes and who only receives the log. Disjoint sets. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: RaftIndex;
}

export interface SnapshotMeta {
  /** Last log index covered by the snapshot. */
  readonly index: RaftIndex;
  readonly term: Term;
  /** The configuration in force at `index`. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** Opaque state-machine image supplied by the host. */
  readonly data: Uint8Array;
}

export const MessageType = {
  Append: 1,
  AppendResponse: 2,
  Heartbeat: 3,
  HeartbeatResponse: 4,
  Vote: 5,
  VoteResponse: 6,
  PreVote: 7,
  PreVoteResponse: 8,
  InstallSnapshot: 9,
  TimeoutNow: 10,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One Raft message. Flat so that the binary codec stays trivial; unused fields are 0 / empty.
 * - Append: index/logTerm = the entry preceding `entries`; commit = leader commit.
 * - AppendResponse: index = last index now matching (accept) or the rejected prev index (reject), rejectHint/logTerm = follower hint.
 * - Heartbeat / HeartbeatResponse: commit; context = read-index sequence being confirmed.
 * - Vote / PreVote: index/logTerm = candidate's last entry; context = 1 when forced by leadership transfer.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: Term;
  logTerm: Term;
  index: RaftIndex;
  commit: RaftIndex;
  reject: boolean;
  rejectHint: RaftIndex;
  context: number;
  entries: Entry[];
  snapshot: Snapshot | null;
}

export const Role = { Follower: 'follower', PreCandidate: 'pre-candidate', Candidate: 'candidate', Leader: 'leader' } as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface SoftState {
  readonly leaderId: NodeId;
  readonly role: Role;
}

/** A linearizable read: once the host has applied up to `index`, it may serve the read identified by `context`. */
export interface ReadState {
  readonly index: RaftIndex;
  readonly context: number;
}

/** Everything the host must do after a round of input: persist (hardState, snapshot, entries), then send, then apply. */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

/**
 * Whether a Ready must be durable before its messages leave and before advance (etcd's MustSync): new entries, a
 * snapshot, or a new term or vote. A hard state that only moves the commit index may be staged and ride the next
 * sync: the commit index is volatile in Raft (a node restarting with an older one relearns it from the leader), and
 * entries it covers are already durable on a quorum. `previous` is the hard state last handed to storage.
 */
export function readyMustSync(rd: Ready, previous: HardState): boolean {
  if (rd.entries.length > 0 || rd.snapshot !== null) return true;
  return rd.hardState !== null && (rd.hardState.term !== previous.term || rd.hardState.vote !== previous.vote);
}

/**
 * Leader replication (Append, Heartbeat, InstallSnapshot, TimeoutNow) may leave before the sender's own writes are
 * durable: a leader counts its own entries toward a commit only once they are persisted. Every other message (acks,
 * votes) describes local state and must wait until the writes before it are durable.
 */
export function isLeaderReplication(type: MessageType): boolean {
  return type === MessageType.Append || type === MessageType.Heartbeat || type === MessageType.InstallSnapshot || type === MessageType.TimeoutNow;
}

/** What a node loads from storage at start. */
export interface InitialState {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta;
  readonly entries: readonly Entry[];
}

export function emptyMessage(type: MessageType, from: NodeId, to: NodeId, msgTerm: Term): Message {
  return {
    type, from, to, term: msgTerm, logTerm: 0 as Term, index: 0 as RaftIndex, commit: 0 as RaftIndex,
    reject: false, rejectHint: 0 as RaftIndex, context: 0, entries: [], snapshot: null,
  };
}
