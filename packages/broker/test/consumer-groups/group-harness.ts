// Drives a ConsumerGroupStateMachine the way the coordinator does, with a simulated clock and timers,
// recording answers and persisted records. Test helper only.
import {
  ConsumerGroupStateMachine,
  memberId,
  requestToken,
  type GroupEffect,
  type GroupTimer,
  type JoinResult,
  type PersistedGroup,
  type RequestToken,
  type SyncResult,
} from '../../src/consumer-groups/group-state-machine.js';
import { encodeSubscription } from '../../src/consumer-groups/consumer-protocol.js';

export interface JoinOptions {
  memberId?: string;
  instanceId?: string | null;
  clientId?: string;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  protocolType?: string;
  protocols?: { name: string; metadata: Buffer }[];
  requireKnownMemberId?: boolean;
  supportsSkipAssignment?: boolean;
}

export class GroupHarness {
  nowMs = 0;
  readonly group: ConsumerGroupStateMachine;
  readonly joins = new Map<RequestToken, JoinResult>();
  readonly syncs = new Map<RequestToken, SyncResult>();
  readonly timers = new Map<GroupTimer, number>();
  readonly persisted: PersistedGroup[] = [];
  private tokens = 1;
  private ids = 1;

  constructor(initialRebalanceDelayMs = 0, group?: ConsumerGroupStateMachine) {
    this.group = group ?? new ConsumerGroupStateMachine('g', { initialRebalanceDelayMs }, 0);
  }

  apply(effects: readonly GroupEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'armTimer':
          this.timers.set(e.timer, e.deadlineMs);
          break;
        case 'cancelTimer':
          this.timers.delete(e.timer);
          break;
        case 'persistGroup':
          this.persisted.push(e.record);
          break;
        case 'completeJoin':
          if (this.joins.has(e.token)) throw new Error(`join ${e.token} answered twice`);
          this.joins.set(e.token, e.result);
          break;
        case 'completeSync':
          if (this.syncs.has(e.token)) throw new Error(`sync ${e.token} answered twice`);
          this.syncs.set(e.token, e.result);
          break;
      }
    }
  }

  join(options: JoinOptions = {}): RequestToken {
    const token = requestToken(this.tokens++);
    const clientId = options.clientId ?? 'client';
    this.apply(
      this.group.join(
        {
          token,
          memberId: options.memberId ?? '',
          groupInstanceId: options.instanceId ?? null,
          clientId,
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
          rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
          protocolType: options.protocolType ?? 'consumer',
          protocols: options.protocols ?? [{ name: 'range', metadata: encodeSubscription(['t']) }],
          requireKnownMemberId: options.requireKnownMemberId ?? false,
          supportsSkipAssignment: options.supportsSkipAssignment ?? false,
          newMemberId: memberId(`${clientId}-${this.ids++}`),
        },
        this.nowMs,
      ),
    );
    return token;
  }

  sync(id: string, generationId: number, assignments: Record<string, string> = {}, extra: { instanceId?: string | null; protocolName?: string | null; protocolType?: string | null } = {}): RequestToken {
    const token = requestToken(this.tokens++);
    this.apply(
      this.group.sync(
        {
          token,
          memberId: id,
          groupInstanceId: extra.instanceId ?? null,
          generationId,
          protocolType: extra.protocolType ?? null,
          protocolName: extra.protocolName ?? null,
          assignments: new Map(Object.entries(assignments).map(([k, v]) => [k, Buffer.from(v)])),
        },
        this.nowMs,
      ),
    );
    return token;
  }

  heartbeat(id: string, generationId: number, instanceId: string | null = null): number {
    const outcome = this.group.heartbeat({ memberId: id, groupInstanceId: instanceId, generationId }, this.nowMs);
    this.apply(outcome.effects);
    return outcome.errorCode;
  }

  leave(...members: { memberId: string; groupInstanceId?: string | null }[]): number[] {
    const outcome = this.group.leave(
      members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null })),
      this.nowMs,
    );
    this.apply(outcome.effects);
    return outcome.errorCodes;
  }

  commitCheck(id: string, generationId: number, instanceId: string | null = null): number {
    const outcome = this.group.validateOffsetCommit({ memberId: id, groupInstanceId: instanceId, generationId }, this.nowMs);
    this.apply(outcome.effects);
    return outcome.errorCode;
  }

  /** Moves the clock forward, firing due timers in deadline order (including ones armed while firing). */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      let next: [GroupTimer, number] | null = null;
      for (const entry of this.timers) if (entry[1] <= target && (next === null || entry[1] < next[1])) next = entry;
      if (next === null) break;
      this.timers.delete(next[0]);
      this.nowMs = Math.max(this.nowMs, next[1]);
      this.apply(this.group.timerExpired(next[0], this.nowMs));
    }
    this.nowMs = target;
  }

  joined(token: RequestToken): JoinResult {
    const result = this.joins.get(token);
    if (result === undefined) throw new Error(`join ${token} not answered`);
    return result;
  }

  synced(token: RequestToken): SyncResult {
    const result = this.syncs.get(token);
    if (result === undefined) throw new Error(`sync ${token} not answered`);
    return result;
  }

  /** Full v4+ join of a new member: MEMBER_ID_REQUIRED then the join with the given id. Returns the parked token and id. */
  joinNew(options: JoinOptions = {}): { token: RequestToken; memberId: string } {
    const first = this.joined(this.join({ ...options, requireKnownMemberId: true }));
    if (first.errorCode !== 79) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`);
    return { token: this.join({ ...options, memberId: first.memberId, requireKnownMemberId: true }), memberId: first.memberId };
  }
}
