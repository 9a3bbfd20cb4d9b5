// Partition leadership on one broker: the ISR of every partition this node leads (leadership-isr.ts), preferred
// leader election (ElectLeaders, forwarded to the partition's current leader over the control channel), and the
// automatic balancer that hands each led partition back to its preferred replica (the first of its assignment)
// when that replica is in sync — every `leaderBalanceIntervalMs`, and shortly after a peer (re)joins.
//
// Leadership moves only through Raft's leadership transfer (the leader catches the target up, then tells it to
// campaign at once), so a balancing step never elects a replica that lacks a committed entry. Each broker balances
// only the partitions it leads; with every leader doing so, leaders converge to the preferred replicas, which
// topic creation spreads round-robin over the brokers.
import type { Logger } from 'pino';
import { nodeId as toNodeId, Role, type RaftGroupId, type RaftNode } from '@tributary/raft';
import { ErrorCode } from '@tributary/protocol';
import type { ClusterNode, ControlRequest } from './cluster-node.js';
import { IsrTracker, type LeaderProgress } from './leadership-isr.js';
import { LeadershipMetrics, type LedPartition } from './leadership-metrics.js';
import type { BrokerConfig } from '../config.js';
import { effectiveTopicConfig } from '../topic-configs.js';
import type { Registry } from 'prom-client';
import type { RaftPartition } from './raft-partition.js';
import { sleep } from './sleep.js';

/** How often the leader samples its last index for the ISR rule. */
const SAMPLE_INTERVAL_MS = 250;
/** After a peer is heard again (restart, healed partition), wait this long before balancing (let it catch up). */
const REJOIN_SETTLE_MS = 2_000;
/**
 * A transfer target must have been heard from this recently (about one election timeout; nodes ping each other
 * every Raft tick). The ISR's lag time is far longer, and a transfer to a node that just died blocks the partition's
 * produce for an election timeout. Also the rule of the reassignment driver's hand-overs.
 */
export const TRANSFER_TARGET_HEARD_MS = 1_000;
/** How long a shutting-down node waits for its peers to acknowledge that it is leaving. */
const ANNOUNCE_TIMEOUT_MS = 500;
/** Longest an ElectLeaders partition waits for its transfer to complete. */
const ELECTION_WAIT_MAX_MS = 10_000;
const FORWARD_MARGIN_MS = 1_000;
const POLL_MS = 50;

/** The broker configuration (lag time, balance interval, and the topic config defaults for min.insync.replicas). */
export type LeadershipSettings = BrokerConfig;

/** What the service needs of the partition registry. */
export interface HostedReplicas {
  hostedReplicas(): Iterable<RaftPartition>;
  replica(topic: string, partition: number): RaftPartition | undefined;
}

export interface ElectionOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

interface ElectPreferredRequest extends ControlRequest {
  readonly control: 'electPreferred';
  readonly topic: string;
  readonly partition: number;
  readonly timeoutMs: number;
}

const ok: ElectionOutcome = { errorCode: ErrorCode.NONE, errorMessage: null };

export class LeadershipService {
  private readonly trackers = new WeakMap<RaftPartition, IsrTracker>();
  private sampleTimer: NodeJS.Timeout | undefined;
  private balanceTimer: NodeJS.Timeout | undefined;
  private rejoinTimer: NodeJS.Timeout | undefined;
  /** Peers heard within the lag time at the last sample (a peer that was not and now is has (re)joined). */
  private livePeers = new Set<number>();
  private balancing = false;
  private stopped = false;
  private metrics: LeadershipMetrics | undefined;
  /**
   * Peers that announced a graceful shutdown: no leadership is moved to them until they announce they joined again
   * (or fall silent and come back). Without this a balancing pass could hand a partition back to a preferred replica
   * in the middle of its shutdown, and clients would wait for an election instead of seeing the handover.
   */
  private readonly leavingPeers = new Set<number>();
  /** Fresh groups this node, their preferred replica, asked to elect it at once (see `campaignIfFresh`). */
  private readonly campaigned = new WeakSet<RaftPartition>();

