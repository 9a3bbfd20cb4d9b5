// Schemas for the consumer-group APIs (coordinator discovery, membership, offsets, listing).
// Field names/types/versions follow the public Kafka protocol specification (camelCase names).
import { ApiKey } from '../api-keys.js';
import { f, message, type MessageType, type MessageSchema } from '../schema/dsl.js';

export const FindCoordinatorRequestSchema = message({
  name: 'FindCoordinatorRequest',
  apiKey: 10,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [f('key', 'string', '0-3'), f('keyType', 'int8', '1+', { default: 0 }), f('coordinatorKeys', '[]string', '4+')],
});

export const FindCoordinatorResponseSchema = message({
  name: 'FindCoordinatorResponse',
  apiKey: 10,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '0-3'),
    f('errorMessage', 'string', '1-3', { nullableVersions: '1-3', default: null }),
    f('nodeId', 'int32', '0-3'),
    f('host', 'string', '0-3'),
    f('port', 'int32', '0-3'),
    f('coordinators', '[]struct', '4+', {
      fields: [
        f('key', 'string', '4+'),
        f('nodeId', 'int32', '4+'),
        f('host', 'string', '4+'),
        f('port', 'int32', '4+'),
        f('errorCode', 'int16', '4+'),
        f('errorMessage', 'string', '4+', { nullableVersions: '4+', default: null }),
      ],
    }),
  ],
});

export const JoinGroupRequestSchema = message({
  name: 'JoinGroupRequest',
  apiKey: 11,
  type: 'request',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    f('groupId', 'string', '0+'),
    f('sessionTimeoutMs', 'int32', '0+'),
    f('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
    f('memberId', 'string', '0+'),
    f('groupInstanceId', 'string', '5+', { nullableVersions: '5+', default: null }),
    f('protocolType', 'string', '0+'),
    f('protocols', '[]struct', '0+', { fields: [f('name', 'string', '0+'), f('metadata', 'bytes', '0+')] }),
    f('reason', 'string', '8+', { nullableVersions: '8+', default: null }),
  ],
});

export const JoinGroupResponseSchema = message({
  name: 'JoinGroupResponse',
  apiKey: 11,
  type: 'response',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    f('throttleTimeMs', 'int32', '2+'),
    f('errorCode', 'int16', '0+'),
    f('generationId', 'int32', '0+', { default: -1 }),
    f('protocolType', 'string', '7+', { nullableVersions: '7+', default: null }),
    f('protocolName', 'string', '0+', { nullableVersions: '7+' }),
    f('leader', 'string', '0+'),
    f('skipAssignment', 'bool', '9+', { default: false }),
    f('memberId', 'string', '0+'),
    f('members', '[]struct', '0+', {
      fields: [
        f('memberId', 'string', '0+'),
        f('groupInstanceId', 'string', '5+', { nullableVersions: '5+', default: null }),
        f('metadata', 'bytes', '0+'),
      ],
    }),
  ],
});

export const SyncGroupRequestSchema = message({
  name: 'SyncGroupRequest',
  apiKey: 14,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    f('groupId', 'string', '0+'),
    f('generationId', 'int32', '0+'),
    f('memberId', 'string', '0+'),
    f('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
    f('protocolType', 'string', '5+', { nullableVersions: '5+', default: null }),
    f('protocolName', 'string', '5+', { nullableVersions: '5+', default: null }),
    f('assignments', '[]struct', '0+', { fields: [f('memberId', 'string', '0+'), f('assignment', 'bytes', '0+')] }),
  ],
});

export const SyncGroupResponseSchema = message({
  name: 'SyncGroupResponse',
  apiKey: 14,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '0+'),
    f('protocolType', 'string', '5+', { nullableVersions: '5+', default: null }),
    f('protocolName', 'string', '5+', { nullableVersions: '5+', default: null }),
    f('assignment', 'bytes', '0+'),
  ],
});

export const HeartbeatRequestSchema = message({
  name: 'HeartbeatRequest',
  apiKey: 12,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    f('groupId', 'string', '0+'),
    f('generationId', 'int32', '0+'),
    f('memberId', 'string', '0+'),
    f('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
  ],
});

export const HeartbeatResponseSchema = message({
  name: 'HeartbeatResponse',
  apiKey: 12,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [f('throttleTimeMs', 'int32', '1+'), f('errorCode', 'int16', '0+')],
});

export const LeaveGroupRequestSchema = message({
  name: 'LeaveGroupRequest',
  apiKey: 13,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    f('groupId', 'string', '0+'),
    f('memberId', 'string', '0-2'),
    f('members', '[]struct', '3+', {
      fields: [
        f('memberId', 'string', '3+'),
        f('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
        f('reason', 'string', '5+', { nullableVersions: '5+', default: null }),
      ],
    }),
  ],
});

export const LeaveGroupResponseSchema = message({
  name: 'LeaveGroupResponse',
  apiKey: 13,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '0+'),
    f('members', '[]struct', '3+', {
      fields: [
        f('memberId', 'string', '3+'),
        f('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
        f('errorCode', 'int16', '3+'),
      ],
    }),
  ],
});

