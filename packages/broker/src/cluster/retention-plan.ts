// Kafka's retention rule, decided by a partition's Raft leader over its own segments; the result (a new log start
// offset) is replicated as a command and applied by every replica. Kafka deletes whole segments only, oldest first:
//   retention.ms    while a segment's largest timestamp is more than retention.ms before now;
//   retention.bytes while the log without the segment is still at least retention.bytes;
// the two counts combine as max (Kafka runs them one after the other over the same monotone prefix). The active
// segment counts like any other unless it is empty; when it goes too, Kafka rolls it first, so the log start becomes
// the log end (applyAdvanceLogStart does the roll through the log's deleteRecordsBefore).
import type { KafkaOffset } from '@tributary/log';
import type { StorageSegmentSummary } from '../partitions/storage-log.js';

export interface RetentionLimits {
  /** -1: no time limit. */
  readonly retentionMs: number;
  /** -1: no size limit. */
  readonly retentionBytes: number;
}

/** The log start offset retention moves to, or null when no segment is due (or the list is empty). */
export function retentionLogStart(segments: readonly StorageSegmentSummary[], nowMs: number, limits: RetentionLimits): KafkaOffset | null {
  const last = segments[segments.length - 1];
  if (last === undefined) return null;
  // an empty active segment is never deleted (there would be nothing to roll)
  const candidates = last.sizeBytes === 0 ? segments.length - 1 : segments.length;
  let byTime = 0;
  if (limits.retentionMs >= 0) {
    while (byTime < candidates && nowMs - segments[byTime]!.maxTimestampMs > limits.retentionMs) byTime++;
  }
  let bySize = 0;
  if (limits.retentionBytes >= 0) {
    let diff = segments.reduce((sum, s) => sum + s.sizeBytes, 0) - limits.retentionBytes;
    while (bySize < candidates && diff - segments[bySize]!.sizeBytes >= 0) {
      diff -= segments[bySize]!.sizeBytes;
      bySize++;
    }
  }
  const count = Math.max(byTime, bySize);
  if (count === 0) return null;
  return count < segments.length ? segments[count]!.baseOffset : last.nextOffset;
}
