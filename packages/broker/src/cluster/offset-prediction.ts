// The Kafka outcome (offset, duplicate, sequence error) of a partition leader's own entries before they commit, so
// acks=1 can be answered once the entry is durable in the leader's own Raft log (DESIGN §4) with the offset apply
// will assign. Offsets are assigned at apply, from the applied state (log end offset, producer state) and the
// idempotence decision of every earlier entry; the leader knows all of that in advance when every entry between its
// applied index and its newest proposal is its own: the speculative view is the applied state plus the effect of
// those entries, computed with the same decision function as apply (partition-idempotence.ts).
//
// The view is exact only from a point where nothing else is pending. An entry this predictor did not see proposed —
// the new term's no-op, entries of earlier terms, a configuration change, any other command in the group — leaves a
// gap in the indexes: the gap's last index becomes the barrier, and entries proposed after it are predicted only once
// the applied index reaches it (the view is then rebuilt from the applied state). An entry applied before that gets
// no prediction; its proposer answers from the applied outcome, as at commit. Apply checks every prediction against
// the outcome it computed; a difference is an invariant break (the replica stops).
import type { ProduceOutcome } from '../partitions/partition-replica.js';
import { ProducerStateTable } from '../partitions/producer-state.js';
import { kafkaOffset } from '@tributary/log';
import { NO_PRODUCER_ID, recordAppended, rejectionOf } from './partition-idempotence.js';
import type { BatchIdentity } from './raft-partition.js';

/** The replica's applied state; null while it is not well defined (restore, log reopen, replay after restart). */
export interface AppliedPartitionState {
  readonly raftIndex: number;
  readonly nextOffset: number;
  readonly producers: ProducerStateTable;
}

export interface ProposedEntry {
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly identity: BatchIdentity;
  /** The append time carried in the entry (LogAppendTime topics stamp it). */
  readonly appendTimeMs: number;
  readonly logAppendTime: boolean;
  /** The proposer reads the applied outcome even when predicted (acks=all answers after commit). */
  readonly needsAppliedOutcome: boolean;
}

/** What apply learns about an entry it applied: whether its proposer still needs the applied outcome. */
export type AppliedCheck =
  | { readonly kind: 'proposerAnswered' }
  | { readonly kind: 'proposerWaits' }
  | { readonly kind: 'mismatch'; readonly message: string };

interface PendingEntry extends ProposedEntry {
  prediction: ProduceOutcome | null;
  settle(prediction: ProduceOutcome | null): void;
}

interface SpeculativeView {
  /** Log end offset after every modelled entry. */
  nextOffset: number;
  /** The applied producer state the view started from; producers not touched since are read from it. */
  readonly base: ProducerStateTable;
  /** Producers touched by pending entries: copied from `base`, then changed by those entries. */
  producers: ProducerStateTable;
  touched: Set<number>;
  /** The view reflects every entry up to this Raft index (applied ones, then this leader's pending ones). */
  lastModelledIndex: number;
}

const WAITS: AppliedCheck = { kind: 'proposerWaits' };
const ANSWERED: AppliedCheck = { kind: 'proposerAnswered' };

export class OffsetPredictor {
  /** This leader's proposed entries not applied yet, in index order. */
  private pending: PendingEntry[] = [];
  private term = 0;
  private view: SpeculativeView | null = null;
  /** Entries up to this index include some the view does not model: no view until they are applied. */
  private barrierIndex = 0;

  /** @param broken an invariant of the bookkeeping broke (the replica should stop, as for a mismatch at apply). */
  constructor(private readonly appliedState: () => AppliedPartitionState | null, private readonly broken: (err: Error) => void) {}

  /** Entries proposed and not applied yet (tests, metrics). */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Registers an entry this leader just proposed (call in proposal order, right after the proposal). Resolves with
   * the outcome apply will compute, or null when it cannot be known before apply (a gap not applied yet, a
   * leadership change, a restore): the proposer then waits for the applied outcome.
   */
  proposed(entry: ProposedEntry): Promise<ProduceOutcome | null> {
    if (entry.raftTerm !== this.term) {
      this.reset();
      this.term = entry.raftTerm;
    }
    let settle!: (p: ProduceOutcome | null) => void;
    const predicted = new Promise<ProduceOutcome | null>((r) => (settle = r));
    const pending: PendingEntry = { ...entry, prediction: null, settle };
    this.pending.push(pending);
    if (this.view !== null && entry.raftIndex === this.view.lastModelledIndex + 1) {
      this.predict(this.view, pending);
    } else {
      this.view = null;
      this.barrierIndex = Math.max(this.barrierIndex, entry.raftIndex - 1);
      this.rebuild();
    }
    return predicted;
  }

