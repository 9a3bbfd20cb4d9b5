// Request and response shapes of the APIs the broker's own handlers answer, named like Apache Kafka's JSON
// message definitions (camelCase), mirroring @tributary/protocol's decoded types structurally. Fields that
// exist only in some versions are optional on requests; responses carry every field of the newest version
// and the encoder writes the ones of the version in use.

export interface ApiVersionsRequest {
  clientSoftwareName?: string | null;
  clientSoftwareVersion?: string | null;
}
export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[];
  throttleTimeMs: number;
  supportedFeatures?: unknown[];
  finalizedFeaturesEpoch?: number;
  finalizedFeatures?: unknown[];
  zkMigrationReady?: boolean;
}

export interface MetadataRequest {
  topics: { topicId?: Buffer | null; name: string | null }[] | null;
  allowAutoTopicCreation?: boolean;
  includeClusterAuthorizedOperations?: boolean;
  includeTopicAuthorizedOperations?: boolean;
}
export interface MetadataResponsePartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
}
export interface MetadataResponseTopic {
  errorCode: number;
  name: string | null;
  topicId: Buffer;
  isInternal: boolean;
  partitions: MetadataResponsePartition[];
  topicAuthorizedOperations: number;
}
export interface MetadataResponse {
  throttleTimeMs: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataResponseTopic[];
  clusterAuthorizedOperations: number;
}

export interface ProduceRequest {
  transactionalId?: string | null;
  acks: number;
  timeoutMs: number;
  topicData: { name: string | null; partitionData: { index: number; records: Buffer | null }[] }[];
}
export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  errorMessage: string | null;
}
export interface ProduceResponse {
  responses: { name: string; partitionResponses: ProducePartitionResponse[] }[];
  throttleTimeMs: number;
}

export interface FetchRequestPartition {
  partition: number;
  currentLeaderEpoch?: number;
  fetchOffset: number;
  lastFetchedEpoch?: number;
  logStartOffset?: number;
  partitionMaxBytes: number;
}
export interface FetchRequest {
  replicaId?: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes?: number;
  isolationLevel?: number;
  sessionId?: number;
  sessionEpoch?: number;
  topics: { topic?: string | null; topicId?: Buffer; partitions: FetchRequestPartition[] }[];
  forgottenTopicsData?: unknown[];
  rackId?: string | null;
}
export interface FetchResponsePartition {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  divergingEpoch: { epoch: number; endOffset: number };
  currentLeader: { leaderId: number; leaderEpoch: number };
  snapshotId: { endOffset: number; epoch: number };
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
  preferredReadReplica: number;
  records: Buffer | null;
}
export interface FetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  responses: { topic: string; topicId: Buffer; partitions: FetchResponsePartition[] }[];
  nodeEndpoints: { nodeId: number; host: string; port: number; rack: string | null }[];
}

export interface ListOffsetsRequest {
  replicaId: number;
  isolationLevel?: number;
  topics: { name: string | null; partitions: { partitionIndex: number; currentLeaderEpoch?: number; timestamp: number; maxNumOffsets?: number }[] }[];
  timeoutMs?: number;
}
export interface ListOffsetsResponsePartition {
  partitionIndex: number;
  errorCode: number;
  oldStyleOffsets: number[];
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}
export interface ListOffsetsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: ListOffsetsResponsePartition[] }[];
}

export interface CreatableTopicConfig {
  name: string | null;
  value: string | null;
}
export interface CreateTopicsRequest {
  topics: {
    name: string | null;
    numPartitions: number;
    replicationFactor: number;
    assignments: { partitionIndex: number; brokerIds: number[] }[] | null;
    configs: CreatableTopicConfig[] | null;
  }[];
  timeoutMs: number;
  validateOnly?: boolean;
}
export interface CreateTopicsResponseTopic {
  name: string;
  topicId: Buffer;
  errorCode: number;
  errorMessage: string | null;
  topicConfigErrorCode: number;
  numPartitions: number;
  replicationFactor: number;
  configs: { name: string; value: string | null; readOnly: boolean; configSource: number; isSensitive: boolean }[] | null;
}
export interface CreateTopicsResponse {
  throttleTimeMs: number;
  topics: CreateTopicsResponseTopic[];
}

