// Idempotent-producer state of one partition: for each producer id, its epoch and the sequence numbers and
// offsets of its last 5 batches (what Kafka keeps), so a retried batch is answered with its original offsets
// and a gap in sequences is refused. Serialisable, so it survives restart (snapshot + replay of batch headers).

export const MAX_TRACKED_BATCHES = 5;
const INT32_MAX = 2147483647;

export interface BatchSequence {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestampMs: number;
}

interface ProducerEntry {
  epoch: number;
  batches: BatchSequence[];
}

export type SequenceVerdict =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly batch: BatchSequence }
  | { readonly kind: 'outOfOrder'; readonly message: string }
  | { readonly kind: 'staleEpoch'; readonly message: string };

/** Sequence numbers wrap from INT32_MAX to 0. */
export function nextSequence(seq: number): number {
  return seq === INT32_MAX ? 0 : seq + 1;
}

export function lastSequenceOf(firstSeq: number, lastOffsetDelta: number): number {
  const last = firstSeq + lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

export interface ProducerStateSnapshot {
  readonly version: 1;
  /** The log end offset when the snapshot was taken: every batch below it is reflected. */
  readonly endOffset: number;
  readonly producers: { id: number; epoch: number; batches: BatchSequence[] }[];
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  get size(): number {
    return this.producers.size;
  }

  /**
   * What to do with a batch from (producerId, epoch) carrying sequences firstSeq..lastSeq, following Kafka:
   * an older epoch is fenced; a new epoch must start at sequence 0 (unless the producer is unknown); the same
   * epoch must continue exactly after the last sequence; a repeat of one of the last 5 batches is a duplicate.
   * An unknown producer may start at any sequence (Kafka >= 2.5 behaviour, after its state was expired).
   */
  check(producerId: number, epoch: number, firstSeq: number, lastSeq: number): SequenceVerdict {
    const entry = this.producers.get(producerId);
    if (entry === undefined) return { kind: 'append' };
    if (epoch < entry.epoch) {
      return { kind: 'staleEpoch', message: `producer ${producerId} epoch ${epoch} is older than current epoch ${entry.epoch}` };
    }
    if (epoch > entry.epoch) {
      if (firstSeq !== 0) {
        return { kind: 'outOfOrder', message: `new epoch ${epoch} of producer ${producerId} must start at sequence 0, got ${firstSeq}` };
      }
      return { kind: 'append' };
    }
    const duplicate = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
    if (duplicate) return { kind: 'duplicate', batch: duplicate };
    const last = entry.batches[entry.batches.length - 1];
    if (last === undefined) return { kind: 'append' };
    if (firstSeq !== nextSequence(last.lastSeq)) {
      return {
        kind: 'outOfOrder',
        message: `producer ${producerId} epoch ${epoch}: expected sequence ${nextSequence(last.lastSeq)}, got ${firstSeq}`,
      };
    }
    return { kind: 'append' };
  }

  /** Records an appended batch (also used when replaying batch headers from the log at startup). */
  record(producerId: number, epoch: number, batch: BatchSequence): void {
    let entry = this.producers.get(producerId);
    if (entry === undefined || epoch > entry.epoch) {
      entry = { epoch, batches: [] };
      this.producers.set(producerId, entry);
    } else if (epoch < entry.epoch) {
      return; // replay of a fenced epoch's batch cannot change state
    }
    entry.batches.push(batch);
    if (entry.batches.length > MAX_TRACKED_BATCHES) entry.batches.shift();
  }

  /**
   * Forgets producers whose last batch is older than `expirationMs` (by its timestamp, as Kafka's
   * producer.id.expiration.ms) or lies wholly below the log start offset (retention or DeleteRecords removed
   * it). Returns how many were removed. A forgotten producer may start again at any sequence.
   */
  expire(nowMs: number, expirationMs: number, logStartOffset: number): number {
    let removed = 0;
    for (const [id, entry] of this.producers) {
      if (ProducerStateTable.isExpired(entry, nowMs, expirationMs, logStartOffset)) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Makes this table's state of `producerId` a copy of `source`'s (or forgets it when `source` does not know it):
   * a leader's speculative table starts each producer it touches from the applied one.
   */
  adoptFrom(source: ProducerStateTable, producerId: number): void {
    const entry = source.producers.get(producerId);
    if (entry === undefined) this.producers.delete(producerId);
    else this.producers.set(producerId, { epoch: entry.epoch, batches: [...entry.batches] });
  }

  /** How many producers `expire` with these arguments would remove (the table is unchanged). */
  countExpired(nowMs: number, expirationMs: number, logStartOffset: number): number {
    let count = 0;
    for (const entry of this.producers.values()) if (ProducerStateTable.isExpired(entry, nowMs, expirationMs, logStartOffset)) count++;
    return count;
  }

  private static isExpired(entry: ProducerEntry, nowMs: number, expirationMs: number, logStartOffset: number): boolean {
    const last = entry.batches[entry.batches.length - 1];
    return last === undefined || last.lastOffset < logStartOffset || nowMs - last.timestampMs > expirationMs;
  }

  /** Marks a producer's new epoch (InitProducerId bump) without a batch. */
  currentEpoch(producerId: number): number | undefined {
    return this.producers.get(producerId)?.epoch;
  }

  toSnapshot(endOffset: number): ProducerStateSnapshot {
    return {
      version: 1,
      endOffset,
      producers: [...this.producers].map(([id, e]) => ({ id, epoch: e.epoch, batches: [...e.batches] })),
    };
  }

  static fromSnapshot(snapshot: ProducerStateSnapshot): ProducerStateTable {
    const table = new ProducerStateTable();
    for (const p of snapshot.producers) {
      table.producers.set(p.id, { epoch: p.epoch, batches: p.batches.slice(-MAX_TRACKED_BATCHES) });
    }
    return table;
  }
}

/** Parses a snapshot file's JSON, or returns null when it is not a valid snapshot (caller rebuilds from the log). */
export function parseProducerStateSnapshot(text: string): ProducerStateSnapshot | null {
  try {
    const value = JSON.parse(text) as ProducerStateSnapshot;
    if (value === null || value.version !== 1 || !Number.isSafeInteger(value.endOffset) || !Array.isArray(value.producers)) return null;
    for (const p of value.producers) {
      if (!Number.isSafeInteger(p.id) || !Number.isInteger(p.epoch) || !Array.isArray(p.batches)) return null;
    }
    return value;
  } catch {
    return null;
  }
}
