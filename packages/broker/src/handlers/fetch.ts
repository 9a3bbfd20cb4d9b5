// Fetch with long polling: read every requested partition up to the high watermark within the byte limits;
// if fewer than minBytes came back, wait (at most maxWaitMs) for any of them to gain data, then read again.
// isolationLevel is accepted; without transactions read_committed sees the same as read_uncommitted.
// Cluster mode: any replica serves (its log holds only committed batches), after the current-leader-epoch check
// (v9+); v12+ fetchers that name their last fetched epoch get divergingEpoch instead of records when their log
// parted from ours (src/cluster/leadership-epochs.ts).
import type { TopicRecord } from '../catalogue/catalogue.js';
import { ReplicatedCatalogue } from '../cluster/replicated-catalogue.js';
import { divergingEpoch } from '../cluster/leadership-epochs.js';
import { checkCurrentLeaderEpoch, partitionLeadership } from '../cluster/leadership-view.js';
import type { LocalPartition } from '../partitions/local-partition.js';
import type { BrokerState, RequestContext } from './context.js';
import { KafkaError } from './error-codes.js';
import type { FetchRequest, FetchResponse, FetchResponsePartition } from './wire-types.js';
import { requestedOffset } from './offsets.js';

const ZERO_UUID = Buffer.alloc(16);
const NO_TIMEOUT_MS = 0;
/** Record batch framing: baseOffset (8) + batchLength (4) precede the batchLength bytes. */
const LOG_OVERHEAD_BYTES = 12;
const BATCH_LENGTH_AT = 8;

interface Target {
  readonly topicIndex: number;
  readonly partitionIndex: number;
  readonly partition: LocalPartition | undefined;
  readonly errorCode: number;
  readonly fetchOffset: number;
  readonly partitionMaxBytes: number;
  /** Cluster mode: the leader and epoch this replica knows, reported with epoch errors. */
  readonly currentLeader?: { leaderId: number; leaderEpoch: number };
  /** Cluster mode, v12+: where the fetcher's log parted from ours (no records are returned then). */
  readonly diverging?: { epoch: number; endOffset: number };
}

function emptyPartition(partitionIndex: number, errorCode: number, hw = -1, logStartOffset = -1): FetchResponsePartition {
  return {
    partitionIndex,
    errorCode,
    highWatermark: hw,
    lastStableOffset: hw,
    logStartOffset,
    divergingEpoch: { epoch: -1, endOffset: -1 },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 },
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: null,
  };
}

export async function handleFetch(state: BrokerState, request: FetchRequest, apiVersion: number, ctx: RequestContext): Promise<FetchResponse> {
  // Fetch v13+ names topics by id only.
  const byId = apiVersion >= 13;
  const responses: FetchResponse['responses'] = [];
  const targets: Target[] = [];
  for (const t of request.topics) {
    let topic: TopicRecord | undefined;
    if (byId) topic = t.topicId ? state.catalogue.getTopicById(t.topicId) : undefined;
    else topic = t.topic ? state.catalogue.getTopic(t.topic) : undefined;
    const topicIndex = responses.length;
    responses.push({ topic: topic?.name ?? t.topic ?? '', topicId: topic?.topicId ?? t.topicId ?? ZERO_UUID, partitions: [] });
    for (const p of t.partitions) {
      let partition = topic ? state.partitions.get(topic.name, p.partition) : undefined;
      let errorCode: number = partition ? KafkaError.NONE : byId && !topic ? KafkaError.UNKNOWN_TOPIC_ID : KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
      // Cluster mode: an existing topic whose partition this broker does not host is somebody else's (stale metadata).
      if (!partition && topic && state.catalogue instanceof ReplicatedCatalogue) errorCode = KafkaError.NOT_LEADER_OR_FOLLOWER;
      const view = partition && topic ? partitionLeadership(state.partitions, topic.name, p.partition) : undefined;
      let currentLeader: Target['currentLeader'];
      let diverging: Target['diverging'];
      if (view !== undefined && partition) {
        const epochError = checkCurrentLeaderEpoch(view, p.currentLeaderEpoch);
        if (epochError !== KafkaError.NONE) {
          partition = undefined;
          errorCode = epochError;
          currentLeader = { leaderId: view.leaderId, leaderEpoch: view.leaderEpoch };
        } else if (apiVersion >= 12) {
          diverging = divergingEpoch(view.epochs, p.lastFetchedEpoch ?? -1, p.fetchOffset, view.logEndOffset, view.leaderEpoch) ?? undefined;
        }
      }
      targets.push({ topicIndex, partitionIndex: p.partition, partition, errorCode, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes, currentLeader, diverging });
    }
  }
  const maxBytes = request.maxBytes !== undefined && request.maxBytes > 0 ? request.maxBytes : 0x7fffffff;
  const minBytes = Math.max(0, request.minBytes);
  const deadline = Date.now() + Math.max(NO_TIMEOUT_MS, request.maxWaitMs);

  // Subscribe before the first read so an append between the read and the wait is not missed.
  let wake: (() => void) | undefined;
  let advanced = false;
  const onAdvance = (): void => {
    advanced = true;
    wake?.();
  };
  const unsubscribes = targets.filter((t) => t.partition).map((t) => t.partition!.onHighWatermarkAdvance(onAdvance));
  unsubscribes.push(state.onShutdown(onAdvance));
  try {
    for (;;) {
      advanced = false;
      const { partitions, bytes, hasError } = await readTargets(targets, maxBytes);
      const remainingMs = deadline - Date.now();
      if (bytes >= minBytes || hasError || remainingMs <= 0 || state.shuttingDown) {
        for (const t of responses) t.partitions = [];
        targets.forEach((target, i) => responses[target.topicIndex]!.partitions.push(partitions[i]!));
        return { throttleTimeMs: 0, errorCode: KafkaError.NONE, sessionId: 0, responses, nodeEndpoints: [] };
      }
      if (!advanced) {
        await new Promise<void>((resolvePromise) => {
          const timer = setTimeout(resolvePromise, remainingMs);
          wake = () => {
            clearTimeout(timer);
            resolvePromise();
          };
        });
        wake = undefined;
      }
    }
  } catch (err) {
    ctx.logger.error({ err }, 'fetch failed');
    throw err;
  } finally {
    for (const u of unsubscribes) u();
  }
}

