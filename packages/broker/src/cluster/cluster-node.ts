// One broker's membership in the cluster: the Raft host (one per process) over raft's TcpTransport on
// TRIBUTARY_CLUSTER_LISTEN with raft's FileWal under <dataDir>/raft, and the metadata Raft group (the formation
// nodes, TRIBUTARY_METADATA_VOTERS, are its voters; nodes added later are learners) whose state machine is the SQLite
// MetadataStore. Writes go to the metadata leader: a follower forwards the command over the control channel and
// returns the leader's answer. Peer addresses: TRIBUTARY_PEERS at start, then every registered broker's cluster
// address from the catalogue (so a node added at runtime is reachable from nodes whose configuration never named it).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FileWal, RaftHost, TcpTransport, bootstrapState, nodeId as toNodeId, raftGroupId, raftIndex, term as raftTerm, Role, type GroupStateMachine, type NodeId, type RaftGroupId, type Snapshot, type Term } from '@tributary/raft';
import type { BrokerConfig } from '../config.js';
import { ControlChannelTransport } from './control-channel.js';
import { encodeCommand, type BrokerRegistration, type MetadataCommand, type MetadataResult } from './metadata-commands.js';
import { MetadataStore } from './metadata-store.js';
import { MetadataGroupSnapshots } from './snapshots/metadata-snapshot.js';
import type { SnapshotService } from './snapshots/snapshot-service.js';
import { sleep } from './sleep.js';

/** The metadata group's Raft group id (partition groups will use ids allocated in the catalogue, never this one). */
export const METADATA_RAFT_GROUP = raftGroupId(1);
/** Most voters of the metadata group (further nodes join as learners). */
export const METADATA_VOTERS_MAX = 5;
const FORWARD_TIMEOUT_MS = 2_000;
/** The Raft host's clock: heartbeats every tick, elections after TRIBUTARY_RAFT_ELECTION_TIMEOUT_MS worth of ticks. */
const RAFT_TICK_MS = 100;
/**
 * How often this node sends an empty batch to every registered broker. The Raft host pings only nodes it shares a
 * group with or has heard from, so two nodes added at runtime that share no group would never hear of each other;
 * per-node liveness (offline replicas, the fencing sessions on the metadata leader, transfer targets) counts any
 * traffic. One tiny frame per second per broker.
 */
const REGISTERED_BROKER_PING_MS = 1_000;
const RETRY_DELAY_MS = 100;
/** How often a node waiting to join the metadata group says why it is still waiting. */
const JOIN_PROGRESS_LOG_INTERVAL_MS = 5_000;

export type ProposeOutcome = { kind: 'applied'; result: MetadataResult } | { kind: 'unavailable'; reason: string };

type ForwardAnswer = { status: 'applied'; result: MetadataResult } | { status: 'retry'; reason: string };

/**
 * A node-to-node request other than a metadata command, e.g. "hand this partition's leadership to its preferred
 * replica" (leadership-service.ts). Told apart from forwarded metadata commands by the `control` field.
 */
export interface ControlRequest {
  readonly control: string;
}
export type ControlHandler = (from: NodeId, request: ControlRequest) => Promise<unknown>;

const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '']);


export type MetadataLeaderListener = (leaderId: NodeId, term: Term, role: Role) => void;

/**
 * Control request of a node that opened an empty Raft WAL (wiped or new). A leader never lowers a follower's `match`
 * on its own (a rejection below it looks stale), so a wiped follower would be stuck until the leader changed; the
 * receiving host resets the peer's progress in every group it leads (RaftHost.resetPeerProgress) and re-probes it,
 * which walks back to what it really holds or sends InstallSnapshot.
 */
const PEER_RESTARTED_EMPTY = 'peerRestartedEmpty';
/** How long a wiped node keeps telling an unreachable peer that it restarted empty. */
const ANNOUNCE_EMPTY_RESTART_MS = 60_000;
/**
 * Control request of a node joining a running cluster (not a voter, not yet a member of the metadata group), sent to
 * any node it knows: the metadata leader adds it to the group as a learner (a follower forwards the request there).
 * It carries the joiner's cluster address, which the receivers need even to answer it.
 */