  constructor(
    private readonly node: ClusterNode,
    private readonly replicas: HostedReplicas,
    private readonly settings: LeadershipSettings,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.node.onControl('electPreferred', (_from, request) => this.answerElectPreferred(request as ElectPreferredRequest));
    this.node.onControl('leaving', (from) => {
      this.leavingPeers.add(from);
      this.logger.info({ peer: from }, 'peer is shutting down: no leadership moves to it');
      return Promise.resolve(true);
    });
    this.node.onControl('joined', (from) => {
      this.leavingPeers.delete(from);
      this.scheduleRejoinBalance();
      return Promise.resolve(true);
    });
    // Tell the peers this node is (back) in service, so their balancers hand its preferred partitions back soon.
    for (const peer of this.peerIds()) void this.node.requestControl(peer, { control: 'joined' }, ANNOUNCE_TIMEOUT_MS);
    this.sampleTimer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.sampleTimer.unref();
    if (this.settings.leaderBalanceIntervalMs > 0) {
      this.balanceTimer = setInterval(() => void this.balance('interval'), this.settings.leaderBalanceIntervalMs);
      this.balanceTimer.unref();
    }
  }

  /**
   * First step of a graceful shutdown: stop balancing here and tell every peer this node is leaving (bounded wait),
   * so no peer hands it leadership while it transfers its own away.
   */
  async announceShutdown(): Promise<void> {
    this.stop();
    await Promise.all(this.peerIds().map((peer) => this.node.requestControl(peer, { control: 'leaving' }, ANNOUNCE_TIMEOUT_MS)));
  }

  private peerIds(): number[] {
    return this.node.store.brokers().map((b) => b.nodeId).filter((id) => id !== this.node.selfId);
  }