type TargetRead = Awaited<ReturnType<LocalPartition['read']>> | { readonly kind: 'failed' };

/** Reads a partition; a partition closed or deleted while the fetch waited reads as 'failed'. */
function readPartition(partition: LocalPartition, fetchOffset: number, maxBytes: number, minOneBatch: boolean): Promise<TargetRead> {
  const offset = requestedOffset(fetchOffset);
  if (offset === null) return Promise.resolve({ kind: 'offsetOutOfRange' } as const);
  return partition.read(offset, maxBytes, minOneBatch).catch(() => ({ kind: 'failed' }) as const);
}

/** The longest prefix of whole batches in `records` that fits in `budgetBytes` (a view, no copy). */
export function wholeBatchesWithin(records: Buffer, budgetBytes: number): Buffer {
  let position = 0;
  while (position + LOG_OVERHEAD_BYTES <= records.length) {
    const total = LOG_OVERHEAD_BYTES + records.readInt32BE(position + BATCH_LENGTH_AT);
    if (total <= LOG_OVERHEAD_BYTES || position + total > budgetBytes || position + total > records.length) break;
    position += total;
  }
  return records.subarray(0, position);
}

/**
 * Reads every target concurrently (one thread-pool read each instead of one after another), as long as the
 * partitions' byte limits together stay within the request's maxBytes; targets past that are read afterwards with
 * what remains. Results are then taken in request order: each partition within min(partitionMaxBytes, what is left
 * of maxBytes), trimmed to whole batches; KIP-74: the first partition with data returns at least one whole batch
 * even over the limits.
 */
async function readTargets(targets: readonly Target[], maxBytes: number): Promise<{ partitions: FetchResponsePartition[]; bytes: number; hasError: boolean }> {
  const pending: (Promise<TargetRead> | null)[] = [];
  let plannedBytes = 0;
  for (const t of targets) {
    if (!t.partition || plannedBytes >= maxBytes) {
      pending.push(null);
      continue;
    }
    const budget = Math.min(t.partitionMaxBytes, maxBytes);
    pending.push(readPartition(t.partition, t.fetchOffset, Math.max(budget, 0), true));
    plannedBytes += Math.max(budget, 1);
  }

  const out: FetchResponsePartition[] = [];
  let bytes = 0;
  let hasError = false;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (!t.partition) {
      out.push({ ...emptyPartition(t.partitionIndex, t.errorCode), currentLeader: t.currentLeader ?? { leaderId: -1, leaderEpoch: -1 } });
      hasError = true;
      continue;
    }
    const p = t.partition;
    if (t.diverging !== undefined) {
      // Kafka answers a diverged fetcher at once, without records, so it truncates before fetching again.
      out.push({ ...emptyPartition(t.partitionIndex, KafkaError.NONE, p.highWatermark, p.logStartOffset), divergingEpoch: t.diverging, records: Buffer.alloc(0) });
      hasError = true;
      continue;
    }
    const budget = Math.min(t.partitionMaxBytes, maxBytes - bytes);
    const issued = pending[i];
    if (issued === null && budget <= 0 && bytes > 0) {
      out.push({ ...emptyPartition(t.partitionIndex, KafkaError.NONE, p.highWatermark, p.logStartOffset), records: Buffer.alloc(0) });
      continue;
    }
    const read = await (issued ?? readPartition(p, t.fetchOffset, Math.max(budget, 0), bytes === 0));
    if (read.kind === 'failed') {
      out.push(emptyPartition(t.partitionIndex, KafkaError.UNKNOWN_TOPIC_OR_PARTITION));
      hasError = true;
      continue;
    }
    if (read.kind === 'offsetOutOfRange') {
      out.push(emptyPartition(t.partitionIndex, KafkaError.OFFSET_OUT_OF_RANGE, p.highWatermark, p.logStartOffset));
      hasError = true;
      continue;
    }
    const r = read.result;
    const records = bytes === 0 || r.records.length <= budget ? r.records : wholeBatchesWithin(r.records, Math.max(budget, 0));
    bytes += records.length;
    out.push({ ...emptyPartition(t.partitionIndex, KafkaError.NONE, r.highWatermark, r.logStartOffset), records });
  }
  return { partitions: out, bytes, hasError };
}