const ADD_METADATA_LEARNER = 'addMetadataLearner';
interface AddMetadataLearnerRequest extends ControlRequest {
  readonly control: typeof ADD_METADATA_LEARNER;
  readonly broker: BrokerRegistration;
}
/**
 * `peers`: the cluster addresses the answering node's catalogue holds. The joiner needs the metadata leader's before
 * its catalogue arrives (it must answer the leader's appends), and its seeds need not include the leader.
 */
type AddMetadataLearnerAnswer = ({ status: 'member'; role?: 'voter' | 'learner' } | { status: 'retry'; reason: string }) & { peers?: readonly BrokerRegistration[] };

export class ClusterNode {
  private closed = false;
  private hostClosed: Promise<void> | null = null;
  private readonly controlHandlers = new Map<string, ControlHandler>();
  private readonly leaderListeners: MetadataLeaderListener[] = [];

  private constructor(
    readonly selfId: NodeId,
    readonly host: RaftHost,
    private readonly control: ControlChannelTransport,
    private readonly tcp: TcpTransport,
    private readonly wal: FileWal,
    readonly store: MetadataStore,
    private readonly logger: Logger,
    /** Cluster mode with TRIBUTARY_SNAPSHOT_ENABLED: the snapshot service (partition groups register through it). */
    readonly snapshots: SnapshotService | undefined,
    private readonly metadataSnapshots: MetadataGroupSnapshots | undefined,
    /** The cluster address this node registers (TRIBUTARY_CLUSTER_ADVERTISED_ADDRESS, else the bound listener). */
    readonly clusterAddress: { host: string; port: number } | undefined,
    /** TRIBUTARY_PEERS: whom to ask when joining (with the registered brokers). */
    private readonly seedIds: readonly NodeId[],
  ) {}

  private pingTimer: NodeJS.Timeout | null = null;
  /** This node opened an empty Raft WAL: peers whose address it learns before this time are told so too. */
  private announceEmptyUntilMs = 0;
  /** Addresses given to the transport, by node (TRIBUTARY_PEERS first, then the registrations, which win). */
  private readonly peerAddresses = new Map<NodeId, string>();

