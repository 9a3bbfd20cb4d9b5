// The group coordinator: answers the consumer-group APIs by driving one ConsumerGroupStateMachine per group,
// owning the timers (one TimerQueue, one pending timeout), the parked JoinGroup/SyncGroup requests and the
// durable store of committed offsets and group records. On a single node it coordinates every group key.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { GroupErrorCode } from './error-codes.js';
import {
  ConsumerGroupStateMachine,
  memberId,
  requestToken,
  type GroupConfig,
  type GroupEffect,
  type GroupTimer,
  type JoinResult,
  type RequestToken,
  type SyncResult,
} from './group-state-machine.js';
import { NotCoordinatorError, type CommittedOffset, type ConsumerGroupStore, type TopicPartitionRef } from './group-store.js';
import { SqliteConsumerGroupStore } from './sqlite-group-store.js';
import { TimerQueue } from './timer-queue.js';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeGroupsResponseGroup,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  FindCoordinatorResponseCoordinator,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetCommitResponseTopic,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetDeleteResponseTopic,
  OffsetFetchRequest,
  OffsetFetchRequestTopic,
  OffsetFetchResponse,
  OffsetFetchResponseGroup,
  OffsetFetchResponseTopic,
  RequestContext,
  SyncGroupRequest,
  SyncGroupResponse,
} from './wire-types.js';

/** Schedules the coordinator's single wake-up; injectable so tests can drive a fake clock. */
export interface TimerScheduler {
  setTimer(delayMs: number, callback: () => void): unknown;
  clearTimer(handle: unknown): void;
}

export interface ConsumerGroupCoordinatorOptions {
  nodeId: number;
  advertisedHost: string;
  advertisedPort: number;
  dataDir: string;
  logger: Logger;
  /** Partition count of an existing topic, undefined when the topic does not exist. */
  topicPartitionCount(topic: string): number | undefined;
  nowMs?: () => number;
  /** group.initial.rebalance.delay.ms (default 3000). */
  initialRebalanceDelayMs?: number;
  /** offsets.retention.minutes expressed in ms (default 7 days). */
  offsetsRetentionMs?: number;
  /** offsets.retention.check.interval.ms (default 10 minutes). */
  offsetsRetentionCheckIntervalMs?: number;
  /** group.min.session.timeout.ms (default 6000) and group.max.session.timeout.ms (default 1800000). */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** offset.metadata.max.bytes (default 4096). */
  offsetMetadataMaxBytes?: number;
  /** Defaults to SQLite at <dataDir>/consumer-groups.sqlite. */
  store?: ConsumerGroupStore;
  scheduler?: TimerScheduler;
}

/** KeyType of FindCoordinator. */
const COORDINATOR_KEY_GROUP = 0;
const COORDINATOR_KEY_TRANSACTION = 1;
/** DescribeGroups authorizedOperations when the client did not ask for them. */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** READ (3), DELETE (6) and DESCRIBE (8): everything a group allows; there are no ACLs. */
const GROUP_AUTHORIZED_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
const RETENTION_TIMER_KEY = 'offsets-retention';
const EMPTY = Buffer.alloc(0);

