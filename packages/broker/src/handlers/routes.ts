// The API table: which handler answers which API key. Consumer-group APIs are routed to the coordinator
// (packages/broker/src/consumer-groups) and only when one is wired, so they are advertised only then.
import { ApiKey } from '@tributary/protocol';
import type { Dispatcher } from '../server/dispatcher.js';
import type { BrokerState, RequestContext } from './context.js';
import { handleApiVersions } from './api-versions.js';
import { handleMetadata } from './metadata.js';
import { handleProduce } from './produce.js';
import { handleFetch } from './fetch.js';
import { handleListOffsets } from './list-offsets.js';
import { handleCreatePartitions, handleCreateTopics, handleDeleteTopics } from './topic-admin.js';
import { handleAlterConfigs, handleDescribeConfigs, handleIncrementalAlterConfigs } from './configs.js';
import { handleDeleteRecords, handleDescribeCluster, handleInitProducerId, handleOffsetForLeaderEpoch } from './cluster.js';
import { handleElectLeaders } from './elect-leaders.js';
import { handleAlterPartitionReassignments, handleListPartitionReassignments } from './reassignments.js';
import type * as W from './wire-types.js';

type GroupMethod = (request: never, apiVersion: number, ctx: { clientId: string | null; clientHost: string }) => Promise<unknown>;

export interface GroupCoordinatorLike {
  start(): Promise<void>;
  close(): Promise<void>;
  onTopicDeleted(topic: string): void | Promise<void>;
  findCoordinator: GroupMethod;
  joinGroup: GroupMethod;
  syncGroup: GroupMethod;
  heartbeat: GroupMethod;
  leaveGroup: GroupMethod;
  offsetCommit: GroupMethod;
  offsetFetch: GroupMethod;
  listGroups: GroupMethod;
  describeGroups: GroupMethod;
  deleteGroups: GroupMethod;
  offsetDelete: GroupMethod;
}

/** The API keys this broker routes (names and numbers from @tributary/protocol's ApiKey). */
export type BrokerApiName =
  | 'Produce' | 'Fetch' | 'ListOffsets' | 'Metadata' | 'OffsetCommit' | 'OffsetFetch' | 'FindCoordinator' | 'JoinGroup'
  | 'Heartbeat' | 'LeaveGroup' | 'SyncGroup' | 'DescribeGroups' | 'ListGroups' | 'ApiVersions' | 'CreateTopics'
  | 'DeleteTopics' | 'DeleteRecords' | 'InitProducerId' | 'OffsetForLeaderEpoch' | 'DescribeConfigs' | 'AlterConfigs'
  | 'CreatePartitions' | 'DeleteGroups' | 'IncrementalAlterConfigs' | 'OffsetDelete' | 'DescribeCluster' | 'ElectLeaders'
  | 'AlterPartitionReassignments' | 'ListPartitionReassignments';

export function registerHandlers(dispatcher: Dispatcher, state: BrokerState, coordinator: GroupCoordinatorLike | undefined): void {
  const add = <Req>(name: BrokerApiName, handle: (request: Req, apiVersion: number, ctx: RequestContext) => unknown): void => {
    dispatcher.register(ApiKey[name], { name, handle: (request, apiVersion, ctx) => handle(request as Req, apiVersion, ctx) });
  };
  add<W.ApiVersionsRequest>('ApiVersions', (r) => handleApiVersions(state, r));
  add<W.MetadataRequest>('Metadata', (r, v) => handleMetadata(state, r, v));
  add<W.ProduceRequest>('Produce', (r, v, ctx) => handleProduce(state, r, v, ctx));
  add<W.FetchRequest>('Fetch', (r, v, ctx) => handleFetch(state, r, v, ctx));
  add<W.ListOffsetsRequest>('ListOffsets', (r, v) => handleListOffsets(state, r, v));
  add<W.CreateTopicsRequest>('CreateTopics', (r) => handleCreateTopics(state, r));
  add<W.DeleteTopicsRequest>('DeleteTopics', (r, v) => handleDeleteTopics(state, r, v));
  add<W.CreatePartitionsRequest>('CreatePartitions', (r) => handleCreatePartitions(state, r));
  add<W.DescribeConfigsRequest>('DescribeConfigs', (r) => handleDescribeConfigs(state, r));
  add<W.AlterConfigsRequest>('AlterConfigs', (r) => handleAlterConfigs(state, r));
  add<W.IncrementalAlterConfigsRequest>('IncrementalAlterConfigs', (r) => handleIncrementalAlterConfigs(state, r));
  add<W.DescribeClusterRequest>('DescribeCluster', (r) => handleDescribeCluster(state, r));
  add<W.DeleteRecordsRequest>('DeleteRecords', (r) => handleDeleteRecords(state, r));
  add<W.InitProducerIdRequest>('InitProducerId', (r) => handleInitProducerId(state, r));
  add<W.OffsetForLeaderEpochRequest>('OffsetForLeaderEpoch', (r) => handleOffsetForLeaderEpoch(state, r));
  add<W.ElectLeadersRequest>('ElectLeaders', (r, v) => handleElectLeaders(state, r, v));
  add<W.AlterPartitionReassignmentsRequest>('AlterPartitionReassignments', (r) => handleAlterPartitionReassignments(state, r));
  add<W.ListPartitionReassignmentsRequest>('ListPartitionReassignments', (r) => handleListPartitionReassignments(state, r));
  if (coordinator) {
    const group = (name: BrokerApiName, method: GroupMethod): void =>
      add<never>(name, (r, v, ctx) => method.call(coordinator, r, v, { clientId: ctx.clientId, clientHost: ctx.clientHost }));
    group('FindCoordinator', coordinator.findCoordinator);
    group('JoinGroup', coordinator.joinGroup);
    group('SyncGroup', coordinator.syncGroup);
    group('Heartbeat', coordinator.heartbeat);
    group('LeaveGroup', coordinator.leaveGroup);
    group('OffsetCommit', coordinator.offsetCommit);
    group('OffsetFetch', coordinator.offsetFetch);
    group('ListGroups', coordinator.listGroups);
    group('DescribeGroups', coordinator.describeGroups);
    group('DeleteGroups', coordinator.deleteGroups);
    group('OffsetDelete', coordinator.offsetDelete);
  }
}