  static async open(config: BrokerConfig, logger: Logger, snapshots?: SnapshotService): Promise<ClusterNode> {
    const selfId = toNodeId(config.nodeId);
    const peers = new Map(config.peers.map((p) => [toNodeId(p.nodeId), { host: p.host, port: p.port }]));
    // The formation voters: the same list on every node (a joining node is not in it and starts as a non-member).
    const voters = config.metadataVoters.map((v) => toNodeId(v));
    if (voters.length > METADATA_VOTERS_MAX) {
      throw new Error(`${voters.length} metadata voters: the metadata group supports at most ${METADATA_VOTERS_MAX} voters`);
    }
    const raftDir = join(config.dataDir, 'raft');
    await mkdir(raftDir, { recursive: true });
    // Small segments let compaction behind a snapshot free disk sooner (FileWal deletes whole segments only).
    const wal = await FileWal.open(raftDir, { segmentBytesMax: config.raftSegmentBytesMax });
    // An empty WAL is a brand-new or wiped node: peers leading groups with it must forget what they knew it held.
    const walWasEmpty = wal.recoveredGroups().length === 0;
    const store = new MetadataStore(join(config.dataDir, 'cluster-metadata.sqlite'));
    const tcp = new TcpTransport({
      nodeId: selfId,
      host: config.clusterListen.host,
      port: config.clusterListen.port,
      peers,
      onError: (err) => logger.warn({ err }, 'raft transport error'),
    });
    const control = new ControlChannelTransport(tcp, selfId);
    const host = new RaftHost({
      nodeId: selfId,
      transport: control,
      syncAll: () => wal.sync(),
      tickMs: RAFT_TICK_MS,
      electionTicks: Math.max(3, Math.round(config.raftElectionTimeoutMs / RAFT_TICK_MS)),
      heartbeatTicks: 1,
      onError: (err) => logger.error({ err }, 'raft host error'),
    });
    const metadataSnapshots =
      snapshots === undefined
        ? undefined
        : new MetadataGroupSnapshots(METADATA_RAFT_GROUP, store, snapshots, join(config.dataDir, 'snapshot-work'), logger.child({ component: 'metadata-snapshots' }));
    await tcp.listen();
    const advertised = config.clusterAdvertisedAddress ?? { host: config.clusterListen.host, port: tcp.port };
    const clusterAddress = WILDCARD_HOSTS.has(advertised.host) ? undefined : { host: advertised.host, port: advertised.port };
    const node = new ClusterNode(selfId, host, control, tcp, wal, store, logger, snapshots, metadataSnapshots, clusterAddress, [...peers.keys()]);
    for (const [id, addr] of peers) node.peerAddresses.set(id, `${addr.host}:${addr.port}`);
    // Registered brokers' addresses (kept in the catalogue across restarts), now and after every catalogue change.
    node.adoptRegisteredAddresses();
    store.onApplied(() => node.adoptRegisteredAddresses());
    const onLeaderChange: GroupStateMachine['onLeaderChange'] = (leaderId, term, role) => {
      logger.info({ raftGroup: 'metadata', leaderId, term, role }, 'metadata leader changed');
      for (const listener of node.leaderListeners) listener(leaderId, term, role);
    };
    const machine: GroupStateMachine =
      metadataSnapshots === undefined
        ? {
            apply: (entries) => store.apply(entries),
            // Snapshots disabled: a log compacted by an earlier run is fine while SQLite holds its state; anything
            // else needs the object store to restore from.
            restore: (snapshot) => {
              if (store.appliedIndex < snapshot.meta.index) {
                throw new Error(`the metadata group's Raft log starts after index ${snapshot.meta.index} but the local catalogue is at ${store.appliedIndex}: enable snapshots (TRIBUTARY_SNAPSHOT_ENABLED) to restore it`);
              }
              disabledImage = snapshot;
            },
            snapshotData: (meta) => (disabledImage !== null && disabledImage.meta.index === meta.index ? disabledImage.data : null),
            onLeaderChange,
          }
        : {
            apply: (entries) => metadataSnapshots.apply(entries),
            restore: (snapshot) => metadataSnapshots.restore(snapshot),
            snapshotData: (meta) => metadataSnapshots.snapshotData(meta),
            onLeaderChange,
          };
    let disabledImage: Snapshot | null = null;
    metadataSnapshots?.attachHost(host);
    host.addGroup(METADATA_RAFT_GROUP, wal.storage(METADATA_RAFT_GROUP, bootstrapState(voters)), machine);
    if (metadataSnapshots !== undefined) snapshots!.register(metadataSnapshots);
    control.onRequest((from, payload) => node.answerForwarded(from, payload));
    node.onControl(PEER_RESTARTED_EMPTY, async (from) => {
      const groupsReset = host.resetPeerProgress(from);
      logger.info({ peer: from, groupsReset }, 'peer restarted with an empty Raft log; re-probing it in the groups led here');
      return { groupsReset };
    });
    node.onControl(ADD_METADATA_LEARNER, (from, request) => node.addMetadataLearner(from, request as AddMetadataLearnerRequest));
    host.start();
    node.pingTimer = setInterval(() => node.pingRegisteredBrokers(), REGISTERED_BROKER_PING_MS);
    node.pingTimer.unref();
    if (walWasEmpty) {
      // Also every node whose address is learned later (from a join answer or the catalogue): an added node's seeds
      // need not include the leaders of its groups, which must re-probe it too.
      node.announceEmptyUntilMs = Date.now() + ANNOUNCE_EMPTY_RESTART_MS;
      void node.announceEmptyRestart([...node.peerAddresses.keys()]);
    }
    return node;
  }

  /** Gives the transport every registered broker's cluster address (a registration is newer than TRIBUTARY_PEERS). */
  private adoptRegisteredAddresses(): void {
    for (const b of this.store.brokers()) {
      if (b.nodeId === this.selfId || b.clusterHost === undefined || b.clusterPort === undefined) continue;
      this.setPeerAddress(toNodeId(b.nodeId), { host: b.clusterHost, port: b.clusterPort });
    }
  }

  private setPeerAddress(id: NodeId, addr: { host: string; port: number }): void {
    const key = `${addr.host}:${addr.port}`;
    if (this.peerAddresses.get(id) === key) return;
    const known = this.peerAddresses.has(id);
    this.peerAddresses.set(id, key);
    this.tcp.setPeer(id, addr);
    if (!known && Date.now() < this.announceEmptyUntilMs) void this.announceEmptyRestart([id]);
    this.logger.info({ peer: id, address: key }, known ? 'peer cluster address changed' : 'peer cluster address learned');
  }

