// Schemas for topic/config/cluster administration APIs and InitProducerId / OffsetForLeaderEpoch.
// Field names/types/versions follow the public Kafka protocol specification (camelCase names).
import { ApiKey } from '../api-keys.js';
import { f, message, type MessageType, type MessageSchema } from '../schema/dsl.js';

const configEntry = [f('name', 'string', '0+'), f('value', 'string', '0+', { nullableVersions: '0+' })] as const;

export const CreateTopicsRequestSchema = message({
  name: 'CreateTopicsRequest',
  apiKey: 19,
  type: 'request',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('numPartitions', 'int32', '0+'),
        f('replicationFactor', 'int16', '0+'),
        f('assignments', '[]struct', '0+', { fields: [f('partitionIndex', 'int32', '0+'), f('brokerIds', '[]int32', '0+')] }),
        f('configs', '[]struct', '0+', { fields: configEntry }),
      ],
    }),
    f('timeoutMs', 'int32', '0+', { default: 60000 }),
    f('validateOnly', 'bool', '1+', { default: false }),
  ],
});

export const CreateTopicsResponseSchema = message({
  name: 'CreateTopicsResponse',
  apiKey: 19,
  type: 'response',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    f('throttleTimeMs', 'int32', '2+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('topicId', 'uuid', '7+'),
        f('errorCode', 'int16', '0+'),
        f('errorMessage', 'string', '1+', { nullableVersions: '0+', default: null }),
        f('topicConfigErrorCode', 'int16', '5+', { tag: 0, taggedVersions: '5+' }),
        f('numPartitions', 'int32', '5+', { default: -1 }),
        f('replicationFactor', 'int16', '5+', { default: -1 }),
        f('configs', '[]struct', '5+', {
          nullableVersions: '5+',
          fields: [
            f('name', 'string', '5+'),
            f('value', 'string', '5+', { nullableVersions: '5+' }),
            f('readOnly', 'bool', '5+'),
            f('configSource', 'int8', '5+', { default: -1 }),
            f('isSensitive', 'bool', '5+'),
          ],
        }),
      ],
    }),
  ],
});

export const DeleteTopicsRequestSchema = message({
  name: 'DeleteTopicsRequest',
  apiKey: 20,
  type: 'request',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    f('topics', '[]struct', '6+', {
      fields: [f('name', 'string', '6+', { nullableVersions: '6+', default: null }), f('topicId', 'uuid', '6+')],
    }),
    f('topicNames', '[]string', '0-5'),
    f('timeoutMs', 'int32', '0+'),
  ],
});

export const DeleteTopicsResponseSchema = message({
  name: 'DeleteTopicsResponse',
  apiKey: 20,
  type: 'response',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    f('throttleTimeMs', 'int32', '1+'),
    f('responses', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+', { nullableVersions: '6+' }),
        f('topicId', 'uuid', '6+'),
        f('errorCode', 'int16', '0+'),
        f('errorMessage', 'string', '5+', { nullableVersions: '5+', default: null }),
      ],
    }),
  ],
});

export const CreatePartitionsRequestSchema = message({
  name: 'CreatePartitionsRequest',
  apiKey: 37,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('count', 'int32', '0+'),
        f('assignments', '[]struct', '0+', { nullableVersions: '0+', default: null, fields: [f('brokerIds', '[]int32', '0+')] }),
      ],
    }),
    f('timeoutMs', 'int32', '0+'),
    f('validateOnly', 'bool', '0+'),
  ],
});

export const CreatePartitionsResponseSchema = message({
  name: 'CreatePartitionsResponse',
  apiKey: 37,
  type: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('results', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('errorCode', 'int16', '0+'),
        f('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
      ],
    }),
  ],
});

export const DescribeConfigsRequestSchema = message({
  name: 'DescribeConfigsRequest',
  apiKey: 32,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    f('resources', '[]struct', '0+', {
      fields: [
        f('resourceType', 'int8', '0+'),
        f('resourceName', 'string', '0+'),
        f('configurationKeys', '[]string', '0+', { nullableVersions: '0+', default: null }),
      ],
    }),
    f('includeSynonyms', 'bool', '1+', { default: false }),
    f('includeDocumentation', 'bool', '3+', { default: false }),
  ],
});

