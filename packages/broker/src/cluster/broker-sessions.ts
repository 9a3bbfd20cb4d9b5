// The metadata leader's broker sessions and its fencing decisions (Kafka KRaft's broker heartbeat rule, here a pure
// function of the heartbeats the leader received and the replicated fenced state, so it can be tested alone):
// - an unfenced broker whose last heartbeat is older than the session timeout is fenced (`sessionExpired`);
// - an unfenced broker that heartbeats "shutting down" is fenced (`controlledShutdown`);
// - a fenced broker is unfenced once it heartbeats again (within the session, not shutting down) having applied the
//   metadata entry that fenced it (it has caught up with metadata past its own fencing).
// Sessions live only in the leader's memory. A new leadership term starts every session afresh (as if each broker
// had just heartbeated): the new leader has heard nobody yet and must not fence everybody at takeover. The same
// fresh start follows a stall of the leader's own loop (GC, SIGSTOP, an overloaded machine): heartbeats that
// queued up meanwhile say nothing about the brokers, only about this process.
// One exception to "silent means fenced", for rolling upgrades from a version without heartbeats: a broker that has
// never heartbeated to this process while its node is heard on the Raft transport is an older broker, not a dead
// one; it is left unfenced (hiding it would make every partition it leads LEADER_NOT_AVAILABLE until upgraded).

export interface BrokerHeartbeat {
  readonly nodeId: number;
  /** The metadata index the broker had applied when it sent the heartbeat. */
  readonly metadataAppliedIndex: number;
  readonly shuttingDown: boolean;
}

/** A registered broker as the leader's replicated store sees it. */
export interface RegisteredBroker {
  readonly nodeId: number;
  /** Raft index of the entry that fenced it; null while unfenced. */
  readonly fencedIndex: number | null;
  /** When this node last received anything from the broker's node on the Raft transport (undefined: never). */
  readonly nodeHeardAtMs: number | undefined;
}

export type FencingDecision =
  | { readonly kind: 'fence'; readonly nodeId: number; readonly reason: 'sessionExpired' | 'controlledShutdown'; readonly lastHeartbeatMs: number | null }
  | { readonly kind: 'unfence'; readonly nodeId: number; readonly metadataAppliedIndex: number };

interface Session {
  /** Last heartbeat, or the fresh start given at takeover / after a stall. */
  lastHeartbeatMs: number;
  /** A heartbeat was received in this session (a fresh start alone never unfences). */
  heartbeated: boolean;
  metadataAppliedIndex: number;
  shuttingDown: boolean;
}

export class BrokerSessions {
  private sessions = new Map<number, Session>();
  private lastDecisionMs: number | null = null;
  /** Brokers that ever heartbeated to this process (any term): they run a version that heartbeats. */
  private readonly heartbeating = new Set<number>();

  /**
   * @param sessionTimeoutMs a broker not heard for longer is fenced (Kafka: broker.session.timeout.ms)
   * @param stallMs a gap this long between two `decide` calls means this process stalled: fresh start for all
   */
  constructor(
    private readonly sessionTimeoutMs: number,
    private readonly stallMs: number,
  ) {}

  /** A new leadership term: forget everything heard before; every broker's session starts afresh at the next decision. */
  restart(): void {
    this.sessions.clear();
    this.lastDecisionMs = null;
  }

  heartbeat(hb: BrokerHeartbeat, nowMs: number): void {
    this.heartbeating.add(hb.nodeId);
    this.sessions.set(hb.nodeId, { lastHeartbeatMs: nowMs, heartbeated: true, metadataAppliedIndex: hb.metadataAppliedIndex, shuttingDown: hb.shuttingDown });
  }

  /** Milliseconds since the broker's last heartbeat (or fresh start); undefined before its session exists. */
  sinceHeartbeatMs(nodeId: number, nowMs: number): number | undefined {
    const s = this.sessions.get(nodeId);
    return s === undefined ? undefined : nowMs - s.lastHeartbeatMs;
  }

  /** The fence/unfence commands the leader should propose now (none for a broker already in the wanted state). */
  decide(nowMs: number, brokers: readonly RegisteredBroker[]): FencingDecision[] {
    if (this.lastDecisionMs !== null && nowMs - this.lastDecisionMs > this.stallMs) {
      for (const s of this.sessions.values()) {
        if (s.shuttingDown) continue;
        s.lastHeartbeatMs = nowMs;
        s.heartbeated = false;
      }
    }
    this.lastDecisionMs = nowMs;
    const decisions: FencingDecision[] = [];
    for (const b of brokers) {
      let s = this.sessions.get(b.nodeId);
      if (s === undefined) this.sessions.set(b.nodeId, (s = { lastHeartbeatMs: nowMs, heartbeated: false, metadataAppliedIndex: -1, shuttingDown: false }));
      const expired = nowMs - s.lastHeartbeatMs > this.sessionTimeoutMs;
      if (b.fencedIndex === null) {
        if (s.shuttingDown) decisions.push({ kind: 'fence', nodeId: b.nodeId, reason: 'controlledShutdown', lastHeartbeatMs: s.lastHeartbeatMs });
        else if (expired && !this.olderVersionAlive(b, nowMs)) decisions.push({ kind: 'fence', nodeId: b.nodeId, reason: 'sessionExpired', lastHeartbeatMs: s.heartbeated ? s.lastHeartbeatMs : null });
      } else if (s.heartbeated && !s.shuttingDown && !expired && s.metadataAppliedIndex >= b.fencedIndex) {
        decisions.push({ kind: 'unfence', nodeId: b.nodeId, metadataAppliedIndex: s.metadataAppliedIndex });
      }
    }
    return decisions;
  }

  private olderVersionAlive(b: RegisteredBroker, nowMs: number): boolean {
    return !this.heartbeating.has(b.nodeId) && b.nodeHeardAtMs !== undefined && nowMs - b.nodeHeardAtMs <= this.sessionTimeoutMs;
  }
}