  private pingRegisteredBrokers(): void {
    if (this.closed) return;
    for (const b of this.store.brokers()) if (b.nodeId !== this.selfId && this.peerAddresses.has(toNodeId(b.nodeId))) this.control.send(toNodeId(b.nodeId), []);
  }

  /** Whether this node is a voter or learner of the metadata group (as its log says so far). */
  isMetadataMember(): boolean {
    const conf = this.host.group(METADATA_RAFT_GROUP)?.conf;
    return conf !== undefined && (conf.voters.includes(this.selfId) || conf.learners.includes(this.selfId));
  }

  /**
   * Answers a joining node: on the metadata leader, adds it as a learner (one configuration entry, committed by the
   * voters) unless it is a member already; elsewhere forwards to the leader. The joiner's address is taken from the
   * request first: without it this node could not even send the answer back.
   */
  private async addMetadataLearner(from: NodeId, request: AddMetadataLearnerRequest): Promise<AddMetadataLearnerAnswer> {
    const answer = await this.answerAddMetadataLearner(from, request);
    const peers = this.store.brokers().filter((b) => b.clusterHost !== undefined);
    const self = this.clusterAddress === undefined ? [] : [{ nodeId: this.selfId, host: '', port: 0, clusterHost: this.clusterAddress.host, clusterPort: this.clusterAddress.port }];
    return { ...answer, peers: [...(answer.peers ?? []), ...peers, ...self] };
  }

  private async answerAddMetadataLearner(from: NodeId, request: AddMetadataLearnerRequest): Promise<AddMetadataLearnerAnswer> {
    const broker = request.broker;
    if (broker.clusterHost === undefined || broker.clusterPort === undefined || !Number.isInteger(broker.nodeId) || broker.nodeId < 1) {
      return { status: 'retry', reason: 'the request names no node id and cluster address' };
    }
    const joiner = toNodeId(broker.nodeId);
    if (joiner === this.selfId) return { status: 'retry', reason: 'a node cannot add itself' };
    this.setPeerAddress(joiner, { host: broker.clusterHost, port: broker.clusterPort });
    if (from !== joiner) this.logger.info({ joiner, via: from }, 'forwarded request to add a metadata learner');
    const raft = this.host.group(METADATA_RAFT_GROUP);
    if (raft === undefined || this.closed) return { status: 'retry', reason: 'closed' };
    if (raft.role !== Role.Leader) {
      const leader = raft.leaderId;
      if (leader === 0 || leader === this.selfId || from !== joiner) return { status: 'retry', reason: `node ${this.selfId} is not the metadata leader` };
      const answer = (await this.requestControl(leader, request, FORWARD_TIMEOUT_MS)) as AddMetadataLearnerAnswer | null;
      return answer ?? { status: 'retry', reason: `no answer from metadata leader ${leader}` };
    }
    const conf = raft.conf;
    if (conf.voters.includes(joiner)) return { status: 'member', role: 'voter' };
    if (conf.learners.includes(joiner)) return { status: 'member', role: 'learner' };
    const r = await this.host.proposeConfChange(METADATA_RAFT_GROUP, { type: 'addLearner', nodeId: joiner });
    if (!r.ok) return { status: 'retry', reason: `configuration change: ${r.reason}` };
    this.logger.info({ joiner, address: `${broker.clusterHost}:${broker.clusterPort}` }, 'added a metadata-group learner');
    return { status: 'member' };
  }