export const DescribeConfigsResponseSchema = message({
  name: 'DescribeConfigsResponse',
  apiKey: 32,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('results', '[]struct', '0+', {
      fields: [
        f('errorCode', 'int16', '0+'),
        f('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
        f('resourceType', 'int8', '0+'),
        f('resourceName', 'string', '0+'),
        f('configs', '[]struct', '0+', {
          fields: [
            f('name', 'string', '0+'),
            f('value', 'string', '0+', { nullableVersions: '0+' }),
            f('readOnly', 'bool', '0+'),
            f('isDefault', 'bool', '0'),
            f('configSource', 'int8', '1+', { default: -1 }),
            f('isSensitive', 'bool', '0+'),
            f('synonyms', '[]struct', '1+', {
              fields: [f('name', 'string', '1+'), f('value', 'string', '1+', { nullableVersions: '0+' }), f('source', 'int8', '1+')],
            }),
            f('configType', 'int8', '3+', { default: 0 }),
            f('documentation', 'string', '3+', { nullableVersions: '0+', default: null }),
          ],
        }),
      ],
    }),
  ],
});

export const AlterConfigsRequestSchema = message({
  name: 'AlterConfigsRequest',
  apiKey: 33,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    f('resources', '[]struct', '0+', {
      fields: [f('resourceType', 'int8', '0+'), f('resourceName', 'string', '0+'), f('configs', '[]struct', '0+', { fields: configEntry })],
    }),
    f('validateOnly', 'bool', '0+'),
  ],
});

const alterConfigsResourceResponse = [
  f('errorCode', 'int16', '0+'),
  f('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
  f('resourceType', 'int8', '0+'),
  f('resourceName', 'string', '0+'),
] as const;

export const AlterConfigsResponseSchema = message({
  name: 'AlterConfigsResponse',
  apiKey: 33,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [f('throttleTimeMs', 'int32', '0+'), f('responses', '[]struct', '0+', { fields: alterConfigsResourceResponse })],
});

export const IncrementalAlterConfigsRequestSchema = message({
  name: 'IncrementalAlterConfigsRequest',
  apiKey: 44,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    f('resources', '[]struct', '0+', {
      fields: [
        f('resourceType', 'int8', '0+'),
        f('resourceName', 'string', '0+'),
        f('configs', '[]struct', '0+', {
          fields: [f('name', 'string', '0+'), f('configOperation', 'int8', '0+'), f('value', 'string', '0+', { nullableVersions: '0+' })],
        }),
      ],
    }),
    f('validateOnly', 'bool', '0+'),
  ],
});

export const IncrementalAlterConfigsResponseSchema = message({
  name: 'IncrementalAlterConfigsResponse',
  apiKey: 44,
  type: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [f('throttleTimeMs', 'int32', '0+'), f('responses', '[]struct', '0+', { fields: alterConfigsResourceResponse })],
});

export const DescribeClusterRequestSchema = message({
  name: 'DescribeClusterRequest',
  apiKey: 60,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '0+',
  fields: [
    f('includeClusterAuthorizedOperations', 'bool', '0+'),
    f('endpointType', 'int8', '1+', { default: 1 }),
    f('includeFencedBrokers', 'bool', '2+'),
  ],
});

export const DescribeClusterResponseSchema = message({
  name: 'DescribeClusterResponse',
  apiKey: 60,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '0+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('errorCode', 'int16', '0+'),
    f('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    f('endpointType', 'int8', '1+', { default: 1 }),
    f('clusterId', 'string', '0+'),
    f('controllerId', 'int32', '0+', { default: -1 }),
    f('brokers', '[]struct', '0+', {
      fields: [
        f('brokerId', 'int32', '0+'),
        f('host', 'string', '0+'),
        f('port', 'int32', '0+'),
        f('rack', 'string', '0+', { nullableVersions: '0+', default: null }),
        f('isFenced', 'bool', '2+'),
      ],
    }),
    f('clusterAuthorizedOperations', 'int32', '0+', { default: -2147483648 }),
  ],
});

export const DeleteRecordsRequestSchema = message({
  name: 'DeleteRecordsRequest',
  apiKey: 21,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', { fields: [f('partitionIndex', 'int32', '0+'), f('offset', 'int64', '0+')] }),
      ],
    }),
    f('timeoutMs', 'int32', '0+'),
  ],
});

export const DeleteRecordsResponseSchema = message({
  name: 'DeleteRecordsResponse',
  apiKey: 21,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [f('partitionIndex', 'int32', '0+'), f('lowWatermark', 'int64', '0+'), f('errorCode', 'int16', '0+')],
        }),
      ],
    }),
  ],
});

