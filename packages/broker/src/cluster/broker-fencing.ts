// Broker fencing in the metadata group (Kafka KRaft's broker sessions): every broker heartbeats to the metadata
// leader over the control channel every `brokerHeartbeatIntervalMs`; the leader keeps the sessions
// (broker-sessions.ts) and proposes `fenceBroker` / `unfenceBroker` when one lapses / a fenced broker heartbeats
// again having caught up. A graceful shutdown heartbeats "shutting down" and waits (bounded) until the leader has
// fenced it through the log. Metadata, DescribeCluster, topic assignment and the balancer read the replicated
// fenced state (MetadataStore.fencedBrokers), so every caught-up broker answers the same.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { Role } from '@tributary/raft';
import { METADATA_RAFT_GROUP, type ClusterNode, type ControlRequest } from './cluster-node.js';
import { BrokerSessions, type FencingDecision } from './broker-sessions.js';
import type { MetadataCommand } from './metadata-commands.js';
import { sleep } from './sleep.js';

export interface BrokerFencingSettings {
  /** A broker not heard for longer is fenced (Kafka: broker.session.timeout.ms). */
  readonly brokerSessionTimeoutMs: number;
  /** How often a broker heartbeats to the metadata leader (Kafka: broker.heartbeat.interval.ms). */
  readonly brokerHeartbeatIntervalMs: number;
}

interface HeartbeatRequest extends ControlRequest {
  readonly control: 'brokerHeartbeat';
  readonly metadataAppliedIndex: number;
  readonly shuttingDown: boolean;
}

type HeartbeatAnswer = { readonly status: 'notLeader' } | { readonly status: 'ok'; readonly fenced: boolean };

/** How often the leader re-evaluates the sessions. */
const DECISION_INTERVAL_MS = 200;

export class BrokerFencingService {
  private readonly sessions: BrokerSessions;
  /** The metadata term whose leadership the sessions belong to (-1: not leading). */
  private sessionsTerm = -1;
  /** Brokers with a fence/unfence proposal in flight (one at a time per broker). */
  private readonly proposing = new Set<number>();
  private decisionTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  private shuttingDown = false;
  private stopped = false;

  constructor(
    private readonly node: ClusterNode,
    private readonly settings: BrokerFencingSettings,
    private readonly logger: Logger,
  ) {
    // A stall of a third of the session: heartbeats every interval cannot all have been missed by the brokers.
    this.sessions = new BrokerSessions(settings.brokerSessionTimeoutMs, Math.max(settings.brokerSessionTimeoutMs / 3, 4 * DECISION_INTERVAL_MS));
  }