  /**
   * A node that is not (yet) a member of the metadata group asks the nodes it knows, in turn, to add it as a learner,
   * then waits until its own log shows it a member (the leader replicates the group to it from then on). Bounded.
   */
  private async becomeMetadataLearner(self: BrokerRegistration, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastReason = 'no node asked yet';
    let added = false;
    let nextProgressLogAt = Date.now() + JOIN_PROGRESS_LOG_INTERVAL_MS;
    while (!this.closed && !this.isMetadataMember()) {
      if (Date.now() > deadline) throw new Error(`could not join the metadata group as a learner within ${timeoutMs} ms: ${lastReason}`);
      if (Date.now() >= nextProgressLogAt) {
        nextProgressLogAt = Date.now() + JOIN_PROGRESS_LOG_INTERVAL_MS;
        this.logger.warn({ added, lastReason }, 'not a metadata-group member yet; still asking');
      }
      if (!added) {
        const candidates = [...new Set([...this.seedIds, ...this.store.brokers().map((b) => toNodeId(b.nodeId))])].filter((id) => id !== this.selfId);
        for (const peer of candidates) {
          const request: AddMetadataLearnerRequest = { control: ADD_METADATA_LEARNER, broker: self };
          const answer = (await this.requestControl(peer, request, FORWARD_TIMEOUT_MS).catch(() => null)) as AddMetadataLearnerAnswer | null;
          for (const b of answer?.peers ?? []) {
            if (b.nodeId !== this.selfId && b.clusterHost !== undefined && b.clusterPort !== undefined) this.setPeerAddress(toNodeId(b.nodeId), { host: b.clusterHost, port: b.clusterPort });
          }
          if (answer?.status === 'member') {
            if (answer.role === 'voter') {
              // Only a formation node with the wrong list gets here (wiped, so its log cannot say otherwise).
              throw this.notListedAsVoter();
            }
            added = true;
            this.logger.info({ via: peer }, 'added to the metadata group as a learner; receiving the catalogue');
            break;
          }
          lastReason = answer === null ? `no answer from node ${peer}` : `node ${peer}: ${answer.reason}`;
        }
      }
      await sleep(added ? RETRY_DELAY_MS : RETRY_DELAY_MS * 5);
    }
    // The metadata leader replicates to every voter of its configuration, asked or not: a wiped formation node with
    // the wrong list can thus become a voter through replication before any answer tells it so. Same refusal.
    if (this.host.group(METADATA_RAFT_GROUP)?.conf.voters.includes(this.selfId) === true) throw this.notListedAsVoter();
    // A wiped learner restarting is still in the leader's configuration, so the same can happen to it (not an error).
    if (!added && !this.closed) this.logger.info('a metadata-group learner through replication before any answer; receiving the catalogue');
  }

  private notListedAsVoter(): Error {
    return new Error(`node ${this.selfId} is a voter of the metadata group, but TRIBUTARY_METADATA_VOTERS does not list it: give every formation node the formation list`);
  }

  /**
   * Starts hosting a partition's Raft group: its state in the shared WAL, or else a fresh group of `voters` — empty,
   * or (`startAt`, after a bootstrap restored the replica from a snapshot) starting after that index/term, so the
   * leader sends only the tail.
   */
  hostGroup(id: RaftGroupId, voters: readonly number[], sm: GroupStateMachine, startAt?: { index: number; term: number }): void {
    const fresh = bootstrapState(voters.map((v) => toNodeId(v)));
    const initial =
      startAt === undefined
        ? fresh
        : {
            hardState: { ...fresh.hardState, term: raftTerm(startAt.term), commit: raftIndex(startAt.index) },
            snapshot: { ...fresh.snapshot, index: raftIndex(startAt.index), term: raftTerm(startAt.term) },
            entries: [],
          };
    this.host.addGroup(id, this.wal.storage(id, initial), sm);
  }

  /** Whether the Raft WAL holds state for the group (false on a wiped node, or for a group never hosted here). */
  hasRaftState(id: RaftGroupId): boolean {
    return this.wal.recoveredGroups().includes(id);
  }

  /** Raft groups whose state this node's WAL holds, hosted or not. */
  raftGroupsOnDisk(): RaftGroupId[] {
    return this.wal.recoveredGroups();
  }

  /**
   * Forgets the WAL state of a group this node does not host (a deleted topic's group found at start): a tombstone,
   * made durable by the next group commit (if a crash loses it, the next start forgets the group again).
   */
  forgetGroup(id: RaftGroupId): void {
    if (this.host.group(id) !== undefined) throw new Error(`assertion: raft group ${id} is hosted; remove it from the host instead`);
    this.wal.storage(id).remove();
  }

  /** Stops every Raft group (no more applies); the first step of shutdown, before partition logs close. */
  closeHost(): Promise<void> {
    this.hostClosed ??= this.host.close();
    return this.hostClosed;
  }

