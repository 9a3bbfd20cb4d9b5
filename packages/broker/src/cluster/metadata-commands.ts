// Commands of the metadata Raft group (JSON: the metadata rate is low and the format stays readable in a WAL dump)
// and their results. A command carries every non-deterministic input (topic ids, timestamps, replica assignments),
// chosen by the node that proposes it, so applying it is deterministic on every replica.
import type { CommittedOffset, PersistedGroupJson, TopicPartitionRef } from '../consumer-groups/index.js';

export interface BrokerRegistration {
  readonly nodeId: number;
  /** The advertised Kafka address. */
  readonly host: string;
  readonly port: number;
  /**
   * The cluster (Raft) address the other nodes reach this one at; every node connects to registered brokers with it,
   * so a node added at runtime needs no TRIBUTARY_PEERS change anywhere. Absent in registrations of older versions.
   */
  readonly clusterHost?: string;
  readonly clusterPort?: number;
}

export type MetadataCommand =
  | { readonly kind: 'initCluster'; readonly clusterId: string }
  | { readonly kind: 'registerBroker'; readonly broker: BrokerRegistration }
  | {
      readonly kind: 'createTopic';
      readonly name: string;
      /** 32 hex chars */
      readonly topicIdHex: string;
      readonly createdMs: number;
      readonly configs: readonly (readonly [string, string])[];
      /** replicas[partition] = node ids, the first is the preferred leader */
      readonly replicas: readonly (readonly number[])[];
    }
  | { readonly kind: 'deleteTopic'; readonly name: string }
  | { readonly kind: 'addPartitions'; readonly name: string; readonly replicas: readonly (readonly number[])[] }
  | { readonly kind: 'replaceTopicConfigs'; readonly name: string; readonly configs: readonly (readonly [string, string])[] }
  | { readonly kind: 'allocateProducerIds'; readonly count: number }
  | {
      readonly kind: 'partitionLeader';
      readonly topic: string;
      readonly partition: number;
      readonly raftGroup: number;
      readonly leaderId: number;
      readonly term: number;
    }
  | ReassignmentCommand
  | BrokerFencingCommand
  | ConsumerGroupCommand;

/** Why the metadata leader fenced a broker (broker-fencing.ts). */
export type BrokerFenceReason = 'sessionExpired' | 'controlledShutdown';

/**
 * Broker fencing (broker-fencing.ts): decided by the metadata leader from the brokers' heartbeats; the leader's
 * clock and what it saw travel in the command, applying it only records the decision. An unfence carries the
 * metadata index the broker had applied: the store refuses it when that is below the broker's fence entry (the
 * broker had not seen its own fencing, or a newer fence was committed since the decision).
 */
export type BrokerFencingCommand =
  | {
      readonly kind: 'fenceBroker';
      readonly nodeId: number;
      readonly reason: BrokerFenceReason;
      /** The leader's wall clock when it decided. */
      readonly decidedAtMs: number;
      /** When the leader last heard the broker's heartbeat (null: not during its leadership). */
      readonly lastHeartbeatMs: number | null;
    }
  | { readonly kind: 'unfenceBroker'; readonly nodeId: number; readonly decidedAtMs: number; readonly metadataAppliedIndex: number };

/**
 * Partition reassignment (AlterPartitionReassignments; reassignment-plan.ts): `alterReassignment` records a new
 * target (`null` cancels), validated at apply against the store (registered brokers, current record) so every
 * replica decides alike; `completeReassignment` is proposed by the partition's Raft leader once the group's
 * configuration is exactly the target, and applies only while that is still the recorded target.
 */
export type ReassignmentCommand =
  | { readonly kind: 'alterReassignment'; readonly topic: string; readonly partition: number; readonly target: readonly number[] | null }
  | { readonly kind: 'completeReassignment'; readonly topic: string; readonly partition: number; readonly raftGroup: number; readonly target: readonly number[] };

/**
 * Consumer-group state replicated in the metadata group (DESIGN §5): proposed only by the group coordinator (the
 * metadata leader). One OffsetCommit request is one `commitOffsets` entry, whatever its partition count; timestamps
 * are the coordinator's, carried in the command.
 */
