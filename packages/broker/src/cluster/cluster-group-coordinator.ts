// Consumer groups in cluster mode. Decision: the group coordinator of EVERY group is the metadata Raft leader.
// - FindCoordinator on any broker names the metadata leader's Kafka address (COORDINATOR_NOT_AVAILABLE while no
//   leader is known), so members that bootstrap from different brokers meet in one group.
// - On becoming leader of term T, the node first commits and applies a barrier entry of term T (then its SQLite
//   state holds every entry earlier leaders committed), loads every group and offset from it and starts a
//   ConsumerGroupCoordinator whose store proposes metadata commands fenced to term T. Until loaded it answers
//   COORDINATOR_LOAD_IN_PROGRESS (clients retry here).
// - On losing leadership it closes that coordinator: parked JoinGroup/SyncGroup get NOT_COORDINATOR, later writes
//   of term T are refused, and every group API answers NOT_COORDINATOR, so members look the coordinator up again.
//   Restored Stable groups keep their generation, so members that re-find the coordinator within their session
//   timeout carry on without a rebalance.
// Why not per-group coordinators on internal offset partitions (Kafka's __consumer_offsets): one Raft group already
// replicates the catalogue with an SQLite state machine, commits are small and rare per member (one entry per
// OffsetCommit request), and it needs no partition compaction of its own. The cost: every commit goes through one
// Raft group and one node coordinates every group (see README "Consumer groups" for the measured latency).
import type { Logger } from 'pino';
import { Role, type NodeId, type RaftHost, type Term } from '@tributary/raft';
import {
  GroupErrorCode,
  NotCoordinatorError,
  findCoordinatorResponse,
  refuseGroupRequest,
  type ConsumerGroupStore,
  type CoordinatorAddress,
  type DeleteGroupsRequest,
  type DescribeGroupsRequest,
  type FindCoordinatorRequest,
  type JoinGroupRequest,
  type OffsetCommitRequest,
  type OffsetFetchRequest,
  type RequestContext,
} from '../consumer-groups/index.js';
import type { GroupCoordinatorLike } from '../handlers/routes.js';
import { METADATA_RAFT_GROUP, type MetadataLeaderListener } from './cluster-node.js';
import type { MetadataStore } from './metadata-store.js';
import { ReplicatedConsumerGroupStore } from './replicated-group-store.js';

/** What the coordinator needs of this node's membership in the metadata group (ClusterNode provides it). */
export interface MetadataGroupMember {
  readonly selfId: NodeId;
  readonly host: RaftHost;
  readonly store: MetadataStore;
  onMetadataLeaderChange(listener: MetadataLeaderListener): void;
  /** Resolves once the local store has applied every entry the host handed over (a snapshot restore queues them). */
  whenMetadataApplied(): Promise<void>;
}

export interface ClusterGroupCoordinatorOptions {
  readonly node: MetadataGroupMember;
  /** A coordinator over the given store (the broker's usual ConsumerGroupCoordinator factory). */
  readonly createCoordinator: (store: ConsumerGroupStore) => GroupCoordinatorLike;
  readonly logger: Logger;
}

/** Pause between attempts to commit the barrier entry while still leader (e.g. during a leadership transfer). */
const BARRIER_RETRY_MS = 100;
/** Pause before loading the groups again after a failed load, while still leader. */
const LOAD_RETRY_MS = 1_000;

interface Coordinating {
  readonly term: Term;
  readonly coordinator: GroupCoordinatorLike;
  loaded: boolean;
}

export class ClusterGroupCoordinator implements GroupCoordinatorLike {
  private coordinating: Coordinating | null = null;
  /** A term whose barrier is being committed (before its coordinator exists). */
  private pendingTerm: Term | null = null;
  private started = false;
  private closed = false;