export const InitProducerIdRequestSchema = message({
  name: 'InitProducerIdRequest',
  apiKey: 22,
  type: 'request',
  validVersions: '0-5',
  flexibleVersions: '2+',
  fields: [
    f('transactionalId', 'string', '0+', { nullableVersions: '0+' }),
    f('transactionTimeoutMs', 'int32', '0+'),
    f('producerId', 'int64', '3+', { default: -1 }),
    f('producerEpoch', 'int16', '3+', { default: -1 }),
  ],
});

export const InitProducerIdResponseSchema = message({
  name: 'InitProducerIdResponse',
  apiKey: 22,
  type: 'response',
  validVersions: '0-5',
  flexibleVersions: '2+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('errorCode', 'int16', '0+'),
    f('producerId', 'int64', '0+', { default: -1 }),
    f('producerEpoch', 'int16', '0+'),
  ],
});

export const OffsetForLeaderEpochRequestSchema = message({
  name: 'OffsetForLeaderEpochRequest',
  apiKey: 23,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    f('replicaId', 'int32', '3+', { default: -2 }),
    f('topics', '[]struct', '0+', {
      fields: [
        f('topic', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partition', 'int32', '0+'),
            f('currentLeaderEpoch', 'int32', '2+', { default: -1 }),
            f('leaderEpoch', 'int32', '0+'),
          ],
        }),
      ],
    }),
  ],
});

export const OffsetForLeaderEpochResponseSchema = message({
  name: 'OffsetForLeaderEpochResponse',
  apiKey: 23,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    f('throttleTimeMs', 'int32', '2+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('topic', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('errorCode', 'int16', '0+'),
            f('partition', 'int32', '0+'),
            f('leaderEpoch', 'int32', '1+', { default: -1 }),
            f('endOffset', 'int64', '0+', { default: -1 }),
          ],
        }),
      ],
    }),
  ],
});

export const ElectLeadersRequestSchema = message({
  name: 'ElectLeadersRequest',
  apiKey: 43,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    f('electionType', 'int8', '1+'),
    f('topicPartitions', '[]struct', '0+', {
      nullableVersions: '0+',
      fields: [f('topic', 'string', '0+'), f('partitions', '[]int32', '0+')],
    }),
    f('timeoutMs', 'int32', '0+', { default: 60000 }),
  ],
});

export const ElectLeadersResponseSchema = message({
  name: 'ElectLeadersResponse',
  apiKey: 43,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('errorCode', 'int16', '1+'),
    f('replicaElectionResults', '[]struct', '0+', {
      fields: [
        f('topic', 'string', '0+'),
        f('partitionResult', '[]struct', '0+', {
          fields: [
            f('partitionId', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('errorMessage', 'string', '0+', { nullableVersions: '0+' }),
          ],
        }),
      ],
    }),
  ],
});

export const AlterPartitionReassignmentsRequestSchema = message({
  name: 'AlterPartitionReassignmentsRequest',
  apiKey: 45,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    f('timeoutMs', 'int32', '0+', { default: 60000 }),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [f('partitionIndex', 'int32', '0+'), f('replicas', '[]int32', '0+', { nullableVersions: '0+', default: null })],
        }),
      ],
    }),
  ],
});

export const AlterPartitionReassignmentsResponseSchema = message({
  name: 'AlterPartitionReassignmentsResponse',
  apiKey: 45,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('errorCode', 'int16', '0+'),
    f('errorMessage', 'string', '0+', { nullableVersions: '0+' }),
    f('responses', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partitionIndex', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('errorMessage', 'string', '0+', { nullableVersions: '0+' }),
          ],
        }),
      ],
    }),
  ],
});

export const ListPartitionReassignmentsRequestSchema = message({
  name: 'ListPartitionReassignmentsRequest',
  apiKey: 46,
  type: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    f('timeoutMs', 'int32', '0+', { default: 60000 }),
    f('topics', '[]struct', '0+', {
      nullableVersions: '0+',
      default: null,
      fields: [f('name', 'string', '0+'), f('partitionIndexes', '[]int32', '0+')],
    }),
  ],
});

export const ListPartitionReassignmentsResponseSchema = message({
  name: 'ListPartitionReassignmentsResponse',
  apiKey: 46,
  type: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    f('throttleTimeMs', 'int32', '0+'),
    f('errorCode', 'int16', '0+'),
    f('errorMessage', 'string', '0+', { nullableVersions: '0+' }),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partitionIndex', 'int32', '0+'),
            f('replicas', '[]int32', '0+'),
            f('addingReplicas', '[]int32', '0+'),
            f('removingReplicas', '[]int32', '0+'),
          ],
        }),
      ],
    }),
  ],
});