  /**
   * Resolves once every committed entry the Raft host handed to the metadata state machine is applied to the local
   * store: at once, unless a snapshot restore is running (entries arriving meanwhile are queued until it ends).
   */
  whenMetadataApplied(): Promise<void> {
    return this.metadataSnapshots === undefined ? Promise.resolve() : this.metadataSnapshots.whenCaughtUp();
  }

  /** Called on every change of the metadata group's leader or of this node's role in it (from the Raft host's round). */
  onMetadataLeaderChange(listener: MetadataLeaderListener): void {
    this.leaderListeners.push(listener);
  }

  /** The metadata group's current leader as this node knows it (0 = none known). */
  get metadataLeaderId(): number {
    return this.host.group(METADATA_RAFT_GROUP)?.leaderId ?? 0;
  }

  /** One attempt: propose here when leading, else forward to the known leader. */
  async proposeOnce(command: MetadataCommand): Promise<ProposeOutcome> {
    const raft = this.host.group(METADATA_RAFT_GROUP);
    if (raft === undefined || this.closed) return { kind: 'unavailable', reason: 'closed' };
    if (raft.role === Role.Leader) {
      const r = await this.host.propose(METADATA_RAFT_GROUP, encodeCommand(command));
      if (!r.ok) return { kind: 'unavailable', reason: r.reason };
      // While the group restores from a snapshot, applies are queued: the result exists once they ran.
      if (this.metadataSnapshots !== undefined && !this.metadataSnapshots.isCaughtUp()) await this.metadataSnapshots.whenCaughtUp();
      const result = this.store.takeResult(r.index);
      if (result === undefined) throw new Error(`assertion: no result recorded for applied metadata entry ${r.index}`);
      return { kind: 'applied', result };
    }
    const leader = raft.leaderId;
    if (leader === 0 || leader === this.selfId) return { kind: 'unavailable', reason: 'no metadata leader' };
    const answer = await this.control.request(leader, encodeCommand(command), FORWARD_TIMEOUT_MS);
    if (answer === null) return { kind: 'unavailable', reason: `no answer from metadata leader ${leader}` };
    const parsed = JSON.parse(answer.toString('utf8')) as ForwardAnswer;
    return parsed.status === 'applied' ? { kind: 'applied', result: parsed.result } : { kind: 'unavailable', reason: parsed.reason };
  }