  constructor(private readonly options: ClusterGroupCoordinatorOptions) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { node } = this.options;
    node.onMetadataLeaderChange((_leaderId, term, role) => this.leadershipChanged(term, role));
    node.store.onTopicDeleted((topic) => void this.onTopicDeleted(topic));
    const raft = node.host.group(METADATA_RAFT_GROUP);
    if (raft !== undefined && raft.role === Role.Leader) this.leadershipChanged(raft.term, Role.Leader);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopCoordinating('broker stopping');
  }

  /** Whether this node coordinates groups now (loaded and serving); for tests and logs. */
  get isCoordinating(): boolean {
    return this.coordinating?.loaded === true;
  }

  private leadershipChanged(term: Term, role: Role): void {
    if (this.closed) return;
    if (role !== Role.Leader) {
      this.pendingTerm = null;
      void this.stopCoordinating('lost metadata leadership');
      return;
    }
    if (this.coordinating?.term === term || this.pendingTerm === term) return;
    void this.stopCoordinating('new metadata term');
    void this.beginCoordinating(term);
  }

  private async beginCoordinating(term: Term): Promise<void> {
    const { node, logger } = this.options;
    this.pendingTerm = term;
    const stillPending = (): boolean => this.pendingTerm === term && !this.closed;
    // Barrier: an entry of this term applied locally means every entry committed before it is applied here too.
    for (;;) {
      const raft = node.host.group(METADATA_RAFT_GROUP);
      if (!stillPending() || raft === undefined || raft.role !== Role.Leader || raft.term !== term) return;
      const barrier = await node.host.propose(METADATA_RAFT_GROUP, new Uint8Array(0));
      if (barrier.ok) {
        await node.whenMetadataApplied();
        node.store.takeResult(barrier.index);
        break;
      }
      logger.info({ term, reason: barrier.reason }, 'consumer-group barrier not committed; retrying while leader');
      await new Promise((r) => setTimeout(r, BARRIER_RETRY_MS).unref());
    }
    if (!stillPending()) return;
    this.pendingTerm = null;
    const store = new ReplicatedConsumerGroupStore(node, term);
    const coordinating: Coordinating = { term, coordinator: this.options.createCoordinator(store), loaded: false };
    this.coordinating = coordinating;
    const startedMs = Date.now();
    try {
      await coordinating.coordinator.start();
    } catch (err) {
      logger.error({ err, term }, 'consumer-group coordinator could not load the replicated groups; retrying while leader');
      if (this.coordinating !== coordinating) return;
      await this.stopCoordinating('load failed');
      // Still the leader (FindCoordinator keeps naming this node): try again rather than refuse groups for the term.
      setTimeout(() => {
        const raft = node.host.group(METADATA_RAFT_GROUP);
        if (this.closed || this.coordinating !== null || this.pendingTerm !== null || raft?.role !== Role.Leader || raft.term !== term) return;
        void this.beginCoordinating(term);
      }, LOAD_RETRY_MS).unref();
      return;
    }
    if (this.coordinating !== coordinating) return; // stopped meanwhile (stopCoordinating closed it)
    coordinating.loaded = true;
    logger.info({ term, loadMs: Date.now() - startedMs }, 'coordinating consumer groups (metadata leader)');
  }

  private async stopCoordinating(reason: string): Promise<void> {
    const current = this.coordinating;
    if (current === null) return;
    this.coordinating = null;
    this.options.logger.info({ term: current.term, reason }, 'stopped coordinating consumer groups');
    await current.coordinator.close().catch((err: unknown) => this.options.logger.error({ err }, 'consumer-group coordinator close failed'));
  }

  /** The metadata leader's registered Kafka address, or null while none is known. */
  private coordinatorAddress(): CoordinatorAddress | null {
    const leaderId = this.options.node.host.group(METADATA_RAFT_GROUP)?.leaderId ?? 0;
    if (leaderId === 0) return null;
    const broker = this.options.node.store.brokers().find((b) => b.nodeId === leaderId);
    return broker === undefined ? null : { nodeId: broker.nodeId, host: broker.host, port: broker.port };
  }

  /**
   * Hands the request to the coordinator when this node coordinates; otherwise (or when the coordinator loses its
   * role during the request) answers `refuse(errorCode)`.
   */
  private async route(call: (coordinator: GroupCoordinatorLike) => Promise<unknown>, refuse: (errorCode: number) => unknown): Promise<unknown> {
    const current = this.coordinating;
    if (current === null || this.closed) {
      return refuse(this.pendingTerm !== null && !this.closed ? GroupErrorCode.COORDINATOR_LOAD_IN_PROGRESS : GroupErrorCode.NOT_COORDINATOR);
    }
    if (!current.loaded) return refuse(GroupErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    try {
      return await call(current.coordinator);
    } catch (err) {
      if (err instanceof NotCoordinatorError) return refuse(GroupErrorCode.NOT_COORDINATOR);
      throw err;
    }
  }

  async onTopicDeleted(topic: string): Promise<void> {
    // The deleteTopic entry already removed the topic's offsets on every replica; this drops the coordinator's cache.
    await this.route(
      async (c) => c.onTopicDeleted(topic),
      () => undefined,
    ).catch((err: unknown) => this.options.logger.warn({ err, topic }, 'could not drop a deleted topic from the consumer-group cache'));
  }

  async findCoordinator(request: FindCoordinatorRequest, apiVersion: number, _ctx: RequestContext): Promise<unknown> {
    return findCoordinatorResponse(request, apiVersion, () => this.coordinatorAddress());
  }

  joinGroup(request: JoinGroupRequest, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.joinGroup(request as never, apiVersion, ctx), (code) => refuseGroupRequest.joinGroup(request, apiVersion, code));
  }

  syncGroup(request: never, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.syncGroup(request, apiVersion, ctx), (code) => refuseGroupRequest.syncGroup(code));
  }

  heartbeat(request: never, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.heartbeat(request, apiVersion, ctx), (code) => refuseGroupRequest.heartbeat(code));
  }

  leaveGroup(request: never, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.leaveGroup(request, apiVersion, ctx), (code) => refuseGroupRequest.leaveGroup(code));
  }

  offsetCommit(request: OffsetCommitRequest, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.offsetCommit(request as never, apiVersion, ctx), (code) => refuseGroupRequest.offsetCommit(request, code));
  }

  offsetFetch(request: OffsetFetchRequest, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.offsetFetch(request as never, apiVersion, ctx), (code) => refuseGroupRequest.offsetFetch(request, apiVersion, code));
  }

  listGroups(request: never, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.listGroups(request, apiVersion, ctx), (code) => refuseGroupRequest.listGroups(code));
  }

  describeGroups(request: DescribeGroupsRequest, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.describeGroups(request as never, apiVersion, ctx), (code) => refuseGroupRequest.describeGroups(request, code));
  }

  deleteGroups(request: DeleteGroupsRequest, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.deleteGroups(request as never, apiVersion, ctx), (code) => refuseGroupRequest.deleteGroups(request, code));
  }

  offsetDelete(request: never, apiVersion: number, ctx: RequestContext): Promise<unknown> {
    return this.route((c) => c.offsetDelete(request, apiVersion, ctx), (code) => refuseGroupRequest.offsetDelete(code));
  }
}
