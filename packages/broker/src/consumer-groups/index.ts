// Consumer groups: the group coordinator seam the broker's request dispatcher routes the group APIs to.
export {
  ConsumerGroupCoordinator,
  findCoordinatorResponse,
  type ConsumerGroupCoordinatorOptions,
  type CoordinatorAddress,
  type TimerScheduler,
} from './coordinator.js';
export {
  ConsumerGroupStateMachine,
  NEW_MEMBER_JOIN_TIMEOUT_MS,
  memberId,
  requestToken,
  type GroupEffect,
  type GroupMember,
  type GroupState,
  type GroupTimer,
  type JoinInput,
  type JoinResult,
  type MemberId,
  type PersistedGroup,
  type PersistedMember,
  type RequestToken,
  type SyncInput,
  type SyncResult,
} from './group-state-machine.js';
export { NotCoordinatorError, type CommittedOffset, type ConsumerGroupStore, type StoredConsumerGroups, type TopicPartitionRef } from './group-store.js';
export { ConsumerGroupTables, CONSUMER_GROUP_SCHEMA, groupFromJson, groupToJson, type PersistedGroupJson, type PersistedMemberJson } from './consumer-group-tables.js';
export { SqliteConsumerGroupStore, CONSUMER_GROUPS_DB_FILE } from './sqlite-group-store.js';
export { GroupErrorCode } from './error-codes.js';
export { refuseGroupRequest } from './refusals.js';
export { parseSubscribedTopics, encodeSubscription } from './consumer-protocol.js';
export { TimerQueue } from './timer-queue.js';
export type * from './wire-types.js';