export const OffsetCommitRequestSchema = message({
  name: 'OffsetCommitRequest',
  apiKey: 8,
  type: 'request',
  validVersions: '0-8',
  flexibleVersions: '8+',
  fields: [
    f('groupId', 'string', '0+'),
    f('generationIdOrMemberEpoch', 'int32', '1+', { default: -1 }),
    f('memberId', 'string', '1+'),
    f('groupInstanceId', 'string', '7+', { nullableVersions: '7+', default: null }),
    f('retentionTimeMs', 'int64', '2-4', { default: -1 }),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partitionIndex', 'int32', '0+'),
            f('committedOffset', 'int64', '0+'),
            f('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
            f('commitTimestamp', 'int64', '1', { default: -1 }),
            f('committedMetadata', 'string', '0+', { nullableVersions: '0+' }),
          ],
        }),
      ],
    }),
  ],
});

export const OffsetCommitResponseSchema = message({
  name: 'OffsetCommitResponse',
  apiKey: 8,
  type: 'response',
  validVersions: '0-8',
  flexibleVersions: '8+',
  fields: [
    f('throttleTimeMs', 'int32', '3+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', { fields: [f('partitionIndex', 'int32', '0+'), f('errorCode', 'int16', '0+')] }),
      ],
    }),
  ],
});

const offsetFetchTopicRequest = [f('name', 'string', '0+'), f('partitionIndexes', '[]int32', '0+')] as const;

export const OffsetFetchRequestSchema = message({
  name: 'OffsetFetchRequest',
  apiKey: 9,
  type: 'request',
  validVersions: '0-8',
  flexibleVersions: '6+',
  fields: [
    f('groupId', 'string', '0-7'),
    f('topics', '[]struct', '0-7', { nullableVersions: '2-7', fields: offsetFetchTopicRequest }),
    f('groups', '[]struct', '8+', {
      fields: [
        f('groupId', 'string', '8+'),
        f('memberId', 'string', '9+', { nullableVersions: '9+', default: null }),
        f('memberEpoch', 'int32', '9+', { default: -1 }),
        f('topics', '[]struct', '8+', { nullableVersions: '8+', fields: offsetFetchTopicRequest }),
      ],
    }),
    f('requireStable', 'bool', '7+', { default: false }),
  ],
});

const offsetFetchPartitionResponse = [
  f('partitionIndex', 'int32', '0+'),
  f('committedOffset', 'int64', '0+'),
  f('committedLeaderEpoch', 'int32', '5+', { default: -1 }),
  f('metadata', 'string', '0+', { nullableVersions: '0+' }),
  f('errorCode', 'int16', '0+'),
] as const;

export const OffsetFetchResponseSchema = message({
  name: 'OffsetFetchResponse',
  apiKey: 9,
  type: 'response',
  validVersions: '0-8',
  flexibleVersions: '6+',
  fields: [
    f('throttleTimeMs', 'int32', '3+'),
    f('topics', '[]struct', '0-7', {
      fields: [f('name', 'string', '0+'), f('partitions', '[]struct', '0+', { fields: offsetFetchPartitionResponse })],
    }),
    f('errorCode', 'int16', '2-7'),
    f('groups', '[]struct', '8+', {
      fields: [
        f('groupId', 'string', '8+'),
        f('topics', '[]struct', '8+', {
          fields: [f('name', 'string', '8+'), f('partitions', '[]struct', '8+', { fields: offsetFetchPartitionResponse })],
        }),
        f('errorCode', 'int16', '8+'),
      ],
    }),
  ],
});

export const ListGroupsRequestSchema = message({
  name: 'ListGroupsRequest',
  apiKey: 16,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [f('statesFilter', '[]string', '4+'), f('typesFilter', '[]string', '5+')],
});

export const ListGroupsResponseSchema = message({
  name: 'ListGroupsResponse',
  apiKey: 16,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '0+'),
    f('groups', '[]struct', '0+', {
      fields: [
        f('groupId', 'string', '0+'),
        f('protocolType', 'string', '0+'),
        f('groupState', 'string', '4+'),
        f('groupType', 'string', '5+'),
      ],
    }),
  ],
});

export const DescribeGroupsRequestSchema = message({
  name: 'DescribeGroupsRequest',
  apiKey: 15,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [f('groups', '[]string', '0+'), f('includeAuthorizedOperations', 'bool', '3+')],
});

export const DescribeGroupsResponseSchema = message({
  name: 'DescribeGroupsResponse',
  apiKey: 15,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [
    f('throttleTimeMs', 'int32', '1+'),
    f('groups', '[]struct', '0+', {
      fields: [
        f('errorCode', 'int16', '0+'),
        f('errorMessage', 'string', '6+', { nullableVersions: '6+', default: null }),
        f('groupId', 'string', '0+'),
        f('groupState', 'string', '0+'),
        f('protocolType', 'string', '0+'),
        f('protocolData', 'string', '0+'),
        f('members', '[]struct', '0+', {
          fields: [
            f('memberId', 'string', '0+'),
            f('groupInstanceId', 'string', '4+', { nullableVersions: '4+', default: null }),
            f('clientId', 'string', '0+'),
            f('clientHost', 'string', '0+'),
            f('memberMetadata', 'bytes', '0+'),
            f('memberAssignment', 'bytes', '0+'),
          ],
        }),
        f('authorizedOperations', 'int32', '3+', { default: -2147483648 }),
      ],
    }),
  ],
});