  /** Retries `proposeOnce` while the group has no reachable leader, until `timeoutMs` passes. */
  async propose(command: MetadataCommand, timeoutMs: number): Promise<ProposeOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const outcome = await this.proposeOnce(command);
      if (outcome.kind === 'applied' || Date.now() + RETRY_DELAY_MS > deadline || this.closed) return outcome;
      await sleep(RETRY_DELAY_MS);
    }
  }

  /** Tells every peer (retrying each until it answers, bounded) that this node restarted with an empty Raft log. */
  private async announceEmptyRestart(peerIds: readonly NodeId[]): Promise<void> {
    const deadline = Date.now() + ANNOUNCE_EMPTY_RESTART_MS;
    await Promise.all(
      peerIds.map(async (peer) => {
        while (!this.closed) {
          const answer = await this.requestControl(peer, { control: PEER_RESTARTED_EMPTY }, FORWARD_TIMEOUT_MS).catch(() => null);
          if (answer !== null) return;
          if (Date.now() > deadline) {
            this.logger.warn({ peer }, 'could not tell a peer that this node restarted with an empty Raft log (it repairs on its next leader change)');
            return;
          }
          await sleep(RETRY_DELAY_MS * 5);
        }
      }),
    );
  }

  /** Wall-clock ms this node last heard anything from `peer` (undefined: not since start). */
  peerHeardAtMs(peer: number): number | undefined {
    return this.control.lastHeardMs(toNodeId(peer));
  }

  /** Answers control requests of kind `control` (one handler per kind). */
  onControl(control: string, handler: ControlHandler): void {
    this.controlHandlers.set(control, handler);
  }

  /** Sends a control request to `to`; null when no answer came within `timeoutMs` (retriable). */
  async requestControl(to: number, request: ControlRequest, timeoutMs: number): Promise<unknown> {
    const answer = await this.control.request(toNodeId(to), Buffer.from(JSON.stringify(request)), timeoutMs);
    return answer === null ? null : (JSON.parse(answer.toString('utf8')) as unknown);
  }

  private async answerForwarded(from: NodeId, payload: Buffer): Promise<Buffer> {
    const control = this.controlRequestIn(payload);
    // A control request nobody here answers (e.g. a newer peer's kind) is answered null, never proposed as metadata.
    if (control === 'unhandled') return Buffer.from('null');
    if (control !== undefined) return Buffer.from(JSON.stringify(await control.handler(from, control.request)));
    let answer: ForwardAnswer;
    const raft = this.host.group(METADATA_RAFT_GROUP);
    if (raft === undefined || raft.role !== Role.Leader) {
      answer = { status: 'retry', reason: `node ${this.selfId} is not the metadata leader` };
    } else {
      let command: MetadataCommand;
      try {
        command = JSON.parse(payload.toString('utf8')) as MetadataCommand;
      } catch {
        this.logger.warn({ from }, 'malformed forwarded metadata command');
        answer = { status: 'retry', reason: 'malformed command' };
        return Buffer.from(JSON.stringify(answer));
      }
      const outcome = await this.proposeOnce(command);
      answer = outcome.kind === 'applied' ? { status: 'applied', result: outcome.result } : { status: 'retry', reason: outcome.reason };
    }
    return Buffer.from(JSON.stringify(answer));
  }

  private controlRequestIn(payload: Buffer): { request: ControlRequest; handler: ControlHandler } | 'unhandled' | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return undefined; // answered as a malformed metadata command
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as ControlRequest).control !== 'string') return undefined;
    const request = parsed as ControlRequest;
    const handler = this.controlHandlers.get(request.control);
    return handler === undefined ? 'unhandled' : { request, handler };
  }

  /**
   * Joins the cluster: agrees on the cluster id (the first proposed id wins) and registers this broker's Kafka
   * address. Retries until both are applied (a cluster cannot serve without a metadata quorum).
   */
  async join(proposedClusterId: string, self: BrokerRegistration, timeoutMs: number): Promise<string> {
    // A node outside the formation voters that the metadata group does not know yet joins it as a learner first
    // (a restart of a member skips this: its Raft log holds the configuration that names it).
    if (!this.isMetadataMember()) await this.becomeMetadataLearner(self, timeoutMs);
    const init = await this.propose({ kind: 'initCluster', clusterId: proposedClusterId }, timeoutMs);
    if (init.kind !== 'applied' || !init.result.ok || init.result.clusterId === undefined) {
      throw new Error(`could not agree on a cluster id through the metadata group: ${init.kind === 'unavailable' ? init.reason : 'rejected'}`);
    }
    if (init.result.clusterId !== proposedClusterId && this.configuredClusterId !== undefined) {
      throw new Error(`TRIBUTARY_CLUSTER_ID is "${proposedClusterId}" but the cluster's id is "${init.result.clusterId}"`);
    }
    const reg = await this.propose({ kind: 'registerBroker', broker: self }, timeoutMs);
    if (reg.kind !== 'applied') throw new Error(`could not register broker ${self.nodeId}: ${reg.reason}`);
    this.logger.info({ clusterId: init.result.clusterId, broker: self }, 'joined the cluster');
    return init.result.clusterId;
  }

  /**
   * Waits until this node's copy of the catalogue is usable: no snapshot restore running (a wiped or lagging node
   * downloads the catalogue first) and the cluster id applied locally. Bounded by `timeoutMs`.
   */
  async metadataCaughtUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const restoring = this.metadataSnapshots !== undefined && !this.metadataSnapshots.isCaughtUp();
      if (!restoring && this.store.clusterId !== undefined) return;
      if (Date.now() > deadline || this.closed) {
        throw new Error(`the local metadata catalogue did not catch up within ${timeoutMs} ms${restoring ? ' (still restoring from a snapshot)' : ''}`);
      }
      await sleep(RETRY_DELAY_MS);
    }
  }

  /** Set by the broker when the cluster id came from TRIBUTARY_CLUSTER_ID (then a different stored id is an error). */
  configuredClusterId: string | undefined;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.metadataSnapshots?.close();
    await this.closeHost();
    await this.wal.close();
    this.store.close();
  }
}
