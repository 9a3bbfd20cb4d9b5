// ConsumerGroupStore on the metadata Raft group (DESIGN §5): every write is one metadata command, proposed by the
// group coordinator (the metadata leader) and resolved once committed by a majority and applied to this node's
// SQLite state machine; reads come from that local state, loaded once when the node starts coordinating.
// A store belongs to one leadership term: once this node is not the leader of that term it refuses every write
// with NotCoordinatorError, so a coordinator that lost its role can never write over its successor's state.
import { Role, type RaftHost, type Term } from '@tributary/raft';
import {
  NotCoordinatorError,
  groupToJson,
  type CommittedOffset,
  type ConsumerGroupStore,
  type PersistedGroup,
  type StoredConsumerGroups,
  type TopicPartitionRef,
} from '../consumer-groups/index.js';
import { METADATA_RAFT_GROUP } from './cluster-node.js';
import { commitOffsetsCommand, encodeCommand, type ConsumerGroupCommand } from './metadata-commands.js';
import type { MetadataStore } from './metadata-store.js';

/** This node's metadata group: its Raft host and state machine (ClusterNode provides both). */
export interface MetadataGroupAccess {
  readonly host: RaftHost;
  readonly store: MetadataStore;
  /** Resolves once the local store has applied every entry the host handed over (a snapshot restore queues them). */
  whenMetadataApplied(): Promise<void>;
}

export class ReplicatedConsumerGroupStore implements ConsumerGroupStore {
  private closed = false;

  private readonly host: RaftHost;
  private readonly metadata: MetadataStore;

  constructor(
    private readonly node: MetadataGroupAccess,
    /** The metadata leadership term this store writes in. */
    readonly leaderTerm: Term,
  ) {
    this.host = node.host;
    this.metadata = node.store;
  }

  /** The state applied locally. Call after a barrier entry of `leaderTerm` was applied (see ClusterGroupCoordinator). */
  async load(): Promise<StoredConsumerGroups> {
    return this.metadata.consumerGroupState();
  }

  saveGroup(record: PersistedGroup): Promise<void> {
    return this.propose({ kind: 'putGroup', group: groupToJson(record) });
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.propose({ kind: 'deleteGroup', groupId });
  }

  commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    return this.propose(commitOffsetsCommand(groupId, offsets));
  }

  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void> {
    return this.propose({ kind: 'deleteOffsets', groupId, partitions });
  }

  deleteTopicOffsets(topic: string): Promise<void> {
    return this.propose({ kind: 'deleteTopicOffsets', topic });
  }

  /** Later writes are refused; the metadata store stays open (the ClusterNode owns it). */
  async close(): Promise<void> {
    this.closed = true;
  }

  private async propose(command: ConsumerGroupCommand): Promise<void> {
    const raft = this.host.group(METADATA_RAFT_GROUP);
    if (this.closed) throw new NotCoordinatorError('the consumer-group store is closed');
    // Checked in the same synchronous step as the proposal, so the entry is proposed in leaderTerm or not at all.
    if (raft === undefined || raft.role !== Role.Leader || raft.term !== this.leaderTerm) {
      throw new NotCoordinatorError(`not the metadata leader of term ${this.leaderTerm}`);
    }
    const committed = await this.host.propose(METADATA_RAFT_GROUP, encodeCommand(command));
    // The entry may still commit under the next leader; the client hears NOT_COORDINATOR and retries there.
    if (!committed.ok) throw new NotCoordinatorError(`metadata entry not committed: ${committed.reason}`);
    await this.node.whenMetadataApplied();
    const result = this.metadata.takeResult(committed.index);
    if (result === undefined) throw new Error(`assertion: no result recorded for applied metadata entry ${committed.index}`);
    if (!result.ok) throw new Error(`assertion: consumer-group command ${command.kind} rejected at apply: ${result.message}`);
  }
}
