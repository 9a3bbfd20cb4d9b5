// The idempotent-producer decision for one partition entry, shared by apply (every replica, on the applied producer
// state) and by the leader's offset prediction (on its speculative state): one function, so the prediction takes
// exactly the decision apply will take for the same state.
import { kafkaOffset } from '@tributary/log';
import type { ProduceOutcome } from '../partitions/partition-replica.js';
import { lastSequenceOf, type ProducerStateTable } from '../partitions/producer-state.js';
import type { BatchIdentity } from './raft-partition.js';

/** producerId of a batch from a non-idempotent producer. */
export const NO_PRODUCER_ID = -1;

/** What an entry whose batch would not be appended answers (duplicate, fenced epoch, sequence gap); null: append it. */
export function rejectionOf(producers: ProducerStateTable, id: BatchIdentity): ProduceOutcome | null {
  if (id.producerId === NO_PRODUCER_ID) return null;
  const verdict = producers.check(id.producerId, id.producerEpoch, id.baseSequence, lastSequenceOf(id.baseSequence, id.lastOffsetDelta));
  switch (verdict.kind) {
    case 'append':
      return null;
    case 'duplicate':
      return { kind: 'duplicate', baseOffset: kafkaOffset(verdict.batch.firstOffset), logAppendTimeMs: -1 };
    case 'staleEpoch':
      return { kind: 'invalidProducerEpoch', message: verdict.message };
    case 'outOfOrder':
      return { kind: 'outOfOrderSequence', message: verdict.message };
  }
}

/** Records an appended batch at baseOffset..lastOffset in the producer state (nothing for a non-idempotent batch). */
export function recordAppended(producers: ProducerStateTable, id: BatchIdentity, baseOffset: number, lastOffset: number, timestampMs: number): void {
  if (id.producerId === NO_PRODUCER_ID) return;
  producers.record(id.producerId, id.producerEpoch, {
    firstSeq: id.baseSequence,
    lastSeq: lastSequenceOf(id.baseSequence, id.lastOffsetDelta),
    firstOffset: baseOffset,
    lastOffset,
    timestampMs,
  });
}
