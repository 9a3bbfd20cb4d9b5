// Produce: validate each partition's record set (framing, magic 2, CRC-32C, size), check idempotent
// sequences, append the bytes as received, and answer per acks (0: no answer; 1 and -1: once durable).
import type { ProduceOutcome } from '../partitions/partition-replica.js';
import { effectiveTopicConfig } from '../topic-configs.js';
import { partitionLeadership } from '../cluster/leadership-view.js';
import { ReplicatedCatalogue } from '../cluster/replicated-catalogue.js';
import type { BrokerState, RequestContext } from './context.js';
import { KafkaError } from './error-codes.js';
import type { ProducePartitionResponse, ProduceRequest, ProduceResponse } from './wire-types.js';

function partitionError(index: number, errorCode: number, errorMessage: string | null, logStartOffset = -1): ProducePartitionResponse {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset, recordErrors: [], errorMessage };
}

async function producePartition(
  state: BrokerState,
  topicName: string,
  index: number,
  records: Buffer | null,
  acks: 0 | 1 | -1,
  timeoutMs: number,
  ctx: RequestContext,
): Promise<ProducePartitionResponse> {
  let topic = state.catalogue.getTopic(topicName);
  if (!topic && state.config.autoCreateTopics) topic = await state.topics.ensureTopic(topicName);
  const partition = topic ? state.partitions.get(topicName, index) : undefined;
  if (topic && !partition && state.catalogue instanceof ReplicatedCatalogue && index >= 0 && index < topic.partitionCount) {
    // Cluster mode: the partition exists but this broker holds no replica of it (the client's metadata is stale).
    return partitionError(index, KafkaError.NOT_LEADER_OR_FOLLOWER, `broker ${state.config.nodeId} holds no replica of ${topicName}-${index}`);
  }
  if (!topic || !partition) {
    return partitionError(index, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic or partition ${topicName}-${index}`);
  }
  if (records === null || records.length === 0) {
    return partitionError(index, KafkaError.CORRUPT_MESSAGE, 'empty record set', partition.logStartOffset);
  }
  const validation = state.validateBatches(records);
  if (!validation.ok) {
    ctx.logger.debug({ topic: topicName, partition: index, reason: validation.message }, 'rejected record set');
    return partitionError(index, validation.errorCode, validation.message, partition.logStartOffset);
  }
  const batches = validation.batches;
  if (batches.length !== 1) {
    // Kafka: Produce v3+ carries exactly one record batch per partition.
    return partitionError(index, KafkaError.INVALID_RECORD, `expected exactly one record batch, got ${batches.length}`, partition.logStartOffset);
  }
  const topicConfig = effectiveTopicConfig(state.config, topic.configs);
  let largestBatchBytes = 0;
  for (const b of batches) largestBatchBytes = Math.max(largestBatchBytes, b.sizeBytes);
  if (largestBatchBytes > topicConfig.maxMessageBytes) {
    return partitionError(
      index,
      KafkaError.MESSAGE_TOO_LARGE,
      `batch of ${largestBatchBytes} bytes exceeds max.message.bytes ${topicConfig.maxMessageBytes}`,
      partition.logStartOffset,
    );
  }
  if (acks === -1 && topicConfig.minInsyncReplicas > 1) {
    // Cluster mode: refuse before proposing when too few replicas are in sync to honour min.insync.replicas
    // (Kafka's NOT_ENOUGH_REPLICAS, retriable). Only the leader knows the ISR; a follower's produce is refused below.
    // With the default of 1 the check cannot fail (the leader is always in sync), so the hot path skips it.
    const isr = partitionLeadership(state.partitions, topicName, index)?.inSyncReplicas();
    if (isr !== undefined && isr.length < topicConfig.minInsyncReplicas) {
      return partitionError(
        index,
        KafkaError.NOT_ENOUGH_REPLICAS,
        `${isr.length} in-sync replica(s) [${isr.join(',')}] < min.insync.replicas ${topicConfig.minInsyncReplicas}`,
        partition.logStartOffset,
      );
    }
  }
  const produced = partition.produce(records, batches, acks, topicConfig.messageTimestampType === 'LogAppendTime');
  let outcome: ProduceOutcome | 'timedOut';
  if (acks !== 0 && timeoutMs > 0) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timedOut'>((r) => {
      timer = setTimeout(() => r('timedOut'), timeoutMs);
    });
    outcome = await Promise.race([produced, timedOut]);
    clearTimeout(timer);
  } else {
    outcome = await produced;
  }
  const logStartOffset = partition.logStartOffset;
  switch (outcome === 'timedOut' ? 'timedOut' : outcome.kind) {
    case 'timedOut':
      return partitionError(index, KafkaError.REQUEST_TIMED_OUT, `not durable within timeoutMs ${timeoutMs}`, logStartOffset);
    case 'appended':
    case 'duplicate': {
      const ok = outcome as Extract<ProduceOutcome, { baseOffset: number }>;
      return { index, errorCode: KafkaError.NONE, baseOffset: ok.baseOffset, logAppendTimeMs: ok.logAppendTimeMs, logStartOffset, recordErrors: [], errorMessage: null };
    }
    case 'outOfOrderSequence':
      return partitionError(index, KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, (outcome as { message: string }).message, logStartOffset);
    case 'invalidProducerEpoch':
      return partitionError(index, KafkaError.INVALID_PRODUCER_EPOCH, (outcome as { message: string }).message, logStartOffset);
    case 'notLeader':
      return partitionError(index, KafkaError.NOT_LEADER_OR_FOLLOWER, (outcome as { message: string }).message, logStartOffset);
    default:
      return partitionError(index, KafkaError.KAFKA_STORAGE_ERROR, (outcome as { message: string }).message, logStartOffset);
  }
}

export async function handleProduce(state: BrokerState, request: ProduceRequest, _apiVersion: number, ctx: RequestContext): Promise<ProduceResponse> {
  const acks = request.acks;
  const validAcks = acks === 0 || acks === 1 || acks === -1;
  const transactional = request.transactionalId !== undefined && request.transactionalId !== null;
  const responses = await Promise.all(
    request.topicData.map(async (t) => {
      const name = t.name ?? '';
      const partitionResponses = await Promise.all(
        t.partitionData.map((p) => {
          if (!validAcks) return partitionError(p.index, KafkaError.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${acks}`);
          if (transactional) return partitionError(p.index, KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactions are not supported yet');
          return producePartition(state, name, p.index, p.records, acks, request.timeoutMs, ctx);
        }),
      );
      return { name, partitionResponses };
    }),
  );
  return { responses, throttleTimeMs: 0 };
}
