// The coordinator's local wire types must stay structurally compatible with @tributary/protocol's decoded
// requests and encodable responses; and every response it builds must encode at every supported version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ApiKey, ErrorCode, decodeResponse, encodeResponse, supportedApiVersions } from '@tributary/protocol';
import type * as P from '@tributary/protocol';
import type * as W from '../../src/consumer-groups/wire-types.js';
import { ConsumerGroupCoordinator, findCoordinatorResponse } from '../../src/consumer-groups/coordinator.js';
import { refuseGroupRequest } from '../../src/consumer-groups/refusals.js';
import { encodeSubscription } from '../../src/consumer-groups/consumer-protocol.js';

type Assignable<A, B> = [A] extends [B] ? true : false;
// Compile-time checks: decoded protocol requests fit the coordinator's parameters, its responses fit the encoder.
const compatible: [
  Assignable<P.FindCoordinatorRequest, W.FindCoordinatorRequest>,
  Assignable<W.FindCoordinatorResponse, P.FindCoordinatorResponse>,
  Assignable<P.JoinGroupRequest, W.JoinGroupRequest>,
  Assignable<W.JoinGroupResponse, P.JoinGroupResponse>,
  Assignable<P.SyncGroupRequest, W.SyncGroupRequest>,
  Assignable<W.SyncGroupResponse, P.SyncGroupResponse>,
  Assignable<P.HeartbeatRequest, W.HeartbeatRequest>,
  Assignable<W.HeartbeatResponse, P.HeartbeatResponse>,
  Assignable<P.LeaveGroupRequest, W.LeaveGroupRequest>,
  Assignable<W.LeaveGroupResponse, P.LeaveGroupResponse>,
  Assignable<P.OffsetCommitRequest, W.OffsetCommitRequest>,
  Assignable<W.OffsetCommitResponse, P.OffsetCommitResponse>,
  Assignable<P.OffsetFetchRequest, W.OffsetFetchRequest>,
  Assignable<W.OffsetFetchResponse, P.OffsetFetchResponse>,
  Assignable<P.ListGroupsRequest, W.ListGroupsRequest>,
  Assignable<W.ListGroupsResponse, P.ListGroupsResponse>,
  Assignable<P.DescribeGroupsRequest, W.DescribeGroupsRequest>,
  Assignable<W.DescribeGroupsResponse, P.DescribeGroupsResponse>,
  Assignable<P.DeleteGroupsRequest, W.DeleteGroupsRequest>,
  Assignable<W.DeleteGroupsResponse, P.DeleteGroupsResponse>,
  Assignable<P.OffsetDeleteRequest, W.OffsetDeleteRequest>,
  Assignable<W.OffsetDeleteResponse, P.OffsetDeleteResponse>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

test('wire types are compatible with @tributary/protocol', () => {
  assert.ok(compatible.every((c) => c));
});

test('every coordinator response encodes and decodes at every supported version', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-cg-wire-'));
  const c = new ConsumerGroupCoordinator({
    nodeId: 1,
    advertisedHost: '127.0.0.1',
    advertisedPort: 9092,
    dataDir,
    logger: pino({ level: 'silent' }),
    topicPartitionCount: (topic) => (topic === 't' ? 3 : undefined),
    initialRebalanceDelayMs: 0,
  });
  await c.start();
  const ctx = { clientId: 'wire', clientHost: '127.0.0.1' };
  try {
    const versions = (apiKey: number): number[] => {
      const range = supportedApiVersions().find((v) => v.apiKey === apiKey);
      assert.ok(range, `api ${apiKey} supported by the protocol package`);
      return Array.from({ length: range.maxVersion - range.minVersion + 1 }, (_, i) => range.minVersion + i);
    };
    const roundTrip = (apiKey: number, version: number, body: unknown): void => {
      const frame = encodeResponse(apiKey as never, version, 42, body as never);
      decodeResponse(apiKey as never, version, frame.subarray(4));
    };
    // A stable single-member group with a committed offset gives non-trivial bodies.
    const first = await c.joinGroup(
      { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }] },
      3,
      ctx,
    );
    await c.syncGroup({ groupId: 'g', generationId: first.generationId, memberId: first.memberId, assignments: [{ memberId: first.memberId, assignment: Buffer.from('x') }] }, 3, ctx);
    await c.offsetCommit({ groupId: 'g', generationIdOrMemberEpoch: first.generationId, memberId: first.memberId, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }] }, 5, ctx);

    for (const v of versions(ApiKey.FindCoordinator)) roundTrip(ApiKey.FindCoordinator, v, await c.findCoordinator({ key: 'g', keyType: 0, coordinatorKeys: ['g', 'h'] }, v, ctx));
    for (const v of versions(ApiKey.JoinGroup)) {
      roundTrip(ApiKey.JoinGroup, v, await c.joinGroup({ groupId: '', sessionTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols: [] }, v, ctx));
      roundTrip(ApiKey.JoinGroup, v, await c.joinGroup({ groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: first.memberId, protocolType: 'consumer', protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }] }, v, ctx));
    }
    for (const v of versions(ApiKey.SyncGroup)) roundTrip(ApiKey.SyncGroup, v, await c.syncGroup({ groupId: 'g', generationId: 99, memberId: first.memberId, assignments: [] }, v, ctx));
    for (const v of versions(ApiKey.Heartbeat)) roundTrip(ApiKey.Heartbeat, v, await c.heartbeat({ groupId: 'g', generationId: first.generationId, memberId: first.memberId }, v, ctx));
    for (const v of versions(ApiKey.OffsetCommit)) {
      roundTrip(ApiKey.OffsetCommit, v, await c.offsetCommit({ groupId: 'simple', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 1, committedMetadata: 'm' }] }] }, v, ctx));
    }
    for (const v of versions(ApiKey.OffsetFetch)) {
      roundTrip(ApiKey.OffsetFetch, v, await c.offsetFetch({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }], groups: [{ groupId: 'g', topics: null }] }, v, ctx));
    }
    for (const v of versions(ApiKey.ListGroups)) roundTrip(ApiKey.ListGroups, v, await c.listGroups({ statesFilter: [] }, v, ctx));
    for (const v of versions(ApiKey.DescribeGroups)) {
      roundTrip(ApiKey.DescribeGroups, v, await c.describeGroups({ groups: ['g', 'missing'], includeAuthorizedOperations: true }, v, ctx));
    }
    for (const v of versions(ApiKey.OffsetDelete)) roundTrip(ApiKey.OffsetDelete, v, await c.offsetDelete({ groupId: 'simple', topics: [{ name: 't', partitions: [{ partitionIndex: 1 }] }] }, v, ctx));
    for (const v of versions(ApiKey.DeleteGroups)) roundTrip(ApiKey.DeleteGroups, v, await c.deleteGroups({ groupsNames: ['missing', 'g'] }, v, ctx));
    for (const v of versions(ApiKey.LeaveGroup)) {
      roundTrip(ApiKey.LeaveGroup, v, await c.leaveGroup({ groupId: 'g', memberId: 'nobody', members: [{ memberId: 'nobody', groupInstanceId: null }] }, v, ctx));
    }
  } finally {
    await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('every refusal (a broker that does not coordinate) and a FindCoordinator without a coordinator encode at every version', () => {
  const versions = (apiKey: number): number[] => {
    const range = supportedApiVersions().find((v) => v.apiKey === apiKey)!;
    return Array.from({ length: range.maxVersion - range.minVersion + 1 }, (_, i) => range.minVersion + i);
  };
  const roundTrip = (apiKey: number, version: number, body: unknown): any => (decodeResponse(apiKey as never, version, encodeResponse(apiKey as never, version, 7, body as never).subarray(4)) as { body: unknown }).body;
  const code = ErrorCode.NOT_COORDINATOR;
  for (const v of versions(ApiKey.FindCoordinator)) {
    const decoded = roundTrip(ApiKey.FindCoordinator, v, findCoordinatorResponse({ key: 'g', keyType: 0, coordinatorKeys: ['g'] }, v, () => null));
    assert.equal(v >= 4 ? decoded.coordinators[0].errorCode : decoded.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
  for (const v of versions(ApiKey.JoinGroup)) assert.equal(roundTrip(ApiKey.JoinGroup, v, refuseGroupRequest.joinGroup({ groupId: 'g', sessionTimeoutMs: 1, memberId: 'm', protocolType: 'consumer', protocols: [] }, v, code)).errorCode, code);
  for (const v of versions(ApiKey.SyncGroup)) assert.equal(roundTrip(ApiKey.SyncGroup, v, refuseGroupRequest.syncGroup(code)).errorCode, code);
  for (const v of versions(ApiKey.Heartbeat)) assert.equal(roundTrip(ApiKey.Heartbeat, v, refuseGroupRequest.heartbeat(code)).errorCode, code);
  for (const v of versions(ApiKey.LeaveGroup)) assert.equal(roundTrip(ApiKey.LeaveGroup, v, refuseGroupRequest.leaveGroup(code)).errorCode, code);
  const commit = { groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }] };
  for (const v of versions(ApiKey.OffsetCommit)) assert.equal(roundTrip(ApiKey.OffsetCommit, v, refuseGroupRequest.offsetCommit(commit, code)).topics[0].partitions[0].errorCode, code);
  for (const v of versions(ApiKey.OffsetFetch)) {
    const decoded = roundTrip(ApiKey.OffsetFetch, v, refuseGroupRequest.offsetFetch({ groupId: 'g', topics: null, groups: [{ groupId: 'g', topics: null }] }, v, code));
    if (v >= 2) assert.equal(v >= 8 ? decoded.groups[0].errorCode : decoded.errorCode, code);
  }
  for (const v of versions(ApiKey.ListGroups)) assert.deepEqual(roundTrip(ApiKey.ListGroups, v, refuseGroupRequest.listGroups(code)).groups, []);
  for (const v of versions(ApiKey.DescribeGroups)) assert.equal(roundTrip(ApiKey.DescribeGroups, v, refuseGroupRequest.describeGroups({ groups: ['g'] }, code)).groups[0].errorCode, code);
  for (const v of versions(ApiKey.DeleteGroups)) assert.equal(roundTrip(ApiKey.DeleteGroups, v, refuseGroupRequest.deleteGroups({ groupsNames: ['g'] }, code)).results[0].errorCode, code);
  for (const v of versions(ApiKey.OffsetDelete)) assert.equal(roundTrip(ApiKey.OffsetDelete, v, refuseGroupRequest.offsetDelete(code)).errorCode, code);
});
