// Answers of a broker that does not coordinate consumer groups right now (cluster mode: not the metadata leader, or
// still loading the groups after becoming it): every group API answered with one error code in that API's shape.
// NOT_COORDINATOR makes clients look the coordinator up again; COORDINATOR_LOAD_IN_PROGRESS makes them retry here.
import { GroupErrorCode } from './error-codes.js';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupResponse,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  SyncGroupResponse,
} from './wire-types.js';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const refuseGroupRequest = {
  joinGroup: (request: JoinGroupRequest, apiVersion: number, errorCode: number): JoinGroupResponse => ({
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: apiVersion >= 7 ? null : '',
    leader: '',
    skipAssignment: false,
    memberId: request.memberId ?? '',
    members: [],
  }),
  syncGroup: (errorCode: number): SyncGroupResponse => ({ throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) }),
  heartbeat: (errorCode: number): HeartbeatResponse => ({ throttleTimeMs: 0, errorCode }),
  leaveGroup: (errorCode: number): LeaveGroupResponse => ({ throttleTimeMs: 0, errorCode, members: [] }),
  offsetCommit: (request: OffsetCommitRequest, errorCode: number): OffsetCommitResponse => ({
    throttleTimeMs: 0,
    topics: (request.topics ?? []).map((t) => ({ name: t.name ?? '', partitions: (t.partitions ?? []).map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
  }),
  offsetFetch: (request: OffsetFetchRequest, apiVersion: number, errorCode: number): OffsetFetchResponse =>
    apiVersion >= 8
      ? { throttleTimeMs: 0, topics: [], errorCode: GroupErrorCode.NONE, groups: (request.groups ?? []).map((g) => ({ groupId: g.groupId ?? '', topics: [], errorCode })) }
      : { throttleTimeMs: 0, topics: [], errorCode, groups: [] },
  /** A broker lists the groups it coordinates (admin clients ask every broker and merge): none, unless loading. */
  listGroups: (errorCode: number): ListGroupsResponse => ({
    throttleTimeMs: 0,
    errorCode: errorCode === GroupErrorCode.NOT_COORDINATOR ? GroupErrorCode.NONE : errorCode,
    groups: [],
  }),
  describeGroups: (request: DescribeGroupsRequest, errorCode: number): DescribeGroupsResponse => ({
    throttleTimeMs: 0,
    groups: (request.groups ?? []).map((id) => ({
      errorCode,
      errorMessage: null,
      groupId: id ?? '',
      groupState: '',
      protocolType: '',
      protocolData: '',
      members: [],
      authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    })),
  }),
  deleteGroups: (request: DeleteGroupsRequest, errorCode: number): DeleteGroupsResponse => ({
    throttleTimeMs: 0,
    results: (request.groupsNames ?? []).map((id) => ({ groupId: id ?? '', errorCode })),
  }),
  offsetDelete: (errorCode: number): OffsetDeleteResponse => ({ errorCode, throttleTimeMs: 0, topics: [] }),
};