export interface DeleteTopicsRequest {
  topics?: { name: string | null; topicId: Buffer }[];
  topicNames?: (string | null)[];
  timeoutMs: number;
}
export interface DeleteTopicsResponse {
  throttleTimeMs: number;
  responses: { name: string | null; topicId: Buffer; errorCode: number; errorMessage: string | null }[];
}

export interface CreatePartitionsRequest {
  topics: { name: string | null; count: number; assignments: { brokerIds: number[] }[] | null }[];
  timeoutMs: number;
  validateOnly: boolean;
}
export interface CreatePartitionsResponse {
  throttleTimeMs: number;
  results: { name: string; errorCode: number; errorMessage: string | null }[];
}

export interface DescribeConfigsRequest {
  resources: { resourceType: number; resourceName: string | null; configurationKeys: (string | null)[] | null }[];
  includeSynonyms?: boolean;
  includeDocumentation?: boolean;
}
export interface DescribeConfigsResourceResult {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}
export interface DescribeConfigsResponse {
  throttleTimeMs: number;
  results: {
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
    configs: DescribeConfigsResourceResult[];
  }[];
}

export interface AlterConfigsRequest {
  resources: { resourceType: number; resourceName: string | null; configs: { name: string | null; value: string | null }[] }[];
  validateOnly: boolean;
}
export interface AlterConfigsResponse {
  throttleTimeMs: number;
  responses: { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string }[];
}

export interface IncrementalAlterConfigsRequest {
  resources: {
    resourceType: number;
    resourceName: string | null;
    configs: { name: string | null; configOperation: number; value: string | null }[];
  }[];
  validateOnly: boolean;
}
export type IncrementalAlterConfigsResponse = AlterConfigsResponse;

export interface DescribeClusterRequest {
  includeClusterAuthorizedOperations: boolean;
  endpointType?: number;
  includeFencedBrokers?: boolean;
}
export interface DescribeClusterResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  endpointType: number;
  clusterId: string;
  controllerId: number;
  brokers: { brokerId: number; host: string; port: number; rack: string | null; isFenced: boolean }[];
  clusterAuthorizedOperations: number;
}

export interface DeleteRecordsRequest {
  topics: { name: string | null; partitions: { partitionIndex: number; offset: number }[] }[];
  timeoutMs: number;
}
export interface DeleteRecordsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: { partitionIndex: number; lowWatermark: number; errorCode: number }[] }[];
}

export interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  producerId?: number;
  producerEpoch?: number;
}
export interface InitProducerIdResponse {
  throttleTimeMs: number;
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface OffsetForLeaderEpochRequest {
  replicaId?: number;
  topics: { topic: string | null; partitions: { partition: number; currentLeaderEpoch?: number; leaderEpoch: number }[] }[];
}
export interface OffsetForLeaderEpochResponse {
  throttleTimeMs: number;
  topics: { topic: string; partitions: { errorCode: number; partition: number; leaderEpoch: number; endOffset: number }[] }[];
}

export interface ElectLeadersRequest {
  /** v1+: 0 = PREFERRED, 1 = UNCLEAN (v0 is always PREFERRED). */
  electionType?: number;
  /** null = every partition. */
  topicPartitions: { topic: string | null; partitions: number[] }[] | null;
  timeoutMs: number;
}
export interface ElectLeadersResponse {
  throttleTimeMs: number;
  errorCode: number;
  replicaElectionResults: { topic: string; partitionResult: { partitionId: number; errorCode: number; errorMessage: string | null }[] }[];
}

export interface AlterPartitionReassignmentsRequest {
  timeoutMs: number;
  topics: { name: string; partitions: { partitionIndex: number; replicas: number[] | null }[] }[];
}
export interface AlterPartitionReassignmentsResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  responses: { name: string; partitions: { partitionIndex: number; errorCode: number; errorMessage: string | null }[] }[];
}

export interface ListPartitionReassignmentsRequest {
  timeoutMs: number;
  /** null = every partition being reassigned. */
  topics: { name: string; partitionIndexes: number[] }[] | null;
}
export interface ListPartitionReassignmentsResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  topics: { name: string; partitions: { partitionIndex: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }[] }[];
}
