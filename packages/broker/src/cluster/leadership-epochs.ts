// Leader epochs of one partition replica: which Kafka offset each leader epoch (= Raft term) started at, as Kafka's
// leader-epoch checkpoint holds it. Clients use it through OffsetForLeaderEpoch / Fetch (divergingEpoch) to find
// where their view of the log and ours part; ListOffsets names the epoch of the offset it returns.
//
// Built at open from the partitionLeaderEpoch of every batch in the replica's log (apply stamps it with the entry's
// Raft term) and maintained at apply, so every replica holds the same entries for the same log. Only epochs that
// appended at least one batch have an entry; the current term of a leader that has appended nothing yet is added
// virtually at the log end by the queries (as Kafka's leader records its epoch at election), so a client that was
// told "epoch T at offset X" by ListOffsets is later answered end offset X for T, never "unknown".
import type { KafkaOffset } from '@tributary/log';

/** A Kafka leader epoch. In cluster mode it is the partition's Raft term (never a Raft index). */
export type LeaderEpoch = number & { readonly __brand: 'LeaderEpoch' };

export const NO_LEADER_EPOCH = -1 as LeaderEpoch;

export function leaderEpoch(n: number): LeaderEpoch {
  if (!Number.isInteger(n) || n < -1 || n > 0x7fffffff) throw new RangeError(`not a leader epoch: ${n}`);
  return n as LeaderEpoch;
}

export interface EpochStart {
  readonly epoch: LeaderEpoch;
  readonly startOffset: KafkaOffset;
}

/** What OffsetForLeaderEpoch answers: the largest epoch <= the requested one and where it ends (-1/-1: unknown). */
export interface EpochEnd {
  readonly epoch: LeaderEpoch;
  readonly endOffset: KafkaOffset | -1;
}

const UNKNOWN_END: EpochEnd = { epoch: NO_LEADER_EPOCH, endOffset: -1 };

export class LeaderEpochCache {
  /** Ascending by epoch and by start offset. */
  private readonly entries: EpochStart[] = [];

  /** Records that `epoch` appended a batch at `baseOffset` (a no-op unless it is a newer epoch). */
  assign(epoch: number, baseOffset: KafkaOffset): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && epoch <= last.epoch) {
      // Batches of one replica's log carry non-decreasing terms (Raft commits in term order); an older epoch after
      // a newer one means the log and the cache disagree.
      if (epoch < last.epoch) throw new Error(`assertion: leader epoch ${epoch} at offset ${baseOffset} after epoch ${last.epoch}`);
      return;
    }
    if (last !== undefined && baseOffset < last.startOffset) {
      throw new Error(`assertion: epoch ${epoch} starts at ${baseOffset}, before epoch ${last.epoch} (${last.startOffset})`);
    }
    this.entries.push({ epoch: leaderEpoch(epoch), startOffset: baseOffset });
  }

  /**
   * The log start moved to `startOffset` (retention, DeleteRecords): Kafka's truncateFromStart — every epoch starting
   * at or below it is dropped and the newest of them starts at `startOffset` instead (it holds the first offset left).
   */
  truncateFromStart(startOffset: KafkaOffset): void {
    let removed = 0;
    while (removed < this.entries.length && this.entries[removed]!.startOffset <= startOffset) removed++;
    if (removed === 0) return;
    const newestRemoved = this.entries[removed - 1]!;
    this.entries.splice(0, removed, { epoch: newestRemoved.epoch, startOffset });
  }

  /** Forgets everything (the log was replaced, e.g. by a snapshot restore); `assign` then rebuilds it. */
  clear(): void {
    this.entries.length = 0;
  }

  get all(): readonly EpochStart[] {
    return this.entries;
  }

  /** The newest epoch that appended a batch (-1 when the log is empty). */
  get latestEpoch(): LeaderEpoch {
    return this.entries[this.entries.length - 1]?.epoch ?? NO_LEADER_EPOCH;
  }

  /**
   * Kafka's endOffsetFor: the first offset of the next larger epoch, or `logEndOffset` for the newest one.
   * `currentEpoch` (the replica's Raft term when a leader is known) counts as the newest epoch starting at the log
   * end when it appended nothing yet.
   */
  endOffsetFor(requested: number, logEndOffset: KafkaOffset, currentEpoch: number): EpochEnd {
    if (requested < 0) return UNKNOWN_END;
    const list: EpochStart[] = [...this.entries];
    if (currentEpoch > this.latestEpoch) list.push({ epoch: leaderEpoch(currentEpoch), startOffset: logEndOffset });
    const newest = list[list.length - 1];
    if (newest === undefined) return UNKNOWN_END;
    if (requested === newest.epoch) return { epoch: newest.epoch, endOffset: logEndOffset };
    const higherAt = list.findIndex((e) => e.epoch > requested);
    if (higherAt === -1) return UNKNOWN_END; // newer than anything this replica knows
    const higher = list[higherAt]!;
    // No epoch <= requested: the requested epoch ends where the first known one starts (Kafka does the same).
    if (higherAt === 0) return { epoch: leaderEpoch(requested), endOffset: higher.startOffset };
    return { epoch: list[higherAt - 1]!.epoch, endOffset: higher.startOffset };
  }

  /** The epoch of the batch holding `offset` (-1 before the first entry). */
  epochAt(offset: number): LeaderEpoch {
    let found: LeaderEpoch = NO_LEADER_EPOCH;
    for (const e of this.entries) {
      if (e.startOffset > offset) break;
      found = e.epoch;
    }
    return found;
  }
}

/** Kafka's divergence check of Fetch v12+: a fetcher whose last fetched epoch ends before its fetch offset diverged. */
export function divergingEpoch(cache: LeaderEpochCache, lastFetchedEpoch: number, fetchOffset: number, logEndOffset: KafkaOffset, currentEpoch: number): EpochEnd | null {
  if (lastFetchedEpoch < 0) return null;
  const end = cache.endOffsetFor(lastFetchedEpoch, logEndOffset, currentEpoch);
  if (end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset) return end;
  return null;
}