  /**
   * Apply calls this for every entry it applies (in order), with its outcome (undefined: no batch — a no-op, a
   * configuration change, an entry replayed after a restart). A predicted entry must have been given exactly the
   * predicted outcome.
   */
  applied(raftIndex: number, raftTerm: number, outcome: ProduceOutcome | undefined): AppliedCheck {
    while (this.pending.length > 0 && this.pending[0]!.raftIndex < raftIndex) {
      const skipped = this.pending.shift()!;
      if (skipped.prediction !== null) return { kind: 'mismatch', message: `predicted entry ${skipped.raftIndex} was never applied (applying ${raftIndex})` };
      skipped.settle(null);
    }
    const head = this.pending[0];
    if (head === undefined || head.raftIndex !== raftIndex) return WAITS;
    if (head.raftTerm !== raftTerm) {
      // our entry was overwritten by another leader's: nothing of this term's view holds
      this.reset();
      return WAITS;
    }
    this.pending.shift();
    if (head.prediction === null) {
      head.settle(null);
      return WAITS;
    }
    if (outcome === undefined || !sameOutcome(head.prediction, outcome)) {
      return { kind: 'mismatch', message: `entry ${raftIndex} (term ${raftTerm}) was predicted ${describe(head.prediction)} and applied ${outcome === undefined ? 'without a batch' : describe(outcome)}` };
    }
    return head.needsAppliedOutcome ? WAITS : ANSWERED;
  }

  /** After a run of applies: forget speculative copies once nothing is pending; build the view once the barrier is applied. */
  afterApply(): void {
    if (this.pending.length === 0 && this.view !== null && this.view.touched.size > 0) {
      // the view now equals the applied state: producers are read from it again (the copies would only grow)
      this.view.producers = new ProducerStateTable();
      this.view.touched = new Set();
    }
    this.rebuild();
  }

  /** Leadership lost, a restore or a close: pending entries get no prediction (their proposers wait for apply). */
  reset(): void {
    for (const p of this.pending) if (p.prediction === null) p.settle(null);
    this.pending = [];
    this.view = null;
    this.barrierIndex = 0;
  }

  /** With no view and entries waiting: start one from the applied state once everything up to the barrier is applied. */
  private rebuild(): void {
    if (this.view !== null || this.pending.length === 0) return;
    const applied = this.appliedState();
    if (applied === null || applied.raftIndex < this.barrierIndex) return;
    const view: SpeculativeView = {
      nextOffset: applied.nextOffset, base: applied.producers, producers: new ProducerStateTable(), touched: new Set(),
      lastModelledIndex: applied.raftIndex,
    };
    for (const p of this.pending) {
      if (p.raftIndex <= applied.raftIndex) continue; // applied already (apply tells us), or about to be
      if (p.prediction !== null || p.raftIndex !== view.lastModelledIndex + 1) {
        const err = new Error(`assertion: pending entry ${p.raftIndex} after the barrier ${this.barrierIndex} is not the next unpredicted one (view at ${view.lastModelledIndex})`);
        this.reset();
        this.broken(err);
        return;
      }
      this.predict(view, p);
    }
    this.view = view;
  }

  private predict(view: SpeculativeView, p: PendingEntry): void {
    const id = p.identity;
    if (id.producerId !== NO_PRODUCER_ID && !view.touched.has(id.producerId)) {
      view.producers.adoptFrom(view.base, id.producerId);
      view.touched.add(id.producerId);
    }
    let outcome = rejectionOf(view.producers, id);
    if (outcome === null) {
      const baseOffset = view.nextOffset;
      const lastOffset = baseOffset + id.lastOffsetDelta;
      recordAppended(view.producers, id, baseOffset, lastOffset, p.appendTimeMs);
      view.nextOffset = lastOffset + 1;
      outcome = { kind: 'appended', baseOffset: kafkaOffset(baseOffset), logAppendTimeMs: p.logAppendTime ? p.appendTimeMs : -1 };
    }
    view.lastModelledIndex = p.raftIndex;
    p.prediction = outcome;
    p.settle(outcome);
  }
}

function sameOutcome(a: ProduceOutcome, b: ProduceOutcome): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'appended' || a.kind === 'duplicate') {
    const o = b as typeof a;
    return a.baseOffset === o.baseOffset && a.logAppendTimeMs === o.logAppendTimeMs;
  }
  return (a as { message: string }).message === (b as { message: string }).message;
}

function describe(o: ProduceOutcome): string {
  return 'baseOffset' in o ? `${o.kind} at ${o.baseOffset}` : o.kind;
}