export const adminApis: [number, { request: MessageSchema; response: MessageSchema }][] = [
  [ApiKey.CreateTopics, { request: CreateTopicsRequestSchema, response: CreateTopicsResponseSchema }],
  [ApiKey.DeleteTopics, { request: DeleteTopicsRequestSchema, response: DeleteTopicsResponseSchema }],
  [ApiKey.CreatePartitions, { request: CreatePartitionsRequestSchema, response: CreatePartitionsResponseSchema }],
  [ApiKey.DescribeConfigs, { request: DescribeConfigsRequestSchema, response: DescribeConfigsResponseSchema }],
  [ApiKey.AlterConfigs, { request: AlterConfigsRequestSchema, response: AlterConfigsResponseSchema }],
  [ApiKey.IncrementalAlterConfigs, { request: IncrementalAlterConfigsRequestSchema, response: IncrementalAlterConfigsResponseSchema }],
  [ApiKey.DescribeCluster, { request: DescribeClusterRequestSchema, response: DescribeClusterResponseSchema }],
  [ApiKey.DeleteRecords, { request: DeleteRecordsRequestSchema, response: DeleteRecordsResponseSchema }],
  [ApiKey.InitProducerId, { request: InitProducerIdRequestSchema, response: InitProducerIdResponseSchema }],
  [ApiKey.OffsetForLeaderEpoch, { request: OffsetForLeaderEpochRequestSchema, response: OffsetForLeaderEpochResponseSchema }],
  [ApiKey.ElectLeaders, { request: ElectLeadersRequestSchema, response: ElectLeadersResponseSchema }],
  [
    ApiKey.AlterPartitionReassignments,
    { request: AlterPartitionReassignmentsRequestSchema, response: AlterPartitionReassignmentsResponseSchema },
  ],
  [
    ApiKey.ListPartitionReassignments,
    { request: ListPartitionReassignmentsRequestSchema, response: ListPartitionReassignmentsResponseSchema },
  ],
];

export type CreateTopicsRequest = MessageType<typeof CreateTopicsRequestSchema>;
export type CreateTopicsResponse = MessageType<typeof CreateTopicsResponseSchema>;
export type DeleteTopicsRequest = MessageType<typeof DeleteTopicsRequestSchema>;
export type DeleteTopicsResponse = MessageType<typeof DeleteTopicsResponseSchema>;
export type CreatePartitionsRequest = MessageType<typeof CreatePartitionsRequestSchema>;
export type CreatePartitionsResponse = MessageType<typeof CreatePartitionsResponseSchema>;
export type DescribeConfigsRequest = MessageType<typeof DescribeConfigsRequestSchema>;
export type DescribeConfigsResponse = MessageType<typeof DescribeConfigsResponseSchema>;
export type AlterConfigsRequest = MessageType<typeof AlterConfigsRequestSchema>;
export type AlterConfigsResponse = MessageType<typeof AlterConfigsResponseSchema>;
export type IncrementalAlterConfigsRequest = MessageType<typeof IncrementalAlterConfigsRequestSchema>;
export type IncrementalAlterConfigsResponse = MessageType<typeof IncrementalAlterConfigsResponseSchema>;
export type DescribeClusterRequest = MessageType<typeof DescribeClusterRequestSchema>;
export type DescribeClusterResponse = MessageType<typeof DescribeClusterResponseSchema>;
export type DeleteRecordsRequest = MessageType<typeof DeleteRecordsRequestSchema>;
export type DeleteRecordsResponse = MessageType<typeof DeleteRecordsResponseSchema>;
export type InitProducerIdRequest = MessageType<typeof InitProducerIdRequestSchema>;
export type InitProducerIdResponse = MessageType<typeof InitProducerIdResponseSchema>;
export type OffsetForLeaderEpochRequest = MessageType<typeof OffsetForLeaderEpochRequestSchema>;
export type OffsetForLeaderEpochResponse = MessageType<typeof OffsetForLeaderEpochResponseSchema>;
export type ElectLeadersRequest = MessageType<typeof ElectLeadersRequestSchema>;
export type ElectLeadersResponse = MessageType<typeof ElectLeadersResponseSchema>;
export type AlterPartitionReassignmentsRequest = MessageType<typeof AlterPartitionReassignmentsRequestSchema>;
export type AlterPartitionReassignmentsResponse = MessageType<typeof AlterPartitionReassignmentsResponseSchema>;
export type ListPartitionReassignmentsRequest = MessageType<typeof ListPartitionReassignmentsRequestSchema>;
export type ListPartitionReassignmentsResponse = MessageType<typeof ListPartitionReassignmentsResponseSchema>;
