// Schemas for ApiVersions, Metadata, Produce, Fetch, ListOffsets.
// Field names/types/versions follow the public Kafka protocol specification (camelCase names).
import { f, message, type MessageType } from '../schema/dsl.js';

export const ApiVersionsRequestSchema = message({
  name: 'ApiVersionsRequest',
  apiKey: 18,
  type: 'request',
  // v4 has the v3 layout (it only lifts a restriction on SupportedFeatures.minVersion); Java 3.9+/4.x send it first.
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [f('clientSoftwareName', 'string', '3+'), f('clientSoftwareVersion', 'string', '3+')],
});

export const ApiVersionsResponseSchema = message({
  name: 'ApiVersionsResponse',
  apiKey: 18,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    f('errorCode', 'int16', '0+'),
    f('apiKeys', '[]struct', '0+', {
      fields: [f('apiKey', 'int16', '0+'), f('minVersion', 'int16', '0+'), f('maxVersion', 'int16', '0+')],
    }),
    f('throttleTimeMs', 'int32', '1+'),
    f('supportedFeatures', '[]struct', '3+', {
      tag: 0,
      taggedVersions: '3+',
      fields: [f('name', 'string', '3+'), f('minVersion', 'int16', '3+'), f('maxVersion', 'int16', '3+')],
    }),
    f('finalizedFeaturesEpoch', 'int64', '3+', { tag: 1, taggedVersions: '3+', default: -1 }),
    f('finalizedFeatures', '[]struct', '3+', {
      tag: 2,
      taggedVersions: '3+',
      fields: [f('name', 'string', '3+'), f('maxVersionLevel', 'int16', '3+'), f('minVersionLevel', 'int16', '3+')],
    }),
    f('zkMigrationReady', 'bool', '3+', { tag: 3, taggedVersions: '3+', default: false }),
  ],
});

export const MetadataRequestSchema = message({
  name: 'MetadataRequest',
  apiKey: 3,
  type: 'request',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    f('topics', '[]struct', '0+', {
      nullableVersions: '1+',
      fields: [f('topicId', 'uuid', '10+'), f('name', 'string', '0+', { nullableVersions: '10+' })],
    }),
    f('allowAutoTopicCreation', 'bool', '4+', { default: true }),
    f('includeClusterAuthorizedOperations', 'bool', '8-10'),
    f('includeTopicAuthorizedOperations', 'bool', '8+'),
  ],
});

export const MetadataResponseSchema = message({
  name: 'MetadataResponse',
  apiKey: 3,
  type: 'response',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    f('throttleTimeMs', 'int32', '3+'),
    f('brokers', '[]struct', '0+', {
      fields: [
        f('nodeId', 'int32', '0+'),
        f('host', 'string', '0+'),
        f('port', 'int32', '0+'),
        f('rack', 'string', '1+', { nullableVersions: '1+', default: null }),
      ],
    }),
    f('clusterId', 'string', '2+', { nullableVersions: '2+', default: null }),
    f('controllerId', 'int32', '1+', { default: -1 }),
    f('topics', '[]struct', '0+', {
      fields: [
        f('errorCode', 'int16', '0+'),
        f('name', 'string', '0+', { nullableVersions: '12+' }),
        f('topicId', 'uuid', '10+'),
        f('isInternal', 'bool', '1+', { default: false }),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('errorCode', 'int16', '0+'),
            f('partitionIndex', 'int32', '0+'),
            f('leaderId', 'int32', '0+'),
            f('leaderEpoch', 'int32', '7+', { default: -1 }),
            f('replicaNodes', '[]int32', '0+'),
            f('isrNodes', '[]int32', '0+'),
            f('offlineReplicas', '[]int32', '5+'),
          ],
        }),
        f('topicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
      ],
    }),
    f('clusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
  ],
});

const leaderIdAndEpoch = [f('leaderId', 'int32', '0+', { default: -1 }), f('leaderEpoch', 'int32', '0+', { default: -1 })] as const;

const nodeEndpoint = [
  f('nodeId', 'int32', '0+'),
  f('host', 'string', '0+'),
  f('port', 'int32', '0+'),
  f('rack', 'string', '0+', { nullableVersions: '0+', default: null }),
] as const;

export const ProduceRequestSchema = message({
  name: 'ProduceRequest',
  apiKey: 0,
  type: 'request',
  validVersions: '0-11',
  flexibleVersions: '9+',
  fields: [
    f('transactionalId', 'string', '3+', { nullableVersions: '3+', default: null }),
    f('acks', 'int16', '0+'),
    f('timeoutMs', 'int32', '0+'),
    f('topicData', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitionData', '[]struct', '0+', { fields: [f('index', 'int32', '0+'), f('records', 'records', '0+')] }),
      ],
    }),
  ],
});

export const ProduceResponseSchema = message({
  name: 'ProduceResponse',
  apiKey: 0,
  type: 'response',
  validVersions: '0-11',
  flexibleVersions: '9+',
  fields: [
    f('responses', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitionResponses', '[]struct', '0+', {
          fields: [
            f('index', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('baseOffset', 'int64', '0+'),
            f('logAppendTimeMs', 'int64', '2+', { default: -1 }),
            f('logStartOffset', 'int64', '5+', { default: -1 }),
            f('recordErrors', '[]struct', '8+', {
              fields: [
                f('batchIndex', 'int32', '8+'),
                f('batchIndexErrorMessage', 'string', '8+', { nullableVersions: '8+', default: null }),
              ],
            }),
            f('errorMessage', 'string', '8+', { nullableVersions: '8+', default: null }),
            f('currentLeader', 'struct', '10+', { tag: 0, taggedVersions: '10+', fields: leaderIdAndEpoch }),
          ],
        }),
      ],
    }),
    f('throttleTimeMs', 'int32', '1+'),
    f('nodeEndpoints', '[]struct', '10+', { tag: 0, taggedVersions: '10+', fields: nodeEndpoint }),
  ],
});