export type ConsumerGroupCommand =
  | { readonly kind: 'commitOffsets'; readonly groupId: string; readonly topics: readonly CommittedTopicOffsets[] }
  | { readonly kind: 'putGroup'; readonly group: PersistedGroupJson }
  | { readonly kind: 'deleteGroup'; readonly groupId: string }
  | { readonly kind: 'deleteOffsets'; readonly groupId: string; readonly partitions: readonly TopicPartitionRef[] }
  | { readonly kind: 'deleteTopicOffsets'; readonly topic: string };

/**
 * A commit's offsets of one topic, a tuple per partition: the most frequent metadata entry stays small (about 300
 * bytes for 6 partitions instead of 900 as objects) while every field is still carried as given.
 */
export interface CommittedTopicOffsets {
  readonly topic: string;
  /** [partition, offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs] */
  readonly partitions: readonly (readonly [number, number, number, string, number, number | null])[];
}

export function commitOffsetsCommand(groupId: string, offsets: readonly CommittedOffset[]): ConsumerGroupCommand {
  const byTopic = new Map<string, [number, number, number, string, number, number | null][]>();
  for (const o of offsets) {
    let list = byTopic.get(o.topic);
    if (list === undefined) byTopic.set(o.topic, (list = []));
    list.push([o.partition, o.offset, o.leaderEpoch, o.metadata, o.commitTimestampMs, o.expireTimestampMs]);
  }
  return { kind: 'commitOffsets', groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) };
}

export function committedOffsetsOf(topics: readonly CommittedTopicOffsets[]): CommittedOffset[] {
  return topics.flatMap(({ topic, partitions }) =>
    partitions.map(([partition, offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs]) => ({ topic, partition, offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs })),
  );
}

const CONSUMER_GROUP_COMMANDS: ReadonlySet<string> = new Set<ConsumerGroupCommand['kind']>(['commitOffsets', 'putGroup', 'deleteGroup', 'deleteOffsets', 'deleteTopicOffsets']);

export function isConsumerGroupCommand(command: MetadataCommand): command is ConsumerGroupCommand {
  return CONSUMER_GROUP_COMMANDS.has(command.kind);
}

export type MetadataResult =
  | { readonly ok: true; readonly clusterId?: string; readonly firstProducerId?: number }
  | { readonly ok: false; readonly error: 'exists' | 'unknownTopic' | 'invalid' | MetadataReassignmentError; readonly message: string };

/** Refusals of a reassignment command (Kafka's INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS; a stale completion). */
export type MetadataReassignmentError = 'invalidReplicaAssignment' | 'noReassignmentInProgress' | 'staleReassignment';

export function encodeCommand(command: MetadataCommand): Buffer {
  return Buffer.from(JSON.stringify(command), 'utf8');
}

export class MetadataCommandError extends Error {}

/** Decodes a committed entry; a malformed one is a bug (only this module writes them). */
export function decodeCommand(data: Uint8Array): MetadataCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (err) {
    throw new MetadataCommandError(`malformed metadata command: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { kind?: unknown }).kind !== 'string') {
    throw new MetadataCommandError('malformed metadata command: no kind');
  }
  return parsed as MetadataCommand;
}

/**
 * Replica assignment for new partitions: partition p of a topic goes to `rf` consecutive brokers (in id order)
 * starting at (start + p) mod n, so preferred leaders (the first replica) are spread round-robin.
 */
export function assignReplicas(brokerIds: readonly number[], firstPartition: number, count: number, rf: number, start: number): number[][] {
  const ids = [...brokerIds].sort((a, b) => a - b);
  if (rf < 1 || rf > ids.length) throw new RangeError(`replication factor ${rf} with ${ids.length} brokers`);
  const out: number[][] = [];
  for (let p = firstPartition; p < firstPartition + count; p++) {
    const replicas: number[] = [];
    for (let r = 0; r < rf; r++) replicas.push(ids[(start + p + r) % ids.length]!);
    out.push(replicas);
  }
  return out;
}
