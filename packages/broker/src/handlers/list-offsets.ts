// ListOffsets: earliest (-2), latest (-1, the high watermark), by timestamp, max timestamp (-3) and
// earliest-local (-4, same as earliest without tiered storage). Cluster mode: answered by the partition's leader
// only, after the current-leader-epoch check; each offset comes with the leader epoch of the batch holding it (the
// current epoch at the log end), so a consumer can later validate its position with OffsetForLeaderEpoch.
import type { BrokerState } from './context.js';
import { ReplicatedCatalogue } from '../cluster/replicated-catalogue.js';
import { checkCurrentLeaderEpoch, partitionLeadership } from '../cluster/leadership-view.js';
import { KafkaError } from './error-codes.js';
import type { ListOffsetsRequest, ListOffsetsResponse, ListOffsetsResponsePartition } from './wire-types.js';
import type { LocalPartition } from '../partitions/local-partition.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;

async function lookup(partition: LocalPartition, timestamp: number): Promise<{ offset: number; timestamp: number } | 'unsupported'> {
  switch (timestamp) {
    case LATEST:
      return { offset: partition.highWatermark, timestamp: -1 };
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: partition.logStartOffset, timestamp: -1 };
    case LATEST_TIERED:
      return { offset: -1, timestamp: -1 };
    case MAX_TIMESTAMP: {
      const max = await partition.maxTimestamp();
      return max ? { offset: max.offset, timestamp: max.timestampMs } : { offset: -1, timestamp: -1 };
    }
    default: {
      if (timestamp < 0) return 'unsupported';
      const found = await partition.offsetForTimestamp(timestamp);
      return found ? { offset: found.offset, timestamp: found.timestampMs } : { offset: -1, timestamp: -1 };
    }
  }
}

export async function handleListOffsets(state: BrokerState, request: ListOffsetsRequest, apiVersion: number): Promise<ListOffsetsResponse> {
  const topics = await Promise.all(
    request.topics.map(async (t) => {
      const name = t.name ?? '';
      const partitions = await Promise.all(
        t.partitions.map(async (p): Promise<ListOffsetsResponsePartition> => {
          const base = { partitionIndex: p.partitionIndex, oldStyleOffsets: [] as number[], timestamp: -1, offset: -1, leaderEpoch: -1 };
          const partition = state.partitions.get(name, p.partitionIndex);
          const cluster = state.catalogue instanceof ReplicatedCatalogue;
          if (!partition) {
            const hostedElsewhere = cluster && state.catalogue.getTopic(name) !== undefined;
            return { ...base, errorCode: hostedElsewhere ? KafkaError.NOT_LEADER_OR_FOLLOWER : KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
          }
          const view = partitionLeadership(state.partitions, name, p.partitionIndex);
          if (view !== undefined) {
            if (!view.isLeader) return { ...base, errorCode: KafkaError.NOT_LEADER_OR_FOLLOWER };
            const epochError = checkCurrentLeaderEpoch(view, p.currentLeaderEpoch);
            if (epochError !== KafkaError.NONE) return { ...base, errorCode: epochError };
          }
          const found = await lookup(partition, p.timestamp);
          if (found === 'unsupported') return { ...base, errorCode: KafkaError.UNSUPPORTED_VERSION };
          if (apiVersion === 0) {
            return { ...base, errorCode: KafkaError.NONE, oldStyleOffsets: found.offset >= 0 ? [found.offset] : [] };
          }
          let leaderEpoch = found.offset >= 0 ? 0 : -1;
          if (view !== undefined && found.offset >= 0) {
            leaderEpoch = found.offset >= partition.logEndOffset ? view.leaderEpoch : view.epochs.epochAt(found.offset);
          }
          return { ...base, errorCode: KafkaError.NONE, offset: found.offset, timestamp: found.timestamp, leaderEpoch };
        }),
      );
      return { name, partitions };
    }),
  );
  return { throttleTimeMs: 0, topics };
}
