// Request and response shapes of the consumer-group APIs, named like Apache Kafka's JSON message
// definitions (camelCase). Fields that exist only in some versions are optional on requests; responses
// always carry every field of the newest version we answer, and the encoder writes those of the version.
// These mirror @tributary/protocol's types structurally so the dispatcher can pass decoded requests in.

export interface FindCoordinatorRequest {
  key?: string | null;
  keyType?: number;
  coordinatorKeys?: (string | null)[] | null;
}
export interface FindCoordinatorResponseCoordinator {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}
export interface FindCoordinatorResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
  coordinators: FindCoordinatorResponseCoordinator[];
}

export interface JoinGroupRequestProtocol {
  name: string | null;
  metadata: Buffer | null;
}
export interface JoinGroupRequest {
  groupId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs?: number;
  memberId: string | null;
  groupInstanceId?: string | null;
  protocolType: string | null;
  protocols: JoinGroupRequestProtocol[] | null;
  reason?: string | null;
}
export interface JoinGroupResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}
export interface JoinGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: JoinGroupResponseMember[];
}

export interface SyncGroupRequestAssignment {
  memberId: string | null;
  assignment: Buffer | null;
}
export interface SyncGroupRequest {
  groupId: string | null;
  generationId: number;
  memberId: string | null;
  groupInstanceId?: string | null;
  protocolType?: string | null;
  protocolName?: string | null;
  assignments: SyncGroupRequestAssignment[] | null;
}
export interface SyncGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  groupId: string | null;
  generationId: number;
  memberId: string | null;
  groupInstanceId?: string | null;
}
export interface HeartbeatResponse {
  throttleTimeMs: number;
  errorCode: number;
}

export interface LeaveGroupRequestMember {
  memberId?: string | null;
  groupInstanceId?: string | null;
  reason?: string | null;
}
export interface LeaveGroupRequest {
  groupId: string | null;
  memberId?: string | null;
  members?: LeaveGroupRequestMember[] | null;
}
export interface LeaveGroupResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  errorCode: number;
}
export interface LeaveGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  members: LeaveGroupResponseMember[];
}

export interface OffsetCommitRequestPartition {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch?: number;
  commitTimestamp?: number;
  committedMetadata: string | null;
}
export interface OffsetCommitRequestTopic {
  name: string | null;
  partitions: OffsetCommitRequestPartition[] | null;
}
export interface OffsetCommitRequest {
  groupId: string | null;
  /** Named `GenerationIdOrMemberEpoch` in newer Kafka definitions, `GenerationId` in older ones; both are read. */
  generationIdOrMemberEpoch?: number;
  generationId?: number;
  memberId?: string | null;
  groupInstanceId?: string | null;
  retentionTimeMs?: number;
  topics: OffsetCommitRequestTopic[] | null;
}
export interface OffsetCommitResponsePartition {
  partitionIndex: number;
  errorCode: number;
}
export interface OffsetCommitResponseTopic {
  name: string;
  partitions: OffsetCommitResponsePartition[];
}
export interface OffsetCommitResponse {
  throttleTimeMs: number;
  topics: OffsetCommitResponseTopic[];
}

export interface OffsetFetchRequestTopic {
  name: string | null;
  partitionIndexes: number[] | null;
}
export interface OffsetFetchRequestGroup {
  groupId?: string | null;
  memberId?: string | null;
  memberEpoch?: number;
  topics?: OffsetFetchRequestTopic[] | null;
}
export interface OffsetFetchRequest {
  groupId?: string | null;
  topics?: OffsetFetchRequestTopic[] | null;
  groups?: OffsetFetchRequestGroup[] | null;
  requireStable?: boolean;
}
export interface OffsetFetchResponsePartition {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}
export interface OffsetFetchResponseTopic {
  name: string;
  partitions: OffsetFetchResponsePartition[];
}
export interface OffsetFetchResponseGroup {
  groupId: string;
  topics: OffsetFetchResponseTopic[];
  errorCode: number;
}
export interface OffsetFetchResponse {
  throttleTimeMs: number;
  topics: OffsetFetchResponseTopic[];
  errorCode: number;
  groups: OffsetFetchResponseGroup[];
}

export interface ListGroupsRequest {
  statesFilter?: (string | null)[] | null;
  typesFilter?: (string | null)[] | null;
}
export interface ListGroupsResponseGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  groupType: string;
}
export interface ListGroupsResponse {
  throttleTimeMs: number;
  errorCode: number;
  groups: ListGroupsResponseGroup[];
}

export interface DescribeGroupsRequest {
  groups: (string | null)[] | null;
  includeAuthorizedOperations?: boolean;
}
export interface DescribeGroupsResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}
export interface DescribeGroupsResponseGroup {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: DescribeGroupsResponseMember[];
  authorizedOperations: number;
}
export interface DescribeGroupsResponse {
  throttleTimeMs: number;
  groups: DescribeGroupsResponseGroup[];
}

export interface DeleteGroupsRequest {
  groupsNames: (string | null)[] | null;
}
export interface DeleteGroupsResponseResult {
  groupId: string;
  errorCode: number;
}
export interface DeleteGroupsResponse {
  throttleTimeMs: number;
  results: DeleteGroupsResponseResult[];
}

export interface OffsetDeleteRequestPartition {
  partitionIndex: number;
}
export interface OffsetDeleteRequestTopic {
  name: string | null;
  partitions: OffsetDeleteRequestPartition[] | null;
}
export interface OffsetDeleteRequest {
  groupId: string | null;
  topics: OffsetDeleteRequestTopic[] | null;
}
export interface OffsetDeleteResponsePartition {
  partitionIndex: number;
  errorCode: number;
}
export interface OffsetDeleteResponseTopic {
  name: string;
  partitions: OffsetDeleteResponsePartition[];
}
export interface OffsetDeleteResponse {
  errorCode: number;
  throttleTimeMs: number;
  topics: OffsetDeleteResponseTopic[];
}

/** Who sent a request: the client.id header and the peer address. */
export interface RequestContext {
  clientId: string | null;
  clientHost: string;
}
