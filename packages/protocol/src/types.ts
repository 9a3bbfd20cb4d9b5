// Maps API key numbers to request/response types (used to type decodeRequest/encodeResponse).
import type * as core from './messages/core.js';
import type * as admin from './messages/admin.js';
import type * as groups from './messages/groups.js';
import type * as transactions from './messages/transactions.js';

export interface RequestByKey {
  0: core.ProduceRequest;
  1: core.FetchRequest;
  2: core.ListOffsetsRequest;
  3: core.MetadataRequest;
  8: groups.OffsetCommitRequest;
  9: groups.OffsetFetchRequest;
  10: groups.FindCoordinatorRequest;
  11: groups.JoinGroupRequest;
  12: groups.HeartbeatRequest;
  13: groups.LeaveGroupRequest;
  14: groups.SyncGroupRequest;
  15: groups.DescribeGroupsRequest;
  16: groups.ListGroupsRequest;
  18: core.ApiVersionsRequest;
  19: admin.CreateTopicsRequest;
  20: admin.DeleteTopicsRequest;
  21: admin.DeleteRecordsRequest;
  22: admin.InitProducerIdRequest;
  23: admin.OffsetForLeaderEpochRequest;
  24: transactions.AddPartitionsToTxnRequest;
  25: transactions.AddOffsetsToTxnRequest;
  26: transactions.EndTxnRequest;
  28: transactions.TxnOffsetCommitRequest;
  32: admin.DescribeConfigsRequest;
  33: admin.AlterConfigsRequest;
  37: admin.CreatePartitionsRequest;
  42: groups.DeleteGroupsRequest;
  43: admin.ElectLeadersRequest;
  44: admin.IncrementalAlterConfigsRequest;
  45: admin.AlterPartitionReassignmentsRequest;
  46: admin.ListPartitionReassignmentsRequest;
  47: groups.OffsetDeleteRequest;
  60: admin.DescribeClusterRequest;
}

export interface ResponseByKey {
  0: core.ProduceResponse;
  1: core.FetchResponse;
  2: core.ListOffsetsResponse;
  3: core.MetadataResponse;
  8: groups.OffsetCommitResponse;
  9: groups.OffsetFetchResponse;
  10: groups.FindCoordinatorResponse;
  11: groups.JoinGroupResponse;
  12: groups.HeartbeatResponse;
  13: groups.LeaveGroupResponse;
  14: groups.SyncGroupResponse;
  15: groups.DescribeGroupsResponse;
  16: groups.ListGroupsResponse;
  18: core.ApiVersionsResponse;
  19: admin.CreateTopicsResponse;
  20: admin.DeleteTopicsResponse;
  21: admin.DeleteRecordsResponse;
  22: admin.InitProducerIdResponse;
  23: admin.OffsetForLeaderEpochResponse;
  24: transactions.AddPartitionsToTxnResponse;
  25: transactions.AddOffsetsToTxnResponse;
  26: transactions.EndTxnResponse;
  28: transactions.TxnOffsetCommitResponse;
  32: admin.DescribeConfigsResponse;
  33: admin.AlterConfigsResponse;
  37: admin.CreatePartitionsResponse;
  42: groups.DeleteGroupsResponse;
  43: admin.ElectLeadersResponse;
  44: admin.IncrementalAlterConfigsResponse;
  45: admin.AlterPartitionReassignmentsResponse;
  46: admin.ListPartitionReassignmentsResponse;
  47: groups.OffsetDeleteResponse;
  60: admin.DescribeClusterResponse;
}