const realScheduler: TimerScheduler = {
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return handle;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

type Parked = { kind: 'join'; resolve: (result: JoinResult) => void } | { kind: 'sync'; resolve: (result: SyncResult) => void };

export class ConsumerGroupCoordinator {
  private readonly options: ConsumerGroupCoordinatorOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly scheduler: TimerScheduler;
  private readonly groupConfig: GroupConfig;
  private readonly retentionMs: number;
  private readonly retentionCheckIntervalMs: number;
  private readonly minSessionTimeoutMs: number;
  private readonly maxSessionTimeoutMs: number;
  private readonly offsetMetadataMaxBytes: number;
  private store: ConsumerGroupStore | null;
  private readonly groups = new Map<string, ConsumerGroupStateMachine>();
  /** groupId -> topic -> partition -> committed offset (a cache of the store). */
  private readonly offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  private readonly timers = new TimerQueue();
  private readonly parked = new Map<RequestToken, Parked>();
  /** Offset commits being written per group; the retention sweep leaves such groups for its next run. */
  private readonly commitsInFlight = new Map<string, number>();
  /** For logging transitions only. */
  private readonly lastSeenState = new WeakMap<ConsumerGroupStateMachine, { state: string; generationId: number }>();
  private nextToken = 1;
  private wakeUp: { handle: unknown; deadlineMs: number } | null = null;
  /** Every store write, in order; answers that follow a write wait for it. */
  private writes: Promise<void> = Promise.resolve();
  private loading: Promise<void> | null = null;
  private closed = false;

  constructor(options: ConsumerGroupCoordinatorOptions) {
    this.options = options;
    this.logger = options.logger;
    this.now = options.nowMs ?? Date.now;
    this.scheduler = options.scheduler ?? realScheduler;
    this.groupConfig = { initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? 3000 };
    this.retentionMs = options.offsetsRetentionMs ?? 7 * 24 * 60 * 60 * 1000;
    this.retentionCheckIntervalMs = options.offsetsRetentionCheckIntervalMs ?? 10 * 60 * 1000;
    this.minSessionTimeoutMs = options.minSessionTimeoutMs ?? 6000;
    this.maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? 1_800_000;
    this.offsetMetadataMaxBytes = options.offsetMetadataMaxBytes ?? 4096;
    this.store = options.store ?? null;
  }

  /** Opens the store and loads every group and committed offset. Must complete before requests are served. */
  start(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<void> {
    const store = (this.store ??= SqliteConsumerGroupStore.open(this.options.dataDir));
    const stored = await store.load();
    const nowMs = this.now();
    for (const record of stored.groups) {
      const { group, effects } = ConsumerGroupStateMachine.restore(record, this.groupConfig, nowMs);
      this.groups.set(group.groupId, group);
      this.apply(group, effects);
    }
    for (const [groupId, list] of stored.offsets) {
      this.getOrCreateGroup(groupId);
      const byTopic = this.offsetsOf(groupId);
      for (const o of list) topicMap(byTopic, o.topic).set(o.partition, o);
    }
    this.timers.arm(RETENTION_TIMER_KEY, nowMs + this.retentionCheckIntervalMs);
    this.reschedule();
    this.logger.info({ groups: this.groups.size, groupsWithOffsets: stored.offsets.size }, 'consumer groups loaded');
  }

  /** Answers parked requests with NOT_COORDINATOR, stops timers and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeUp !== null) this.scheduler.clearTimer(this.wakeUp.handle);
    this.wakeUp = null;
    this.timers.clear();
    for (const [token, waiter] of this.parked) {
      this.parked.delete(token);
      if (waiter.kind === 'join') waiter.resolve(joinError(GroupErrorCode.NOT_COORDINATOR, ''));
      else waiter.resolve(syncError(GroupErrorCode.NOT_COORDINATOR));
    }
    if (this.loading !== null) await this.loading.catch(() => undefined);
    await this.writes;
    await this.store?.close();
  }

  // ---- FindCoordinator ------------------------------------------------------------------------------------

  async findCoordinator(request: FindCoordinatorRequest, apiVersion: number, _ctx: RequestContext): Promise<FindCoordinatorResponse> {
    const self: CoordinatorAddress = { nodeId: this.options.nodeId, host: this.options.advertisedHost, port: this.options.advertisedPort };
    return findCoordinatorResponse(request, apiVersion, () => self);
  }

  // ---- JoinGroup / SyncGroup / Heartbeat / LeaveGroup ---------------------------------------------------------

  async joinGroup(request: JoinGroupRequest, apiVersion: number, ctx: RequestContext): Promise<JoinGroupResponse> {
    await this.ready();
    const groupId = request.groupId ?? '';
    const requestMemberId = request.memberId ?? '';
    const fail = (errorCode: number): JoinGroupResponse => toJoinResponse(joinError(errorCode, requestMemberId), apiVersion);
    if (this.closed) return fail(GroupErrorCode.NOT_COORDINATOR);
    if (groupId === '') return fail(GroupErrorCode.INVALID_GROUP_ID);
    if (request.sessionTimeoutMs < this.minSessionTimeoutMs || request.sessionTimeoutMs > this.maxSessionTimeoutMs) {
      return fail(GroupErrorCode.INVALID_SESSION_TIMEOUT);
    }
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (requestMemberId !== '') return fail(GroupErrorCode.UNKNOWN_MEMBER_ID);
      group = this.getOrCreateGroup(groupId);
    }
    const rebalanceTimeoutMs =
      apiVersion >= 1 && request.rebalanceTimeoutMs !== undefined && request.rebalanceTimeoutMs > 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs;
    const clientId = ctx.clientId ?? '';
    const target = group;
    return new Promise<JoinGroupResponse>((resolve) => {
      const token = this.park({ kind: 'join', resolve: (result) => resolve(toJoinResponse(result, apiVersion)) });
      const effects = target.join(
        {
          token,
          memberId: requestMemberId,
          groupInstanceId: apiVersion >= 5 ? (request.groupInstanceId ?? null) : null,
          clientId,
          clientHost: kafkaClientHost(ctx.clientHost),
          sessionTimeoutMs: request.sessionTimeoutMs,
          rebalanceTimeoutMs,
          protocolType: request.protocolType ?? '',
          protocols: (request.protocols ?? []).map((p) => ({ name: p.name ?? '', metadata: p.metadata ?? EMPTY })),
          requireKnownMemberId: apiVersion >= 4,
          supportsSkipAssignment: apiVersion >= 9,
          newMemberId: memberId(`${clientId}-${randomUUID()}`),
        },
        this.now(),
      );
      this.drive(target, effects);
    });
  }

  async syncGroup(request: SyncGroupRequest, apiVersion: number, _ctx: RequestContext): Promise<SyncGroupResponse> {
    await this.ready();
    const groupId = request.groupId ?? '';
    if (this.closed) return toSyncResponse(syncError(GroupErrorCode.NOT_COORDINATOR));
    if (groupId === '') return toSyncResponse(syncError(GroupErrorCode.INVALID_GROUP_ID));
    const group = this.groups.get(groupId);
    if (group === undefined) return toSyncResponse(syncError(GroupErrorCode.UNKNOWN_MEMBER_ID));
    const assignments = new Map<string, Buffer>();
    for (const a of request.assignments ?? []) assignments.set(a.memberId ?? '', a.assignment ?? EMPTY);
    return new Promise<SyncGroupResponse>((resolve) => {
      const token = this.park({ kind: 'sync', resolve: (result) => resolve(toSyncResponse(result)) });
      const effects = group.sync(
        {
          token,
          memberId: request.memberId ?? '',
          groupInstanceId: apiVersion >= 3 ? (request.groupInstanceId ?? null) : null,
          generationId: request.generationId,
          protocolType: apiVersion >= 5 ? (request.protocolType ?? null) : null,
          protocolName: apiVersion >= 5 ? (request.protocolName ?? null) : null,
          assignments,
        },
        this.now(),
      );
      this.drive(group, effects);
    });
  }

  async heartbeat(request: HeartbeatRequest, apiVersion: number, _ctx: RequestContext): Promise<HeartbeatResponse> {
    await this.ready();
    const groupId = request.groupId ?? '';
    if (groupId === '') return { throttleTimeMs: 0, errorCode: GroupErrorCode.INVALID_GROUP_ID };
    const group = this.groups.get(groupId);
    if (group === undefined) return { throttleTimeMs: 0, errorCode: GroupErrorCode.UNKNOWN_MEMBER_ID };
    const outcome = group.heartbeat(
      {
        memberId: request.memberId ?? '',
        groupInstanceId: apiVersion >= 3 ? (request.groupInstanceId ?? null) : null,
        generationId: request.generationId,
      },
      this.now(),
    );
    this.drive(group, outcome.effects);
    return { throttleTimeMs: 0, errorCode: outcome.errorCode };
  }

  async leaveGroup(request: LeaveGroupRequest, apiVersion: number, _ctx: RequestContext): Promise<LeaveGroupResponse> {
    await this.ready();
    const groupId = request.groupId ?? '';
    const leaving =
      apiVersion >= 3
        ? (request.members ?? []).map((m) => ({ memberId: m.memberId ?? '', groupInstanceId: m.groupInstanceId ?? null }))
        : [{ memberId: request.memberId ?? '', groupInstanceId: null }];
    if (groupId === '') return { throttleTimeMs: 0, errorCode: GroupErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.groups.get(groupId);
    let errorCodes: number[];
    if (group === undefined) {
      errorCodes = leaving.map(() => GroupErrorCode.UNKNOWN_MEMBER_ID);
    } else if (group.state === 'Dead') {
      return { throttleTimeMs: 0, errorCode: GroupErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    } else {
      const outcome = group.leave(leaving, this.now());
      this.drive(group, outcome.effects);
      errorCodes = outcome.errorCodes;
    }
    if (apiVersion < 3) return { throttleTimeMs: 0, errorCode: errorCodes[0] ?? GroupErrorCode.NONE, members: [] };
    return {
      throttleTimeMs: 0,
      errorCode: GroupErrorCode.NONE,
      members: leaving.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: errorCodes[i] ?? GroupErrorCode.NONE })),
    };
  }

  // ---- offsets ------------------------------------------------------------------------------------------------

  async offsetCommit(request: OffsetCommitRequest, apiVersion: number, _ctx: RequestContext): Promise<OffsetCommitResponse> {
    await this.ready();
    const groupId = request.groupId ?? '';
    const generationId = request.generationIdOrMemberEpoch ?? request.generationId ?? -1;
    const requestTopics = request.topics ?? [];
    const answerAll = (errorCode: number): OffsetCommitResponse => ({
      throttleTimeMs: 0,
      topics: requestTopics.map((t) => ({ name: t.name ?? '', partitions: (t.partitions ?? []).map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
    });
    if (this.closed) return answerAll(GroupErrorCode.NOT_COORDINATOR);
    if (request.groupId === null) return answerAll(GroupErrorCode.INVALID_GROUP_ID);
    let group = this.groups.get(groupId);
    if (group === undefined) {
      // No group yet: only a commit outside group management (generation -1) may create one.
      if (generationId >= 0) return answerAll(GroupErrorCode.ILLEGAL_GENERATION);
      group = this.getOrCreateGroup(groupId);
    }
    const outcome = group.validateOffsetCommit(
      { memberId: request.memberId ?? '', groupInstanceId: apiVersion >= 7 ? (request.groupInstanceId ?? null) : null, generationId },
      this.now(),
    );
    this.drive(group, outcome.effects);
    if (outcome.errorCode !== GroupErrorCode.NONE) {
      this.logger.debug(
        { groupId, memberId: request.memberId, generationId, groupGenerationId: group.generationId, state: group.state, errorCode: outcome.errorCode },
        'offset commit refused',
      );
      return answerAll(outcome.errorCode);
    }

    const nowMs = this.now();
    const explicitRetentionMs = apiVersion >= 2 && apiVersion <= 4 && request.retentionTimeMs !== undefined && request.retentionTimeMs >= 0 ? request.retentionTimeMs : null;
    const accepted: CommittedOffset[] = [];
    const topics: OffsetCommitResponseTopic[] = requestTopics.map((t) => {
      const topic = t.name ?? '';
      const partitionCount = this.options.topicPartitionCount(topic);
      return {
        name: topic,
        partitions: (t.partitions ?? []).map((p) => {
          if (partitionCount === undefined || p.partitionIndex < 0 || p.partitionIndex >= partitionCount) {
            return { partitionIndex: p.partitionIndex, errorCode: GroupErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          }
          const metadata = p.committedMetadata ?? '';
          if (Buffer.byteLength(metadata, 'utf8') > this.offsetMetadataMaxBytes) {
            return { partitionIndex: p.partitionIndex, errorCode: GroupErrorCode.OFFSET_METADATA_TOO_LARGE };
          }
          accepted.push({
            topic,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch ?? -1,
            metadata,
            commitTimestampMs: nowMs,
            expireTimestampMs: explicitRetentionMs === null ? null : nowMs + explicitRetentionMs,
          });
          return { partitionIndex: p.partitionIndex, errorCode: GroupErrorCode.NONE };
        }),
      };
    });
    if (accepted.length === 0) return { throttleTimeMs: 0, topics };
    const store = this.requireStore();
    this.commitsInFlight.set(groupId, (this.commitsInFlight.get(groupId) ?? 0) + 1);
    try {
      await this.enqueueWrite(() => store.commitOffsets(groupId, accepted));
    } catch (error) {
      // A coordinator that lost its role says so (the client finds the new one); any other failure is retriable.
      const moved = error instanceof NotCoordinatorError;
      if (moved) this.logger.info({ groupId, reason: error.message }, 'offset commit not stored: no longer the coordinator');
      else this.logger.error({ err: error, groupId }, 'offset commit could not be stored');
      const errorCode = moved ? GroupErrorCode.NOT_COORDINATOR : GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
      for (const t of topics) for (const p of t.partitions) if (p.errorCode === GroupErrorCode.NONE) p.errorCode = errorCode;
      return { throttleTimeMs: 0, topics };
    } finally {
      const left = (this.commitsInFlight.get(groupId) ?? 1) - 1;
      if (left === 0) this.commitsInFlight.delete(groupId);
      else this.commitsInFlight.set(groupId, left);
    }
    // A group deleted while this write was queued had its offsets deleted after it in the store too.
    if (this.groups.get(groupId) === group) {
      const byTopic = this.offsetsOf(groupId);
      for (const o of accepted) topicMap(byTopic, o.topic).set(o.partition, o);
    }
    return { throttleTimeMs: 0, topics };
  }

  async offsetFetch(request: OffsetFetchRequest, apiVersion: number, _ctx: RequestContext): Promise<OffsetFetchResponse> {
    await this.ready();
    if (apiVersion >= 8) {
      const groups = (request.groups ?? []).map((g) => this.fetchGroupOffsets(g.groupId ?? '', g.topics ?? null));
      return { throttleTimeMs: 0, topics: [], errorCode: GroupErrorCode.NONE, groups };
    }
    const single = this.fetchGroupOffsets(request.groupId ?? '', request.topics ?? null);
    return { throttleTimeMs: 0, topics: single.topics, errorCode: single.errorCode, groups: [] };
  }

  private fetchGroupOffsets(groupId: string, topics: OffsetFetchRequestTopic[] | null): OffsetFetchResponseGroup {
    const byTopic = this.offsets.get(groupId);
    const entry = (partition: number, o: CommittedOffset | undefined) => ({
      partitionIndex: partition,
      committedOffset: o?.offset ?? -1,
      committedLeaderEpoch: o?.leaderEpoch ?? -1,
      metadata: o?.metadata ?? '',
      errorCode: GroupErrorCode.NONE,
    });
    let result: OffsetFetchResponseTopic[];
    if (topics === null) {
      result = [...(byTopic ?? new Map<string, Map<number, CommittedOffset>>())]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, partitions]) => ({
          name,
          partitions: [...partitions.values()].sort((a, b) => a.partition - b.partition).map((o) => entry(o.partition, o)),
        }));
    } else {
      result = topics.map((t) => {
        const name = t.name ?? '';
        const partitions = byTopic?.get(name);
        return { name, partitions: (t.partitionIndexes ?? []).map((p) => entry(p, partitions?.get(p))) };
      });
    }
    return { groupId, topics: result, errorCode: GroupErrorCode.NONE };
  }

  async offsetDelete(request: OffsetDeleteRequest, _apiVersion: number, _ctx: RequestContext): Promise<OffsetDeleteResponse> {
    await this.ready();
    const groupId = request.groupId ?? '';
    const topLevel = (errorCode: number): OffsetDeleteResponse => ({ errorCode, throttleTimeMs: 0, topics: [] });
    if (groupId === '') return topLevel(GroupErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return topLevel(GroupErrorCode.GROUP_ID_NOT_FOUND);
    if (group.state !== 'Empty' && group.protocolType !== 'consumer') return topLevel(GroupErrorCode.NON_EMPTY_GROUP);
    const checkSubscription = group.state !== 'Empty';
    const removed: TopicPartitionRef[] = [];
    const topics: OffsetDeleteResponseTopic[] = (request.topics ?? []).map((t) => {
      const name = t.name ?? '';
      const subscribed = checkSubscription && group.isSubscribedTo(name);
      return {
        name,
        partitions: (t.partitions ?? []).map((p) => {
          if (subscribed) return { partitionIndex: p.partitionIndex, errorCode: GroupErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          removed.push({ topic: name, partition: p.partitionIndex });
          return { partitionIndex: p.partitionIndex, errorCode: GroupErrorCode.NONE };
        }),
      };
    });
    if (removed.length > 0) {
      const store = this.requireStore();
      await this.enqueueWrite(() => store.deleteOffsets(groupId, removed));
      this.forgetOffsets(groupId, removed);
    }
    return { errorCode: GroupErrorCode.NONE, throttleTimeMs: 0, topics };
  }

  /** Removes every group's committed offsets of a deleted topic. */
  async onTopicDeleted(topic: string): Promise<void> {
    await this.ready();
    const store = this.requireStore();
    await this.enqueueWrite(() => store.deleteTopicOffsets(topic));
    for (const byTopic of this.offsets.values()) byTopic.delete(topic);
  }

  // ---- ListGroups / DescribeGroups / DeleteGroups ------------------------------------------------------------------

  async listGroups(request: ListGroupsRequest, _apiVersion: number, _ctx: RequestContext): Promise<ListGroupsResponse> {
    await this.ready();
    const states = new Set((request.statesFilter ?? []).filter((s): s is string => s !== null).map((s) => s.toLowerCase()));
    const types = new Set((request.typesFilter ?? []).filter((s): s is string => s !== null).map((s) => s.toLowerCase()));
    if (types.size > 0 && !types.has('classic')) return { throttleTimeMs: 0, errorCode: GroupErrorCode.NONE, groups: [] };
    const groups = [...this.groups.values()]
      .filter((g) => g.state !== 'Dead' && (states.size === 0 || states.has(g.state.toLowerCase())))
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' }));
    return { throttleTimeMs: 0, errorCode: GroupErrorCode.NONE, groups };
  }

  async describeGroups(request: DescribeGroupsRequest, apiVersion: number, _ctx: RequestContext): Promise<DescribeGroupsResponse> {
    await this.ready();
    const authorizedOperations = request.includeAuthorizedOperations === true ? GROUP_AUTHORIZED_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    const groups = (request.groups ?? []).map((id): DescribeGroupsResponseGroup => {
      const groupId = id ?? '';
      const base = { groupId, protocolType: '', protocolData: '', members: [], authorizedOperations };
      if (groupId === '') return { ...base, errorCode: GroupErrorCode.INVALID_GROUP_ID, errorMessage: null, groupState: '' };
      const group = this.groups.get(groupId);
      if (group === undefined || group.state === 'Dead') {
        return apiVersion >= 6
          ? { ...base, errorCode: GroupErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `Group ${groupId} not found.`, groupState: 'Dead' }
          : { ...base, errorCode: GroupErrorCode.NONE, errorMessage: null, groupState: 'Dead' };
      }
      const summary = group.describe();
      return {
        errorCode: GroupErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: summary.state,
        protocolType: summary.protocolType,
        protocolData: summary.protocolData,
        members: summary.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: m.metadata,
          memberAssignment: m.assignment,
        })),
        authorizedOperations,
      };
    });
    return { throttleTimeMs: 0, groups };
  }

  async deleteGroups(request: DeleteGroupsRequest, _apiVersion: number, _ctx: RequestContext): Promise<DeleteGroupsResponse> {
    await this.ready();
    const results = [];
    for (const id of request.groupsNames ?? []) {
      const groupId = id ?? '';
      results.push({ groupId, errorCode: await this.deleteGroup(groupId) });
    }
    return { throttleTimeMs: 0, results };
  }

  private async deleteGroup(groupId: string): Promise<number> {
    if (groupId === '') return GroupErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return GroupErrorCode.GROUP_ID_NOT_FOUND;
    if (!group.markDead(this.now())) return GroupErrorCode.NON_EMPTY_GROUP;
    await this.removeDeadGroup(group);
    return GroupErrorCode.NONE;
  }

  private async removeDeadGroup(group: ConsumerGroupStateMachine): Promise<void> {
    this.groups.delete(group.groupId);
    this.offsets.delete(group.groupId);
    for (const timer of ['join', 'sync'] as const) this.timers.cancel(timerKey(group.groupId, timer));
    const store = this.requireStore();
    await this.enqueueWrite(() => store.deleteGroup(group.groupId));
  }

  // ---- retention ------------------------------------------------------------------------------------------------

  /**
   * offsets.retention.minutes: offsets of an Empty consumer group expire `retention` after it became empty;
   * offsets committed outside group management expire `retention` after their commit; a Stable consumer group
   * keeps the offsets of topics it subscribes to. Empty groups left without offsets are deleted.
   */
  async expireOffsets(nowMs: number = this.now()): Promise<number> {
    let expiredCount = 0;
    for (const group of [...this.groups.values()]) {
      if (this.commitsInFlight.has(group.groupId) || this.groups.get(group.groupId) !== group) continue;
      const byTopic = this.offsets.get(group.groupId);
      const expired: TopicPartitionRef[] = [];
      if (byTopic !== undefined) {
        for (const [topic, partitions] of byTopic) {
          for (const o of partitions.values()) {
            const base = this.retentionBaseMs(group, o);
            if (base === null) continue;
            const expiresAtMs = o.expireTimestampMs ?? base + this.retentionMs;
            if (nowMs >= expiresAtMs) expired.push({ topic, partition: o.partition });
          }
        }
      }
      if (expired.length > 0) {
        const store = this.requireStore();
        await this.enqueueWrite(() => store.deleteOffsets(group.groupId, expired));
        this.forgetOffsets(group.groupId, expired);
        expiredCount += expired.length;
      }
      if (this.groups.get(group.groupId) !== group || this.commitsInFlight.has(group.groupId)) continue; // changed meanwhile
      const left = this.offsets.get(group.groupId);
      if (group.state === 'Empty' && group.pendingMemberCount === 0 && (left === undefined || left.size === 0) && group.markDead(nowMs)) {
        await this.removeDeadGroup(group);
      }
    }
    if (expiredCount > 0) this.logger.info({ expiredCount }, 'expired committed offsets');
    return expiredCount;
  }

  /** When the retention clock of an offset started, or null if it does not expire now. */
  private retentionBaseMs(group: ConsumerGroupStateMachine, o: CommittedOffset): number | null {
    if (group.state === 'Empty') return group.protocolType === null ? o.commitTimestampMs : group.stateTimestampMs;
    if (group.state === 'Stable' && group.protocolType === 'consumer' && group.subscribedTopics !== null && !group.subscribedTopics.has(o.topic)) {
      return o.commitTimestampMs;
    }
    return null;
  }

  // ---- machinery ---------------------------------------------------------------------------------------------------

  /** Runs the state machines' timers that are due (called by the scheduler; tests with a fake clock call it too). */
  runDueTimers(): void {
    if (this.closed) return;
    const nowMs = this.now();
    for (const key of this.timers.popDue(nowMs)) {
      if (key === RETENTION_TIMER_KEY) {
        this.timers.arm(RETENTION_TIMER_KEY, nowMs + this.retentionCheckIntervalMs);
        this.expireOffsets(nowMs).catch((error: unknown) => this.logger.error({ err: error }, 'offset expiration failed'));
        continue;
      }
      const split = key.indexOf('\u0000');
      const group = this.groups.get(key.slice(0, split));
      if (group === undefined) continue;
      this.drive(group, group.timerExpired(key.slice(split + 1) as GroupTimer, nowMs));
    }
    this.reschedule();
  }

  private drive(group: ConsumerGroupStateMachine, effects: GroupEffect[]): void {
    this.apply(group, effects);
    this.reschedule();
    const seen = this.lastSeenState.get(group);
    if (seen === undefined || seen.state !== group.state || seen.generationId !== group.generationId) {
      this.lastSeenState.set(group, { state: group.state, generationId: group.generationId });
      this.logger.info(
        { groupId: group.groupId, from: seen?.state ?? null, to: group.state, generationId: group.generationId, members: group.memberCount },
        'consumer group state changed',
      );
    }
  }

  private apply(group: ConsumerGroupStateMachine, effects: readonly GroupEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'armTimer':
          this.timers.arm(timerKey(group.groupId, effect.timer), effect.deadlineMs);
          break;
        case 'cancelTimer':
          this.timers.cancel(timerKey(group.groupId, effect.timer));
          break;
        case 'persistGroup': {
          const store = this.requireStore();
          const record = effect.record;
          this.enqueueWrite(() => store.saveGroup(record)).catch((error: unknown) => {
            // A coordinator that lost its role (cluster mode) leaves the group to its successor: not an error here.
            if (error instanceof NotCoordinatorError) this.logger.info({ groupId: record.groupId, reason: error.message }, 'group metadata not stored: no longer the coordinator');
            else this.logger.error({ err: error, groupId: record.groupId }, 'group metadata could not be stored');
          });
          this.logger.info(
            { groupId: record.groupId, generationId: record.generationId, members: record.members.length, protocol: record.protocolName },
            'consumer group generation stored',
          );
          break;
        }
        case 'completeJoin':
        case 'completeSync': {
          const waiter = this.parked.get(effect.token);
          if (waiter === undefined) break;
          this.parked.delete(effect.token);
          // Answers go out only after every write issued before them is durable.
          void this.writes.then(() => {
            if (effect.kind === 'completeJoin' && waiter.kind === 'join') waiter.resolve(effect.result);
            else if (effect.kind === 'completeSync' && waiter.kind === 'sync') waiter.resolve(effect.result);
            else throw new Error(`consumer group invariant broken: ${effect.kind} for a parked ${waiter.kind}`);
          });
          break;
        }
      }
    }
  }

  private reschedule(): void {
    if (this.closed) return;
    const next = this.timers.nextDeadlineMs();
    if (this.wakeUp !== null && this.wakeUp.deadlineMs === next) return;
    if (this.wakeUp !== null) this.scheduler.clearTimer(this.wakeUp.handle);
    this.wakeUp = null;
    if (next === null) return;
    const handle = this.scheduler.setTimer(Math.max(0, next - this.now()), () => {
      this.wakeUp = null;
      this.runDueTimers();
    });
    this.wakeUp = { handle, deadlineMs: next };
  }

  private park(waiter: Parked): RequestToken {
    const token = requestToken(this.nextToken++);
    this.parked.set(token, waiter);
    return token;
  }

  /**
   * Issues a store write now and completes it in issue order: it resolves (or rejects) only after every earlier
   * write settled. Issuing without waiting lets a replicated store pipeline its writes (many commits share one Raft
   * round) while callers still see them durable in order; the store applies them in issue order (SQLite at call
   * time, Raft in proposal order).
   */
  private enqueueWrite(write: () => Promise<void>): Promise<void> {
    let issued: Promise<void>;
    try {
      issued = write();
    } catch (error) {
      issued = Promise.reject(error);
    }
    issued.catch(() => undefined); // observed below, after the earlier writes
    const result = this.writes.then(() => issued);
    this.writes = result.catch(() => undefined);
    return result;
  }

  private async ready(): Promise<void> {
    if (this.loading === null) throw new Error('ConsumerGroupCoordinator.start() was not called');
    await this.loading;
  }

  private requireStore(): ConsumerGroupStore {
    if (this.store === null) throw new Error('ConsumerGroupCoordinator store not open');
    return this.store;
  }

  private getOrCreateGroup(groupId: string): ConsumerGroupStateMachine {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new ConsumerGroupStateMachine(groupId, this.groupConfig, this.now());
      this.groups.set(groupId, group);
    }
    return group;
  }

  private offsetsOf(groupId: string): Map<string, Map<number, CommittedOffset>> {
    let byTopic = this.offsets.get(groupId);
    if (byTopic === undefined) this.offsets.set(groupId, (byTopic = new Map()));
    return byTopic;
  }

  private forgetOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): void {
    const byTopic = this.offsets.get(groupId);
    if (byTopic === undefined) return;
    for (const p of partitions) {
      const partitionsOfTopic = byTopic.get(p.topic);
      partitionsOfTopic?.delete(p.partition);
      if (partitionsOfTopic?.size === 0) byTopic.delete(p.topic);
    }
  }
}