  private scheduleRejoinBalance(): void {
    if (this.settings.leaderBalanceIntervalMs === 0 || this.rejoinTimer !== undefined || this.stopped) return;
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = undefined;
      void this.balance('peer joined');
    }, REJOIN_SETTLE_MS);
    this.rejoinTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.sampleTimer);
    clearInterval(this.balanceTimer);
    clearTimeout(this.rejoinTimer);
  }

  /** The Raft node of a hosted partition (undefined once its group is gone). */
  raftOf(p: RaftPartition): RaftNode | undefined {
    return this.node.host.group(p.raftGroup as RaftGroupId);
  }

  private trackerOf(p: RaftPartition): IsrTracker {
    let t = this.trackers.get(p);
    if (t === undefined) this.trackers.set(p, (t = new IsrTracker()));
    return t;
  }

  private progressOf(raft: RaftNode): LeaderProgress {
    const match = new Map<number, number>();
    for (const [peer, pr] of raft.progress()) if (raft.conf.voters.includes(peer)) match.set(peer, pr.match);
    match.set(this.node.selfId, raft.lastIndex);
    return { selfId: this.node.selfId, term: raft.term, lastIndex: raft.lastIndex, match };
  }

  private sample(): void {
    if (this.stopped) return;
    const now = Date.now();
    const lag = this.settings.replicaLagTimeMs;
    for (const p of this.replicas.hostedReplicas()) {
      const raft = this.raftOf(p);
      if (raft?.role === Role.Leader) this.trackerOf(p).observe(raft.term, raft.lastIndex, now, lag);
      else if (raft !== undefined) this.campaignIfFresh(p, raft);
    }
    // (Re)joined peers: balance soon, so a restarted preferred replica gets its partitions back. A leaving peer that
    // fell silent is forgotten: when it is heard again it has restarted.
    const live = new Set<number>();
    for (const id of this.peerIds()) {
      const heard = this.node.peerHeardAtMs(id);
      if (heard !== undefined && now - heard <= lag) live.add(id);
      else this.leavingPeers.delete(id);
    }
    const joined = [...live].filter((id) => !this.livePeers.has(id));
    this.livePeers = live;
    if (joined.length > 0) this.scheduleRejoinBalance();
  }

  /**
   * A partition group that never had an election (term 0: just created) starts one at once on its preferred
   * replica, so a new topic's leaders are its preferred replicas (spread round-robin by the assignment) instead of
   * whichever replica's election timer fires first, and the balancer has nothing to move. Only a head start: if the
   * other replicas do not host the group yet, the normal election timeout elects someone later.
   */
  private campaignIfFresh(p: RaftPartition, raft: RaftNode): void {
    if (raft.term !== 0 || raft.leaderId !== 0 || this.campaigned.has(p)) return;
    if (this.preferredOf(p) !== this.node.selfId) return;
    this.campaigned.add(p);
    raft.campaignNow();
  }

  /** The in-sync replicas of a partition this node leads; undefined when it does not lead it. */
  inSyncReplicas(p: RaftPartition): number[] | undefined {
    const raft = this.raftOf(p);
    if (raft === undefined || raft.role !== Role.Leader) return undefined;
    // A fenced broker is offline (Kafka takes it out of every ISR), whatever its Raft traffic says.
    return this.trackerOf(p).inSync(this.progressOf(raft), Date.now(), this.settings.replicaLagTimeMs, (peer) => (this.isFenced(peer) ? undefined : this.node.peerHeardAtMs(peer)));
  }

  /** This node, or a peer heard from within the lag time (the ISR's liveness bound, as this node sees it). */
  heardWithinLag(broker: number): boolean {
    if (broker === this.node.selfId) return true;
    const heard = this.node.peerHeardAtMs(broker);
    return heard !== undefined && Date.now() - heard <= this.settings.replicaLagTimeMs;
  }

  /** Fenced in the metadata group (replicated: the same answer on every caught-up broker). */
  isFenced(broker: number): boolean {
    return this.node.store.isFenced(broker);
  }

  /** Kafka moves no leadership to a fenced broker; nor do we, nor to one shutting down or silent for a second. */
  private transferTargetAlive(peer: number): boolean {
    const heard = this.node.peerHeardAtMs(peer);
    return heard !== undefined && Date.now() - heard <= TRANSFER_TARGET_HEARD_MS && !this.leavingPeers.has(peer) && !this.isFenced(peer);
  }

  private preferredOf(p: RaftPartition): number | undefined {
    return this.node.store.getTopic(p.topic)?.assignments[p.partition]?.replicas[0];
  }

  /** Registers the leadership gauges and counters (computed at scrape time from the partitions this node leads). */
  registerMetrics(registry: Registry): void {
    this.metrics = new LeadershipMetrics(registry, () => this.ledPartitions());
  }

  private *ledPartitions(): Iterable<LedPartition> {
    for (const p of this.replicas.hostedReplicas()) {
      const isr = this.inSyncReplicas(p);
      const topic = this.node.store.getTopic(p.topic);
      const replicas = topic?.assignments[p.partition]?.replicas;
      if (isr === undefined || topic === undefined || replicas === undefined) continue;
      yield {
        replicas: replicas.length,
        inSync: isr.length,
        minInsyncReplicas: effectiveTopicConfig(this.settings, topic.configs).minInsyncReplicas,
        onPreferredReplica: replicas[0] === this.node.selfId,
      };
    }
  }

  /** One balancing pass over the partitions this node leads. Returns how many transfers it started. */
  async balance(reason: string): Promise<number> {
    if (this.balancing || this.stopped) return 0;
    this.balancing = true;
    let started = 0;
    try {
      for (const p of [...this.replicas.hostedReplicas()]) {
        const preferred = this.preferredOf(p);
        if (preferred === undefined || preferred === this.node.selfId || !this.transferTargetAlive(preferred)) continue;
        const isr = this.inSyncReplicas(p);
        if (isr === undefined || !isr.includes(preferred)) continue;
        if (this.node.host.transferLeadership(p.raftGroup as RaftGroupId, toNodeId(preferred))) {
          started++;
          this.metrics?.transfers.inc({ reason: 'balance' });
        }
      }
      if (started > 0) this.logger.info({ reason, transfers: started }, 'moving partition leadership to preferred replicas');
    } finally {
      this.balancing = false;
    }
    return started;
  }

  /**
   * ElectLeaders PREFERRED for one partition, from any broker: done by the partition's current leader (here, or
   * asked over the control channel). Waits (bounded) until the preferred replica leads.
   */
  async electPreferred(topic: string, partition: number, timeoutMs: number): Promise<ElectionOutcome> {
    const assignment = this.node.store.getTopic(topic)?.assignments[partition];
    if (assignment === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown partition ${topic}-${partition}` };
    const preferred = assignment.replicas[0]!;
    const local = this.replicas.replica(topic, partition);
    const raft = local === undefined ? undefined : this.raftOf(local);
    const leader = raft !== undefined ? raft.leaderId : assignment.leader;
    if (leader === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `broker ${preferred} already leads ${topic}-${partition}` };
    if (leader <= 0) return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `${topic}-${partition} has no leader to hand over from` };
    const waitMs = Math.min(Math.max(timeoutMs, 0), ELECTION_WAIT_MAX_MS);
    if (leader === this.node.selfId) return this.electPreferredHere(topic, partition, waitMs);
    const request: ElectPreferredRequest = { control: 'electPreferred', topic, partition, timeoutMs: waitMs };
    const answer = (await this.node.requestControl(leader, request, waitMs + FORWARD_MARGIN_MS)) as ElectionOutcome | null;
    return answer ?? { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `no answer from broker ${leader}, the leader of ${topic}-${partition}` };
  }

  private answerElectPreferred(request: ElectPreferredRequest): Promise<ElectionOutcome> {
    return this.electPreferredHere(request.topic, request.partition, Math.min(request.timeoutMs, ELECTION_WAIT_MAX_MS));
  }

  private async electPreferredHere(topic: string, partition: number, waitMs: number): Promise<ElectionOutcome> {
    const p = this.replicas.replica(topic, partition);
    const raft = p === undefined ? undefined : this.raftOf(p);
    const preferred = p === undefined ? undefined : this.preferredOf(p);
    if (p === undefined || raft === undefined || preferred === undefined) {
      return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, errorMessage: `broker ${this.node.selfId} does not host ${topic}-${partition}` };
    }
    if (raft.leaderId === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `broker ${preferred} already leads ${topic}-${partition}` };
    if (raft.role !== Role.Leader) {
      return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, errorMessage: `broker ${this.node.selfId} no longer leads ${topic}-${partition}` };
    }
    if (!this.transferTargetAlive(preferred)) {
      return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `preferred replica ${preferred} of ${topic}-${partition} is fenced, shutting down or not responding` };
    }
    const isr = this.inSyncReplicas(p) ?? [];
    if (!isr.includes(preferred)) {
      return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `preferred replica ${preferred} of ${topic}-${partition} is not in sync (ISR ${isr.join(',')})` };
    }
    if (!this.node.host.transferLeadership(p.raftGroup as RaftGroupId, toNodeId(preferred))) {
      return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `leadership of ${topic}-${partition} cannot move to ${preferred}` };
    }
    this.metrics?.transfers.inc({ reason: 'elect' });
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !this.stopped) {
      if (raft.leaderId === preferred) return ok;
      await sleep(POLL_MS);
    }
    return raft.leaderId === preferred
      ? ok
      : { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `broker ${preferred} did not take over ${topic}-${partition} within ${waitMs} ms` };
  }
}