export const FetchRequestSchema = message({
  name: 'FetchRequest',
  apiKey: 1,
  type: 'request',
  validVersions: '0-12',
  flexibleVersions: '12+',
  fields: [
    f('clusterId', 'string', '12+', { nullableVersions: '12+', default: null, tag: 0, taggedVersions: '12+' }),
    f('replicaId', 'int32', '0+', { default: -1 }),
    f('maxWaitMs', 'int32', '0+'),
    f('minBytes', 'int32', '0+'),
    f('maxBytes', 'int32', '3+', { default: 0x7fffffff }),
    f('isolationLevel', 'int8', '4+', { default: 0 }),
    f('sessionId', 'int32', '7+', { default: 0 }),
    f('sessionEpoch', 'int32', '7+', { default: -1 }),
    f('topics', '[]struct', '0+', {
      fields: [
        f('topic', 'string', '0-12'),
        f('topicId', 'uuid', '13+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partition', 'int32', '0+'),
            f('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
            f('fetchOffset', 'int64', '0+'),
            f('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
            f('logStartOffset', 'int64', '5+', { default: -1 }),
            f('partitionMaxBytes', 'int32', '0+'),
          ],
        }),
      ],
    }),
    f('forgottenTopicsData', '[]struct', '7+', {
      fields: [f('topic', 'string', '7-12'), f('topicId', 'uuid', '13+'), f('partitions', '[]int32', '7+')],
    }),
    f('rackId', 'string', '11+', { default: '' }),
  ],
});

export const FetchResponseSchema = message({
  name: 'FetchResponse',
  apiKey: 1,
  type: 'response',
  validVersions: '0-12',
  flexibleVersions: '12+',
  fields: [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '7+'),
    f('sessionId', 'int32', '7+', { default: 0 }),
    f('responses', '[]struct', '0+', {
      fields: [
        f('topic', 'string', '0-12'),
        f('topicId', 'uuid', '13+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partitionIndex', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('highWatermark', 'int64', '0+'),
            f('lastStableOffset', 'int64', '4+', { default: -1 }),
            f('logStartOffset', 'int64', '5+', { default: -1 }),
            f('divergingEpoch', 'struct', '12+', {
              tag: 0,
              taggedVersions: '12+',
              fields: [f('epoch', 'int32', '12+', { default: -1 }), f('endOffset', 'int64', '12+', { default: -1 })],
            }),
            f('currentLeader', 'struct', '12+', { tag: 1, taggedVersions: '12+', fields: leaderIdAndEpoch }),
            f('snapshotId', 'struct', '12+', {
              tag: 2,
              taggedVersions: '12+',
              fields: [f('endOffset', 'int64', '0+', { default: -1 }), f('epoch', 'int32', '0+', { default: -1 })],
            }),
            f('abortedTransactions', '[]struct', '4+', {
              nullableVersions: '4+',
              default: null,
              fields: [f('producerId', 'int64', '4+'), f('firstOffset', 'int64', '4+')],
            }),
            f('preferredReadReplica', 'int32', '11+', { default: -1 }),
            f('records', 'records', '0+', { nullableVersions: '0+' }),
          ],
        }),
      ],
    }),
    f('nodeEndpoints', '[]struct', '16+', { tag: 0, taggedVersions: '16+', fields: nodeEndpoint }),
  ],
});

export const ListOffsetsRequestSchema = message({
  name: 'ListOffsetsRequest',
  apiKey: 2,
  type: 'request',
  validVersions: '0-8',
  flexibleVersions: '6+',
  fields: [
    f('replicaId', 'int32', '0+'),
    f('isolationLevel', 'int8', '2+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partitionIndex', 'int32', '0+'),
            f('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
            f('timestamp', 'int64', '0+'),
            f('maxNumOffsets', 'int32', '0', { default: 1 }),
          ],
        }),
      ],
    }),
    f('timeoutMs', 'int32', '10+'),
  ],
});

export const ListOffsetsResponseSchema = message({
  name: 'ListOffsetsResponse',
  apiKey: 2,
  type: 'response',
  validVersions: '0-8',
  flexibleVersions: '6+',
  fields: [
    f('throttleTimeMs', 'int32', '2+'),
    f('topics', '[]struct', '0+', {
      fields: [
        f('name', 'string', '0+'),
        f('partitions', '[]struct', '0+', {
          fields: [
            f('partitionIndex', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('oldStyleOffsets', '[]int64', '0'),
            f('timestamp', 'int64', '1+', { default: -1 }),
            f('offset', 'int64', '1+', { default: -1 }),
            f('leaderEpoch', 'int32', '4+', { default: -1 }),
          ],
        }),
      ],
    }),
  ],
});

export type ApiVersionsRequest = MessageType<typeof ApiVersionsRequestSchema>;
export type ApiVersionsResponse = MessageType<typeof ApiVersionsResponseSchema>;
export type MetadataRequest = MessageType<typeof MetadataRequestSchema>;
export type MetadataResponse = MessageType<typeof MetadataResponseSchema>;
export type ProduceRequest = MessageType<typeof ProduceRequestSchema>;
export type ProduceResponse = MessageType<typeof ProduceResponseSchema>;
export type FetchRequest = MessageType<typeof FetchRequestSchema>;
export type FetchResponse = MessageType<typeof FetchResponseSchema>;
export type ListOffsetsRequest = MessageType<typeof ListOffsetsRequestSchema>;
export type ListOffsetsResponse = MessageType<typeof ListOffsetsResponseSchema>;