export const DeleteGroupsRequestSchema = message({
  name: 'DeleteGroupsRequest',
  apiKey: 42,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [f('groupsNames', '[]string', '0+')],
});

export const DeleteGroupsResponseSchema = message({
  name: 'DeleteGroupsResponse',
  apiKey: 42,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('results', '[]struct', '0+', { fields: [f('groupId', 'string', '0+'), f('errorCode', 'int16', '0+')] }),
  ],
});

export const OffsetDeleteRequestSchema = message({
  name: 'OffsetDeleteRequest',
  apiKey: 47,
  type: 'request',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    f('groupId', 'string', '0+'),
    f('topics', '[]struct', '0+', {
      fields: [f('name', 'string', '0+'), f('partitions', '[]struct', '0+', { fields: [f('partitionIndex', 'int32', '0+')] })],
    }),
  ],
});

export const OffsetDeleteResponseSchema = message({
  name: 'OffsetDeleteResponse',
  apiKey: 47,
  type: 'response',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    f('errorCode', 'int16', '0+'),
    f('throttleTimeMs', 'int32', '0+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', { fields: [f('partitionIndex', 'int32', '0+'), f('errorCode', 'int16', '0+')] }),
      ],
    }),
  ],
});

export const groupApis: [number, { request: MessageSchema; response: MessageSchema }][] = [
  [ApiKey.FindCoordinator, { request: FindCoordinatorRequestSchema, response: FindCoordinatorResponseSchema }],
  [ApiKey.JoinGroup, { request: JoinGroupRequestSchema, response: JoinGroupResponseSchema }],
  [ApiKey.SyncGroup, { request: SyncGroupRequestSchema, response: SyncGroupResponseSchema }],
  [ApiKey.Heartbeat, { request: HeartbeatRequestSchema, response: HeartbeatResponseSchema }],
  [ApiKey.LeaveGroup, { request: LeaveGroupRequestSchema, response: LeaveGroupResponseSchema }],
  [ApiKey.OffsetCommit, { request: OffsetCommitRequestSchema, response: OffsetCommitResponseSchema }],
  [ApiKey.OffsetFetch, { request: OffsetFetchRequestSchema, response: OffsetFetchResponseSchema }],
  [ApiKey.ListGroups, { request: ListGroupsRequestSchema, response: ListGroupsResponseSchema }],
  [ApiKey.DescribeGroups, { request: DescribeGroupsRequestSchema, response: DescribeGroupsResponseSchema }],
  [ApiKey.DeleteGroups, { request: DeleteGroupsRequestSchema, response: DeleteGroupsResponseSchema }],
  [ApiKey.OffsetDelete, { request: OffsetDeleteRequestSchema, response: OffsetDeleteResponseSchema }],
];

export type FindCoordinatorRequest = MessageType<typeof FindCoordinatorRequestSchema>;
export type FindCoordinatorResponse = MessageType<typeof FindCoordinatorResponseSchema>;
export type JoinGroupRequest = MessageType<typeof JoinGroupRequestSchema>;
export type JoinGroupResponse = MessageType<typeof JoinGroupResponseSchema>;
export type SyncGroupRequest = MessageType<typeof SyncGroupRequestSchema>;
export type SyncGroupResponse = MessageType<typeof SyncGroupResponseSchema>;
export type HeartbeatRequest = MessageType<typeof HeartbeatRequestSchema>;
export type HeartbeatResponse = MessageType<typeof HeartbeatResponseSchema>;
export type LeaveGroupRequest = MessageType<typeof LeaveGroupRequestSchema>;
export type LeaveGroupResponse = MessageType<typeof LeaveGroupResponseSchema>;
export type OffsetCommitRequest = MessageType<typeof OffsetCommitRequestSchema>;
export type OffsetCommitResponse = MessageType<typeof OffsetCommitResponseSchema>;
export type OffsetFetchRequest = MessageType<typeof OffsetFetchRequestSchema>;
export type OffsetFetchResponse = MessageType<typeof OffsetFetchResponseSchema>;
export type ListGroupsRequest = MessageType<typeof ListGroupsRequestSchema>;
export type ListGroupsResponse = MessageType<typeof ListGroupsResponseSchema>;
export type DescribeGroupsRequest = MessageType<typeof DescribeGroupsRequestSchema>;
export type DescribeGroupsResponse = MessageType<typeof DescribeGroupsResponseSchema>;
export type DeleteGroupsRequest = MessageType<typeof DeleteGroupsRequestSchema>;
export type DeleteGroupsResponse = MessageType<typeof DeleteGroupsResponseSchema>;
export type OffsetDeleteRequest = MessageType<typeof OffsetDeleteRequestSchema>;
export type OffsetDeleteResponse = MessageType<typeof OffsetDeleteResponseSchema>;