/** The broker that coordinates consumer groups; null when none is known right now. */
export interface CoordinatorAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/**
 * FindCoordinator (v0-v4) for group keys, naming `coordinator()` (one node coordinates every group key: this node
 * when single, the metadata leader in cluster mode). No known coordinator is COORDINATOR_NOT_AVAILABLE, which
 * clients retry. Transaction keys are not served yet.
 */
export function findCoordinatorResponse(request: FindCoordinatorRequest, apiVersion: number, coordinator: () => CoordinatorAddress | null): FindCoordinatorResponse {
  const keyType = request.keyType ?? COORDINATOR_KEY_GROUP;
  const coordinatorFor = (key: string): FindCoordinatorResponseCoordinator => {
    const fail = (errorCode: number, errorMessage: string): FindCoordinatorResponseCoordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
    if (keyType === COORDINATOR_KEY_TRANSACTION) return fail(GroupErrorCode.COORDINATOR_NOT_AVAILABLE, 'transactions are not supported by this broker yet');
    if (keyType !== COORDINATOR_KEY_GROUP) return fail(GroupErrorCode.INVALID_REQUEST, `unknown coordinator key type ${keyType}`);
    const address = coordinator();
    if (address === null) return fail(GroupErrorCode.COORDINATOR_NOT_AVAILABLE, 'no group coordinator is known right now');
    return { key, nodeId: address.nodeId, host: address.host, port: address.port, errorCode: GroupErrorCode.NONE, errorMessage: null };
  };
  if (apiVersion >= 4) {
    const coordinators = (request.coordinatorKeys ?? []).map((key) => coordinatorFor(key ?? ''));
    return { throttleTimeMs: 0, errorCode: GroupErrorCode.NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators };
  }
  const single = coordinatorFor(request.key ?? '');
  return {
    throttleTimeMs: 0,
    errorCode: single.errorCode,
    errorMessage: single.errorMessage,
    nodeId: single.nodeId,
    host: single.host,
    port: single.port,
    coordinators: [],
  };
}

function timerKey(groupId: string, timer: GroupTimer): string {
  return `${groupId}\u0000${timer}`;
}

function topicMap(byTopic: Map<string, Map<number, CommittedOffset>>, topic: string): Map<number, CommittedOffset> {
  let partitions = byTopic.get(topic);
  if (partitions === undefined) byTopic.set(topic, (partitions = new Map()));
  return partitions;
}

/** Kafka reports member hosts as "/<address>". */
function kafkaClientHost(address: string): string {
  return address.startsWith('/') ? address : `/${address}`;
}

function joinError(errorCode: number, id: string): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leaderId: '', memberId: id, members: [], skipAssignment: false };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

function toJoinResponse(result: JoinResult, apiVersion: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    // ProtocolName is nullable only from v7.
    protocolName: apiVersion >= 7 ? result.protocolName : (result.protocolName ?? ''),
    leader: result.leaderId,
    skipAssignment: result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
}

function toSyncResponse(result: SyncResult): SyncGroupResponse {
  return { throttleTimeMs: 0, errorCode: result.errorCode, protocolType: result.protocolType, protocolName: result.protocolName, assignment: result.assignment };
}