  start(): void {
    this.node.onControl('brokerHeartbeat', (from, request) => this.answerHeartbeat(from, request as HeartbeatRequest));
    this.decisionTimer = setInterval(() => void this.evaluate(), DECISION_INTERVAL_MS);
    this.decisionTimer.unref();
    this.heartbeatTimer = setInterval(() => void this.sendHeartbeat(), this.settings.brokerHeartbeatIntervalMs);
    this.heartbeatTimer.unref();
    void this.sendHeartbeat();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.decisionTimer);
    clearInterval(this.heartbeatTimer);
  }

  /** Registers `tributary_brokers_fenced` (this broker's replicated view). */
  registerMetrics(registry: Registry): void {
    const store = this.node.store;
    new Gauge({
      name: 'tributary_brokers_fenced',
      help: 'Registered brokers fenced in the metadata group (session expired or shut down), as this broker has applied it',
      registers: [registry],
      collect() {
        this.set(store.fencedBrokers().size);
      },
    });
  }

  /** Resolves true once this broker is unfenced in its local copy of the metadata (false after `timeoutMs`). */
  async waitUnfenced(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.node.store.isFenced(this.node.selfId) && Date.now() < deadline && !this.stopped) await sleep(50);
    return !this.node.store.isFenced(this.node.selfId);
  }

  /**
   * Controlled shutdown: stops the regular heartbeats and heartbeats "shutting down" to the metadata leader until it
   * answers that this broker is fenced (bounded; without a metadata quorum the session expiry fences it later).
   */
  async controlledShutdown(timeoutMs: number): Promise<boolean> {
    this.shuttingDown = true;
    clearInterval(this.heartbeatTimer);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.stopped) {
      const answer = await this.heartbeatOnce(true, Math.max(1, Math.min(this.settings.brokerHeartbeatIntervalMs, deadline - Date.now())));
      if (answer?.status === 'ok' && answer.fenced) {
        this.logger.info({ nodeId: this.node.selfId }, 'broker fenced in the metadata group for controlled shutdown');
        return true;
      }
      if (answer === null || answer.status !== 'ok') await sleep(100);
    }
    this.logger.warn({ nodeId: this.node.selfId, timeoutMs }, 'controlled shutdown: the metadata leader did not fence this broker in time (its session will expire instead)');
    return false;
  }

  private async sendHeartbeat(): Promise<void> {
    if (this.heartbeatInFlight || this.shuttingDown || this.stopped) return;
    this.heartbeatInFlight = true;
    try {
      await this.heartbeatOnce(false, this.settings.brokerHeartbeatIntervalMs);
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  private async heartbeatOnce(shuttingDown: boolean, timeoutMs: number): Promise<HeartbeatAnswer | null> {
    const request: HeartbeatRequest = { control: 'brokerHeartbeat', metadataAppliedIndex: this.node.store.appliedIndex, shuttingDown };
    const leader = this.node.metadataLeaderId;
    if (leader === 0) return null;
    if (leader === this.node.selfId) return this.answerHeartbeat(this.node.selfId, request);
    return (await this.node.requestControl(leader, request, timeoutMs).catch(() => null)) as HeartbeatAnswer | null;
  }

  /** The metadata term this node leads, or -1. */
  private leadingTerm(): number {
    const raft = this.node.host.group(METADATA_RAFT_GROUP);
    return raft !== undefined && raft.role === Role.Leader ? raft.term : -1;
  }

  /** Sessions of the current term (a new term starts them afresh); false when this node does not lead. */
  private syncTerm(): boolean {
    const term = this.leadingTerm();
    if (term !== this.sessionsTerm) {
      this.sessionsTerm = term;
      this.sessions.restart();
      if (term !== -1) this.logger.info({ term, sessionTimeoutMs: this.settings.brokerSessionTimeoutMs }, 'metadata leader: broker sessions start afresh');
    }
    return term !== -1;
  }

  private async answerHeartbeat(from: number, request: HeartbeatRequest): Promise<HeartbeatAnswer> {
    if (!this.syncTerm()) return { status: 'notLeader' };
    const nodeId = Number(from);
    this.sessions.heartbeat({ nodeId, metadataAppliedIndex: Number(request.metadataAppliedIndex), shuttingDown: request.shuttingDown === true }, Date.now());
    // A shutting-down broker waits for its fence: decide now rather than at the next tick.
    if (request.shuttingDown === true) await this.evaluate();
    return { status: 'ok', fenced: this.node.store.isFenced(nodeId) };
  }

  /** On the metadata leader: proposes what the sessions call for. Resolves when those proposals are done. */
  private async evaluate(): Promise<void> {
    if (this.stopped || !this.syncTerm()) return;
    const store = this.node.store;
    const now = Date.now();
    const fenced = store.fencedBrokers();
    const decisions = this.sessions.decide(
      now,
      store.brokers().map((b) => ({
        nodeId: b.nodeId,
        fencedIndex: fenced.get(b.nodeId)?.fencedIndex ?? null,
        nodeHeardAtMs: b.nodeId === this.node.selfId ? now : this.node.peerHeardAtMs(b.nodeId),
      })),
    );
    await Promise.all(decisions.filter((d) => !this.proposing.has(d.nodeId)).map((d) => this.propose(d, now)));
  }

  private async propose(decision: FencingDecision, nowMs: number): Promise<void> {
    const command: MetadataCommand =
      decision.kind === 'fence'
        ? { kind: 'fenceBroker', nodeId: decision.nodeId, reason: decision.reason, decidedAtMs: nowMs, lastHeartbeatMs: decision.lastHeartbeatMs }
        : { kind: 'unfenceBroker', nodeId: decision.nodeId, decidedAtMs: nowMs, metadataAppliedIndex: decision.metadataAppliedIndex };
    this.proposing.add(decision.nodeId);
    try {
      const outcome = await this.node.proposeOnce(command);
      if (outcome.kind === 'unavailable') {
        // Expected around leader changes; the next evaluation decides again.
        this.logger.debug({ decision, reason: outcome.reason }, 'broker fencing decision not applied');
        return;
      }
      if (!outcome.result.ok) {
        // A stale unfence (a newer fence was committed since the heartbeat): the next evaluation decides again.
        this.logger.debug({ decision, reason: outcome.result.message }, 'broker fencing decision refused at apply');
        return;
      }
      if (decision.kind === 'fence' && decision.reason === 'sessionExpired') {
        this.logger.warn(
          { nodeId: decision.nodeId, lastHeartbeatAgoMs: decision.lastHeartbeatMs === null ? null : nowMs - decision.lastHeartbeatMs, sessionTimeoutMs: this.settings.brokerSessionTimeoutMs },
          'fenced broker: heartbeat session expired',
        );
      } else if (decision.kind === 'fence') {
        this.logger.info({ nodeId: decision.nodeId }, 'fenced broker: controlled shutdown');
      } else {
        this.logger.info({ nodeId: decision.nodeId, metadataAppliedIndex: decision.metadataAppliedIndex }, 'unfenced broker: heartbeating and caught up with metadata');
      }
    } finally {
      this.proposing.delete(decision.nodeId);
    }
  }
}
