// ListOffsets: earliest (-2), latest (-1, the high watermark), by timestamp, max timestamp (-3) and
// earliest-local (-4, same as earliest without tiered storage).
import type { BrokerState } from './context.js';
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
          if (!partition) return { ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
          const found = await lookup(partition, p.timestamp);
          if (found === 'unsupported') return { ...base, errorCode: KafkaError.UNSUPPORTED_VERSION };
          if (apiVersion === 0) {
            return { ...base, errorCode: KafkaError.NONE, oldStyleOffsets: found.offset >= 0 ? [found.offset] : [] };
          }
          return { ...base, errorCode: KafkaError.NONE, offset: found.offset, timestamp: found.timestamp, leaderEpoch: found.offset >= 0 ? 0 : -1 };
        }),
      );
      return { name, partitions };
    }),
  );
  return { throttleTimeMs: 0, topics };
}
