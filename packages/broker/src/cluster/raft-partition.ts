// A partition replica whose write path is its own Raft group. The leader proposes each produced batch as ONE Raft
// entry; every replica appends committed entries, in order, to its local PartitionLog (which assigns the Kafka
// offsets), so replicas' logs are identical. Everything in the log is committed: high watermark = log end offset.
//
// Entry format (partition-entry.ts): a batch entry is u8 flags (bit0 = LogAppendTime), u64 appendTimeMs, then the
// record batch bytes as validated by the leader. The append time travels in the entry so that every replica stamps
// and rolls segments identically. A command entry (flags 0x80) moves the log start (retention decided by the
// leader, DeleteRecords) or expires idle producer ids as of the time it carries.
//
// Commands at apply: the effect is computed (producer state) and a local checkpoint at the command's index is
// written BEFORE anything is deleted; later committed entries queue meanwhile. So a crash leaves either no trace of
// the command (it is replayed, and deleting below a start the log already has is a no-op) or a checkpoint at or past
// it (entries up to there are skipped; a deletion the crash interrupted is finished at open from the checkpoint's
// log start). A command is therefore always the last entry the restart replay can meet with batches still listed:
// the replay list is used up by then (asserted). Producer state records each batch's max timestamp as stored
// (the append time under LogAppendTime), the value a replica rebuilding from its log reads back, so expiry
// decides the same on every replica, restarted or not.
//
// Idempotent producers: sequence checks run at APPLY time, on every replica, against a producer-state table built
// from the replica's own log, so every replica takes the same decision for the same entry (a duplicate or out-of-order
// entry is committed but appends nothing; the leader answers the proposer with the original offset or the error).
// A retry sent to a new leader after a leader change is therefore recognised as a duplicate.
//
// acks=1 is answered once the entry is durable in the leader's own Raft log (RaftHost.proposeTracked), before it
// commits, with the outcome the leader predicts for it (offset-prediction.ts: the applied state plus this leader's
// own pending entries, decided by the same code as apply); apply checks every prediction (a difference is an
// invariant break). When it cannot predict yet (entries of earlier terms or other commands not applied yet, a
// restore) the answer waits for the applied outcome, as acks=all does. As in Kafka, an acks=1 write the leader
// acknowledged may be lost if it loses leadership before a majority holds the entry.
//
// Restart invariant: the log holds exactly the batches appended by a prefix of the committed log, in order, because
// committed entries never change and apply is deterministic. With no local checkpoint the host replays the group's
// committed log from index 1 and we read the producer fields of every batch in the log at open; with a checkpoint
// <raftIndex C, nextOffset N, producer state> (written after the log was fsynced up to N, before the Raft log was
// compacted; see snapshots/partition-checkpoint.ts) entries <= C are skipped and only the batches from N on are read.
// During the replay, a data entry whose producer fields match the next batch of that list was appended originally
// (skip it, advance); one that does not match was rejected originally (skip it). A rejected entry can never match
// the next appended batch: with no append between them the producer state is the same, so the verdict would be.
// Once the list is used up, entries are applied normally. A crash that lost an unflushed log tail only shortens the
// list (those entries are appended again). Acknowledgements never depend on the partition log's fsync: an entry is
// acknowledged once committed, i.e. durable in a quorum of Raft WALs (acks=1: once durable in the leader's WAL).
//
// Snapshots (snapshots/partition-*.ts): the Raft image of a compacted partition group is only a reference to a
// snapshot in the object store. restore(image) at addGroup is a no-op when the local checkpoint covers it; otherwise
// (InstallSnapshot to a lagging follower, a crash mid-restore) the state is replaced asynchronously from the store
// while later committed entries wait in order; entries at or below the restored index are then skipped.
import type { Logger } from 'pino';
import { kafkaOffset, type KafkaOffset } from '@tributary/log';
import { EntryType, Role, type Entry, type RaftGroupId, type RaftHost, type Snapshot, type SnapshotMeta } from '@tributary/raft';
import type { PartitionCheckpoint } from './snapshots/partition-checkpoint.js';
import type { Acks, DeleteRecordsOutcome, PartitionReplica, ProduceOutcome, ProducedBatch, ReadOutcome } from '../partitions/partition-replica.js';
import type { StorageLog } from '../partitions/storage-log.js';
import { ProducerStateTable, type ProducerStateSnapshot } from '../partitions/producer-state.js';
import { LeaderEpochCache } from './leadership-epochs.js';
import { OffsetPredictor, type AppliedPartitionState } from './offset-prediction.js';
import { NO_PRODUCER_ID, recordAppended, rejectionOf } from './partition-idempotence.js';
import {
  decodePartitionEntry, encodeAdvanceLogStart, encodeExpireProducers, encodePartitionEntry, type PartitionEntry,
} from './partition-entry.js';
import { retentionLogStart } from './retention-plan.js';
import type { PartitionCheckpointWriter } from './snapshots/partition-checkpoint.js';

export { encodePartitionEntry };
/** Offsets of recently applied entries kept for their proposers (entries applied on a follower are never taken). */
const APPLIED_RESULTS_MAX = 4096;
/** partitionLeaderEpoch field of a v2 batch header (not covered by the batch CRC). */
const PARTITION_LEADER_EPOCH_AT = 12;
const LAST_OFFSET_DELTA_AT = 23;
const MAX_TIMESTAMP_AT = 35;
const PRODUCER_ID_AT = 43;
const PRODUCER_EPOCH_AT = 51;
const BASE_SEQUENCE_AT = 53;

/** The producer fields of a batch: what identifies it for idempotence (and for the restart replay). */
export interface BatchIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
}

/** What a replica holds at open: its producer state and the identities of the batches already in its log. */
export interface RecoveredPartition {
  readonly producers: ProducerStateTable;
  /** Batches in the log after the checkpoint (all of them without one), matched against the replayed entries. */
  readonly batches: BatchIdentity[];
  /** Where each leader epoch starts in the log (from the batches' partitionLeaderEpoch). */
  readonly epochs: LeaderEpochCache;
  /** The Raft position the log reflects up to the checkpoint (entries at or below it are skipped); null: none. */
  readonly checkpoint: { readonly raftIndex: number; readonly raftTerm: number } | null;
}

/** The replica's state at its applied index: what a snapshot or a checkpoint records. */
export interface CapturedPartitionState {
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly logStartOffset: KafkaOffset;
  readonly nextOffset: KafkaOffset;
  /** Bytes of all segments at capture (the active segment's length is this minus the sealed ones'). */
  readonly sizeBytes: number;
  readonly producers: ProducerStateSnapshot;
  /** Leader epoch -> first offset of the log below nextOffset. */
  readonly epochs: readonly { readonly epoch: number; readonly startOffset: number }[];
}

/**
 * Replaces a replica's state from the object store (set by the registry when snapshots are on): stages a snapshot
 * with index >= reference.meta.index, calls closeLog, swaps the directory in and reopens the log. Store outages are
 * retried until it succeeds or `cancelled()` says the replica closed (then it rejects).
 */
export interface PartitionStateRestorer {
  restore(reference: Snapshot, closeLog: () => Promise<void>, cancelled: () => boolean): Promise<{ log: StorageLog; recovered: RecoveredPartition }>;
}

function identityOf(batch: Buffer): BatchIdentity {
  return {
    producerId: Number(batch.readBigInt64BE(PRODUCER_ID_AT)),
    producerEpoch: batch.readInt16BE(PRODUCER_EPOCH_AT),
    baseSequence: batch.readInt32BE(BASE_SEQUENCE_AT),
    lastOffsetDelta: batch.readInt32BE(LAST_OFFSET_DELTA_AT),
  };
}

const sameIdentity = (a: BatchIdentity, b: BatchIdentity): boolean =>
  a.producerId === b.producerId && a.producerEpoch === b.producerEpoch && a.baseSequence === b.baseSequence && a.lastOffsetDelta === b.lastOffsetDelta;

/** What applying a log-start command decided (read by its proposer: DeleteRecords answers with it). */
export type LogStartOutcome = { readonly kind: 'ok'; readonly lowWatermark: KafkaOffset } | { readonly kind: 'offsetOutOfRange' };

export class RaftPartition implements PartitionReplica {
  private readonly hwListeners = new Set<() => void>();
  private readonly results = new Map<number, ProduceOutcome>();
  private closed = false;
  private producers: ProducerStateTable;
  /** Batches already in the log at open, matched against the replayed entries (see the restart invariant). */
  private replayBatches: BatchIdentity[];
  private replayCursor = 0;
  /** Leader epoch (= Raft term) → first offset, as in the log; maintained at apply. */
  readonly epochs: LeaderEpochCache;
  /** Last Raft entry this replica's state reflects (skipped, no-op or data); entries at or below it are skipped. */
  private appliedIndex = 0;
  private appliedTerm = 0;
  private lastWriteAtMs: number | null = null;
  /** While the state is replaced from the object store: committed entries wait here, in order. */
  private restoring: { queue: Entry[]; target: Snapshot; done: Promise<void> } | null = null;
  /** While the log is reopened with new topic configs (replaceLog): committed entries wait here, in order. */
  private reopening: { queue: Entry[]; done: Promise<void> } | null = null;
  /** While a command entry changes the log or producer state on disk: committed entries wait here, in order. */
  private commanding: { queue: Entry[]; done: Promise<void> } | null = null;
  /** Outcomes of commands applied in this process, by Raft index, for their proposers (the log start after each). */
  private readonly logStartResults = new Map<number, LogStartOutcome>();
  private checkpoints: PartitionCheckpointWriter | null = null;
  private restorer: PartitionStateRestorer | null = null;
  /** The Raft snapshot image this replica's Raft storage holds (what a lagging follower is sent). */
  private raftImage: { index: number; data: Uint8Array } | null = null;
  /** The outcomes of this leader's own entries before they are applied (acks=1). */
  private readonly predictor: OffsetPredictor;

  /**
   * @param recovered what `recover` read from the log at open.
   * @param onApplyFailure called when an append fails during apply: the replica can no longer follow the group
   *   (the process should exit and recover by replay).
   */
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly raftGroup: RaftGroupId,
    private log: StorageLog,
    private readonly host: RaftHost,
    recovered: RecoveredPartition,
    private readonly logger: Logger,
    private readonly onApplyFailure: (err: Error) => void,
  ) {
    this.producers = recovered.producers;
    this.replayBatches = recovered.batches;
    this.epochs = recovered.epochs;
    this.appliedIndex = recovered.checkpoint?.raftIndex ?? 0;
    this.appliedTerm = recovered.checkpoint?.raftTerm ?? 0;
    this.predictor = new OffsetPredictor(() => this.appliedState(), (err) => this.fail(err, this.appliedIndex));
  }

  /**
   * The applied state is well defined: not closed, no log swap or command in progress, and not replaying entries
   * applied before a restart (the log is then ahead of the applied index).
   */
  private appliedStateDefined(): boolean {
    return !this.closed && this.restoring === null && this.reopening === null && this.commanding === null && this.replayCursor >= this.replayBatches.length;
  }

  /** What the leader's predictions start from; null while the applied state is not well defined. */
  private appliedState(): AppliedPartitionState | null {
    if (!this.appliedStateDefined()) return null;
    return { raftIndex: this.appliedIndex, nextOffset: this.log.logEndOffset, producers: this.producers };
  }

  /**
   * Reads the producer fields of the batches of an opened log after the checkpoint (every batch without one; see
   * the restart invariant). A checkpoint whose offset the log does not hold (its tail was lost) is not used: the
   * Raft snapshot it backed is then restored from the object store by restore().
   */
  static async recover(log: StorageLog, checkpoint: PartitionCheckpoint | null = null): Promise<RecoveredPartition> {
    const usable = checkpoint !== null && checkpoint.nextOffset >= log.logStartOffset && checkpoint.nextOffset <= log.logEndOffset;
    if (!usable && log.logStartOffset !== 0) {
      throw new Error(`assertion: a Raft partition log starting at ${log.logStartOffset} needs a checkpoint that it holds`);
    }
    // A crash between a log-start command's checkpoint and its deletion: finish the deletion.
    if (usable && checkpoint.logStartOffset > log.logStartOffset) {
      const r = await log.deleteRecordsBefore(checkpoint.logStartOffset);
      if (r.kind !== 'ok') throw new Error(`assertion: checkpoint log start ${checkpoint.logStartOffset} is past the log end ${log.logEndOffset}`);
    }
    const producers = usable ? ProducerStateTable.fromSnapshot(checkpoint.producers) : new ProducerStateTable();
    const batches: BatchIdentity[] = [];
    const epochs = new LeaderEpochCache();
    const from = usable ? checkpoint.nextOffset : 0;
    // With a checkpoint only its tail is read: producers and leader epochs below it come from the checkpoint (one
    // written before it held epochs makes the scan start at the log start for them).
    const epochsKnown = usable && checkpoint.epochs !== undefined;
    if (epochsKnown) for (const e of checkpoint.epochs!) epochs.assign(e.epoch, kafkaOffset(e.startOffset));
    await log.scanBatchHeaders(epochsKnown ? from : log.logStartOffset, (h) => {
      if (!epochsKnown || h.baseOffset >= from) epochs.assign(h.partitionLeaderEpoch, kafkaOffset(h.baseOffset));
      if (h.baseOffset < from) return true;
      const id: BatchIdentity = { producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, lastOffsetDelta: h.lastOffset - h.baseOffset };
      batches.push(id);
      recordAppended(producers, id, h.baseOffset, h.lastOffset, h.maxTimestampMs);
      return true;
    });
    // the batch holding the log start may begin below it: its epoch starts at the log start (as after the command)
    epochs.truncateFromStart(log.logStartOffset);
    return { producers, batches, epochs, checkpoint: usable ? { raftIndex: checkpoint.raftIndex, raftTerm: checkpoint.raftTerm } : null };
  }

  /** Batches found in the log at open that the replay has not reached yet. */
  get replayPending(): number {
    return this.replayBatches.length - this.replayCursor;
  }

  get logStartOffset(): KafkaOffset {
    return this.log.logStartOffset;
  }

  get logEndOffset(): KafkaOffset {
    return this.log.logEndOffset;
  }

  /** Every batch in the log came from a committed entry. */
  get highWatermark(): KafkaOffset {
    return this.log.logEndOffset;
  }

  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  /** The Raft leader's node id (0 = unknown) and term as this replica sees them. */
  leadership(): { leaderId: number; term: number; isLeader: boolean; progress: ReadonlyMap<number, { match: number }>; commitIndex: number } {
    const raft = this.host.group(this.raftGroup);
    if (raft === undefined) return { leaderId: 0, term: 0, isLeader: false, progress: new Map(), commitIndex: 0 };
    return { leaderId: raft.leaderId, term: raft.term, isLeader: raft.role === Role.Leader, progress: raft.progress(), commitIndex: raft.commitIndex };
  }

  // --- Raft state machine -------------------------------------------------------------------------------------

  apply(entries: readonly Entry[]): void {
    if (this.restoring !== null) {
      for (const e of entries) this.restoring.queue.push(e);
      return;
    }
    if (this.reopening !== null) {
      for (const e of entries) this.reopening.queue.push(e);
      return;
    }
    if (this.commanding !== null) {
      for (const e of entries) this.commanding.queue.push(e);
      return;
    }
    this.applyInOrder(entries);
  }

  private applyInOrder(entries: readonly Entry[]): void {
    let appended = false;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (this.closed) return;
      // Already reflected in the log: below the local checkpoint (restart) or the restored snapshot.
      if (e.index <= this.appliedIndex) continue;
      this.appliedIndex = e.index;
      this.appliedTerm = e.term;
      if (e.type !== EntryType.Normal || e.data.length === 0) { // leader no-op, configuration change
        if (!this.checkPrediction(e, undefined)) return;
        continue;
      }
      let entry: PartitionEntry;
      try {
        entry = decodePartitionEntry(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
      } catch (err) {
        this.fail(err as Error, e.index);
        return;
      }
      if (entry.kind !== 'batch') {
        if (this.replayCursor < this.replayBatches.length) {
          this.fail(new Error(`assertion: command entry ${e.index} replayed with ${this.replayPending} batches of the log still unmatched`), e.index);
          return;
        }
        // never predicted (the leader's predictor sees a gap: its view is rebuilt once the command is applied)
        if (!this.checkPrediction(e, undefined)) return;
        let finish!: () => void;
        const state = { queue: entries.slice(i + 1), done: new Promise<void>((r) => (finish = r)) };
        this.commanding = state;
        void this.applyCommand(e, entry).then((ok) => {
          this.commanding = null;
          try {
            if (ok) this.applyInOrder(state.queue);
          } finally {
            finish();
          }
        });
        break;
      }
      const view = entry.records;
      const id = identityOf(view);
      if (this.replayCursor < this.replayBatches.length) {
        // Replay of an entry applied before the restart: appended then iff it is the next batch of the log.
        if (sameIdentity(this.replayBatches[this.replayCursor]!, id)) this.replayCursor++;
        else if (id.producerId === NO_PRODUCER_ID) {
          this.fail(new Error(`assertion: replayed entry ${e.index} is not the next batch of the log`), e.index);
          return;
        }
        if (this.replayCursor === this.replayBatches.length) {
          this.replayBatches = [];
          this.replayCursor = 0;
        }
        if (!this.checkPrediction(e, undefined)) return;
        continue;
      }
      const rejection = rejectionOf(this.producers, id);
      if (rejection !== null) {
        const check = this.checkPrediction(e, rejection);
        if (check === false) return;
        if (check === 'proposerWaits') this.remember(e.index, rejection);
        continue;
      }
      // A copy: the log patches baseOffset and the leader epoch in place, and the entry stays in Raft's memory.
      const batch = Buffer.from(view);
      batch.writeInt32BE(e.term, PARTITION_LEADER_EPOCH_AT);
      const logAppendTime = entry.logAppendTime;
      const nowMs = entry.appendTimeMs;
      try {
        const r = this.log.append(batch, { nowMs, logAppendTime });
        if (r instanceof Promise) throw new Error('assertion: the partition log appends synchronously');
        this.epochs.assign(e.term, r.baseOffset);
        // the batch's max timestamp as stored (the log patched it under LogAppendTime): what a replica rebuilding
        // its producer state from the log reads back, so producer expiry decides the same on every replica
        recordAppended(this.producers, id, r.baseOffset, r.lastOffset, Number(batch.readBigInt64BE(MAX_TIMESTAMP_AT)));
        const outcome: ProduceOutcome = { kind: 'appended', baseOffset: r.baseOffset, logAppendTimeMs: logAppendTime ? r.logAppendTimeMs : -1 };
        appended = true;
        this.lastWriteAtMs = Date.now();
        const check = this.checkPrediction(e, outcome);
        if (check === false) return;
        if (check === 'proposerWaits') this.remember(e.index, outcome);
      } catch (err) {
        this.fail(err as Error, e.index);
        return;
      }
    }
    this.predictor.afterApply();
    if (appended) for (const l of [...this.hwListeners]) l();
  }

  /**
   * Checks an applied entry against the leader's prediction: false after an invariant break (the replica stopped),
   * else whether the proposer still reads the applied outcome.
   */
  private checkPrediction(e: Entry, outcome: ProduceOutcome | undefined): 'proposerWaits' | 'proposerAnswered' | false {
    const check = this.predictor.applied(e.index, e.term, outcome);
    if (check.kind !== 'mismatch') return check.kind;
    this.fail(new Error(`assertion: ${this.topic}-${this.partition}: ${check.message}`), e.index);
    return false;
  }

  /**
   * Applies a command entry (the replica's applied index is already the entry's). Resolves false when the replica
   * failed (it then no longer follows its group). The checkpoint goes first: see the header.
   */
  private async applyCommand(e: Entry, command: Exclude<PartitionEntry, { kind: 'batch' }>): Promise<boolean> {
    try {
      if (command.kind === 'advanceLogStart') {
        const target = command.offset;
        if (target > this.log.logEndOffset) {
          // the proposer checked it against its high watermark, and the log only grows: every replica agrees
          this.logger.warn({ topic: this.topic, partition: this.partition, raftIndex: e.index, target, logEndOffset: this.log.logEndOffset }, 'log start command past the log end ignored');
          this.rememberLogStart(e.index, { kind: 'offsetOutOfRange' });
          return true;
        }
        if (target > this.log.logStartOffset) {
          // producers whose batches all lie below the new start are forgotten, as single-node retention does
          this.producers.expire(0, Number.POSITIVE_INFINITY, target);
          this.epochs.truncateFromStart(target);
          await this.writeCommandCheckpoint(target);
          const r = await this.log.deleteRecordsBefore(target);
          if (r.kind !== 'ok') throw new Error(`assertion: log start ${target} refused by a log ending at ${this.log.logEndOffset}`);
          this.lastWriteAtMs = Date.now();
          this.logger.info({ topic: this.topic, partition: this.partition, raftIndex: e.index, reason: command.reason, logStartOffset: target }, 'log start advanced');
        }
        this.rememberLogStart(e.index, { kind: 'ok', lowWatermark: this.log.logStartOffset });
        return true;
      }
      const removed = this.producers.expire(command.nowMs, command.expirationMs, this.log.logStartOffset);
      if (removed > 0) {
        await this.writeCommandCheckpoint(this.log.logStartOffset);
        this.lastWriteAtMs = Date.now();
        this.logger.info({ topic: this.topic, partition: this.partition, raftIndex: e.index, removed }, 'expired idle producer ids');
      }
      this.rememberLogStart(e.index, { kind: 'ok', lowWatermark: this.log.logStartOffset });
      return true;
    } catch (err) {
      this.fail(err as Error, e.index);
      return false;
    }
  }

  /** The local checkpoint at the applied index, naming `logStartOffset` (the start the command is moving to). */
  private async writeCommandCheckpoint(logStartOffset: KafkaOffset): Promise<void> {
    if (this.checkpoints === null) throw new Error('assertion: a partition command applied without a checkpoint writer');
    await this.checkpoints.write(this.stateAtAppliedIndex(logStartOffset));
  }

  private rememberLogStart(index: number, outcome: LogStartOutcome): void {
    this.logStartResults.set(index, outcome);
    if (this.logStartResults.size > APPLIED_RESULTS_MAX) this.logStartResults.delete(this.logStartResults.keys().next().value!);
  }

  private remember(index: number, outcome: ProduceOutcome): void {
    this.results.set(index, outcome);
    if (this.results.size > APPLIED_RESULTS_MAX) this.results.delete(this.results.keys().next().value!);
  }

  private fail(err: Error, raftIndex: number): void {
    this.closed = true;
    this.logger.fatal({ err, topic: this.topic, partition: this.partition, raftIndex }, 'applying a committed entry failed');
    this.onApplyFailure(err);
  }

  /**
   * The host hands over a Raft snapshot image (a reference into the object store): at addGroup (restart) it is
   * usually covered by the local checkpoint; otherwise (InstallSnapshot, or a restore a crash interrupted) the state
   * is replaced from the store in the background while later committed entries queue.
   */
  restore(snapshot: Snapshot): void {
    if (this.closed) return;
    this.raftImage = { index: snapshot.meta.index, data: snapshot.data };
    if (this.restoring !== null) {
      if (snapshot.meta.index > this.restoring.target.meta.index) this.restoring.target = snapshot;
      return;
    }
    if (snapshot.meta.index <= this.appliedIndex) return;
    if (this.restorer === null) {
      this.fail(new Error('assertion: a partition snapshot must be restored but snapshots are not enabled on this node'), snapshot.meta.index);
      return;
    }
    const state: { queue: Entry[]; target: Snapshot; done: Promise<void> } = { queue: [], target: snapshot, done: Promise.resolve() };
    this.predictor.reset(); // the applied state is about to be replaced
    this.restoring = state;
    state.done = this.restoreFromStore(state, this.restorer);
  }

  private async restoreFromStore(state: { queue: Entry[]; target: Snapshot }, restorer: PartitionStateRestorer): Promise<void> {
    const startedAtMs = Date.now();
    this.logger.info({ topic: this.topic, partition: this.partition, raftIndex: state.target.meta.index, appliedIndex: this.appliedIndex }, 'restoring partition replica from a snapshot');
    try {
      // one log swap at a time: a reopen with new topic configs (replaceLog) or a command's deletion finishes first
      while (this.reopening !== null || this.commanding !== null) await (this.reopening ?? this.commanding)!.done;
      while (state.target.meta.index > this.appliedIndex) {
        const target = state.target;
        const { log, recovered } = await restorer.restore(target, () => Promise.resolve(this.log.close()), () => this.closed);
        if (recovered.checkpoint === null || recovered.checkpoint.raftIndex < target.meta.index) {
          throw new Error(`assertion: restored partition state ${recovered.checkpoint?.raftIndex ?? 'without a checkpoint'} is below the reference ${target.meta.index}`);
        }
        this.log = log;
        this.producers = recovered.producers;
        this.replayBatches = recovered.batches;
        this.replayCursor = 0;
        this.epochs.clear();
        for (const e of recovered.epochs.all) this.epochs.assign(e.epoch, e.startOffset);
        this.appliedIndex = recovered.checkpoint.raftIndex;
        this.appliedTerm = recovered.checkpoint.raftTerm;
        this.results.clear();
      }
    } catch (err) {
      this.restoring = null;
      if (!this.closed) this.fail(err as Error, state.target.meta.index);
      return;
    }
    const queued = state.queue;
    this.restoring = null;
    this.logger.info({ topic: this.topic, partition: this.partition, appliedIndex: this.appliedIndex, queuedEntries: queued.length, durationMs: Date.now() - startedAtMs }, 'partition replica restored from a snapshot');
    this.applyInOrder(queued);
    for (const l of [...this.hwListeners]) l();
  }

  /** The image a lagging follower is sent: the reference this replica's Raft storage holds at `meta.index`. */
  snapshotData(meta: SnapshotMeta): Uint8Array | null {
    return this.raftImage !== null && this.raftImage.index === meta.index ? this.raftImage.data : null;
  }

  // --- snapshots (used by snapshots/partition-snapshot-source.ts) ---------------------------------------------------

  /** Where this replica's local checkpoints are written (also by compactions: one writer, never backwards). */
  setCheckpointWriter(writer: PartitionCheckpointWriter): void {
    this.checkpoints = writer;
  }

  /** Writes the local checkpoint of a captured state; false when one at or past it was written already. */
  writeCheckpoint(state: CapturedPartitionState): Promise<boolean> {
    if (this.checkpoints === null) return Promise.reject(new Error('assertion: no checkpoint writer for this partition replica'));
    return this.checkpoints.write(state);
  }

  /** Lets restore() replace the state from the object store. */
  setRestorer(restorer: PartitionStateRestorer): void {
    this.restorer = restorer;
  }

  /** Records the reference image of a Raft position whose state this replica restored before hosting (bootstrap). */
  setRaftImage(index: number, data: Uint8Array): void {
    this.raftImage = { index, data };
  }

  /** False while the state is being replaced from the object store (no reads, no produce, not ready). */
  isCaughtUp(): boolean {
    return this.restoring === null && !this.closed;
  }

  /** Resolves when a restore in progress has finished (at once if none). */
  async restored(): Promise<void> {
    while (this.restoring !== null) await this.restoring.done;
  }

  /** Raft position of the state and the time of the last append: what the snapshot loop triggers on. */
  appliedPosition(): { raftIndex: number; raftTerm: number; lastWriteAtMs: number | null } {
    return { raftIndex: this.appliedIndex, raftTerm: this.appliedTerm, lastWriteAtMs: this.lastWriteAtMs };
  }

  /**
   * The state at the applied index, captured synchronously (apply runs synchronously, so it is consistent); null
   * while it is not well defined: restoring, or still replaying entries applied before a restart (the log is then
   * ahead of the applied index).
   */
  captureState(): CapturedPartitionState | null {
    if (!this.appliedStateDefined()) return null;
    return this.stateAtAppliedIndex(this.log.logStartOffset);
  }

  /** The state at the applied index naming `logStartOffset` (a command's checkpoint names the start it moves to). */
  private stateAtAppliedIndex(logStartOffset: KafkaOffset): CapturedPartitionState {
    const nextOffset = this.log.logEndOffset;
    return {
      raftIndex: this.appliedIndex,
      raftTerm: this.appliedTerm,
      logStartOffset,
      nextOffset,
      sizeBytes: this.log.sizeBytes,
      producers: this.producers.toSnapshot(nextOffset),
      epochs: this.epochs.all.map((e) => ({ epoch: e.epoch, startOffset: e.startOffset })),
    };
  }

  /** Makes every append so far durable (under fsyncPolicy 'never' the caller must fsync the files itself). */
  flushLog(): Promise<KafkaOffset> {
    return this.log.flush();
  }

  /** Drops the Raft log up to `index` (after a checkpoint covering it was written); `image` is the store reference. */
  compactRaftLog(index: number, image: Uint8Array): void {
    if (index > this.appliedIndex) throw new Error(`assertion: compacting ${this.topic}-${this.partition} to ${index} beyond its applied index ${this.appliedIndex}`);
    this.raftImage = { index, data: image };
    this.host.compact(this.raftGroup, index, image);
  }

  // --- PartitionReplica --------------------------------------------------------------------------------------------

  async produce(records: Buffer, _batches: readonly ProducedBatch[], acks: Acks, logAppendTime: boolean): Promise<ProduceOutcome> {
    const raft = this.host.group(this.raftGroup);
    if (this.closed || this.restoring !== null || raft === undefined || raft.role !== Role.Leader) {
      return { kind: 'notLeader', message: `node ${this.host.nodeId} does not lead ${this.topic}-${this.partition} (leader ${raft?.leaderId ?? 0})` };
    }
    const appendTimeMs = Date.now();
    const raftTerm = raft.term;
    const proposal = this.host.proposeTracked(this.raftGroup, encodePartitionEntry(records, logAppendTime, appendTimeMs));
    const predicted = proposal.index === null
      ? null
      : this.predictor.proposed({ raftIndex: proposal.index, raftTerm, identity: identityOf(records), appendTimeMs, logAppendTime, needsAppliedOutcome: acks === -1 });
    if (acks === 0) {
      void proposal.committed;
      return { kind: 'appended', baseOffset: kafkaOffset(0), logAppendTimeMs: -1 };
    }
    // acks=1: once durable in this node's Raft log, with the predicted outcome; without a prediction, as acks=all
    if (acks === 1 && predicted !== null && (await proposal.durable)) {
      const outcome = await predicted;
      if (outcome !== null) return outcome;
    }
    // acks=all: after commit + apply on the leader
    const r = await proposal.committed;
    if (!r.ok) return { kind: 'notLeader', message: `${r.reason} (leader ${r.leaderId})` };
    // The host counts an entry applied once handed over; a log swap in progress queues it: wait for its outcome.
    while (this.reopening !== null) await this.reopening.done;
    while (this.commanding !== null && !this.results.has(r.index)) await this.commanding.done;
    const applied = this.results.get(r.index);
    this.results.delete(r.index);
    if (applied === undefined) throw new Error(`assertion: committed entry ${r.index} of ${this.topic}-${this.partition} has no applied outcome`);
    return applied;
  }

  async read(fetchOffset: KafkaOffset, maxBytes: number, minOneBatch: boolean): Promise<ReadOutcome> {
    while (this.reopening !== null) await this.reopening.done; // not from a log being closed
    const hw = this.highWatermark;
    const logStartOffset = this.log.logStartOffset;
    if (fetchOffset < logStartOffset || fetchOffset > hw) return { kind: 'offsetOutOfRange' };
    if (fetchOffset === hw) return { kind: 'ok', result: { records: Buffer.alloc(0), highWatermark: hw, logStartOffset } };
    const read = await this.log.read(fetchOffset, maxBytes, { maxOffset: hw, minOneBatch });
    if (read.kind === 'offsetOutOfRange') return { kind: 'offsetOutOfRange' };
    return { kind: 'ok', result: { records: read.records, highWatermark: hw, logStartOffset } };
  }

  async maxTimestamp(): Promise<{ offset: KafkaOffset; timestampMs: number } | null> {
    let best: { offset: number; timestampMs: number } | null = null;
    await this.log.scanBatchHeaders(this.log.logStartOffset, (h) => {
      if (best === null || h.maxTimestampMs > best.timestampMs) best = { offset: h.lastOffset, timestampMs: h.maxTimestampMs };
      return true;
    });
    const b = best as { offset: number; timestampMs: number } | null;
    return b === null ? null : { offset: kafkaOffset(b.offset), timestampMs: b.timestampMs };
  }

  offsetForTimestamp(timestampMs: number): Promise<{ offset: KafkaOffset; timestampMs: number } | null> {
    return this.log.offsetForTimestamp(timestampMs);
  }

  /**
   * DeleteRecords on the leader: a log-start command, answered once committed and applied here with the new low
   * watermark (every replica applies the same). -1 = the high watermark; past it: offsetOutOfRange (Kafka's rule);
   * at or below the current start: the current start, nothing proposed.
   */
  async deleteRecordsBefore(offset: KafkaOffset | -1): Promise<DeleteRecordsOutcome> {
    const raft = this.host.group(this.raftGroup);
    if (this.closed || this.restoring !== null || raft === undefined || raft.role !== Role.Leader) {
      return { kind: 'notLeader', message: `node ${this.host.nodeId} does not lead ${this.topic}-${this.partition} (leader ${raft?.leaderId ?? 0})` };
    }
    const target = offset === -1 ? this.highWatermark : offset;
    if (target > this.highWatermark) return { kind: 'offsetOutOfRange' };
    if (target <= this.log.logStartOffset) return { kind: 'ok', lowWatermark: this.log.logStartOffset };
    const r = await this.host.propose(this.raftGroup, encodeAdvanceLogStart(target, 'deleteRecords'));
    if (!r.ok) return { kind: 'notLeader', message: `${r.reason} (leader ${r.leaderId})` };
    const outcome = await this.commandOutcome(r.index);
    return outcome ?? { kind: 'notLeader', message: `${this.topic}-${this.partition} closed before the command applied` };
  }

  /** Waits until the command at `index` (committed) has been applied here; undefined when the replica closed. */
  private async commandOutcome(index: number): Promise<LogStartOutcome | undefined> {
    for (;;) {
      const outcome = this.logStartResults.get(index);
      if (outcome !== undefined) {
        this.logStartResults.delete(index);
        return outcome;
      }
      const pending = this.restoring ?? this.reopening ?? this.commanding;
      if (this.closed || pending === null) return undefined;
      await pending.done;
    }
  }

  onHighWatermarkAdvance(listener: () => void): () => void {
    this.hwListeners.add(listener);
    return () => this.hwListeners.delete(listener);
  }

  /**
   * The retention pass (every log.retention.check.interval.ms on every broker); only the leader acts. It proposes a
   * log-start command when Kafka's rule (retention-plan.ts, the topic's limits as the log was opened with) deletes
   * segments of its log, and a producer-expiry command carrying `nowMs` and the expiration when any producer id is
   * idle longer than that. Followers apply both from the Raft log.
   */
  async applyRetention(nowMs: number, producerExpirationMs: number): Promise<void> {
    const raft = this.host.group(this.raftGroup);
    if (this.closed || !this.isCaughtUp() || raft === undefined || raft.role !== Role.Leader) return;
    if (this.commanding !== null) return; // the next pass sees its effect
    const target = retentionLogStart(this.log.segmentSummaries(), nowMs, this.log.config);
    if (target !== null && target > this.log.logStartOffset && target <= this.highWatermark) {
      const r = await this.host.propose(this.raftGroup, encodeAdvanceLogStart(target, 'retention'));
      if (r.ok) await this.commandOutcome(r.index);
    }
    if (this.closed || this.producers.countExpired(nowMs, producerExpirationMs, this.log.logStartOffset) === 0) return;
    const r = await this.host.propose(this.raftGroup, encodeExpireProducers(nowMs, producerExpirationMs));
    if (r.ok) await this.commandOutcome(r.index);
  }

  /** Producer state is rebuilt at open from the local checkpoint plus the batch headers after it. */
  saveProducerState(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Reopens the log with new topic configs (segment size and age are fixed at open): `reopen` closes the old log
   * and opens the same directory. Committed entries arriving meanwhile queue and are applied, in order, on the new
   * log; the content, producer state, epochs and applied index are unchanged. A reopen that fails leaves the replica
   * unable to follow its group (the process exits and recovers by replay, like a failed append).
   */
  async replaceLog(reopen: (old: StorageLog) => Promise<StorageLog>): Promise<void> {
    await this.restored(); // one log swap at a time
    while (this.reopening !== null || this.commanding !== null) await (this.reopening ?? this.commanding)!.done;
    if (this.closed) return;
    let finish!: () => void;
    const state = { queue: [] as Entry[], done: new Promise<void>((r) => (finish = r)) };
    this.reopening = state;
    try {
      this.log = await reopen(this.log);
    } catch (err) {
      this.reopening = null;
      finish();
      if (!this.closed) this.fail(err as Error, this.appliedIndex);
      return;
    }
    this.reopening = null;
    this.applyInOrder(state.queue);
    finish();
    for (const l of [...this.hwListeners]) l();
  }

  /** The host saw this replica's Raft role change: a leader's predictions end with its leadership. */
  leadershipChanged(role: Role): void {
    if (role !== Role.Leader) this.predictor.reset();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.predictor.reset();
    await this.restoring?.done;
    await this.reopening?.done;
    await this.commanding?.done;
    await this.log.close();
  }

  async delete(): Promise<void> {
    this.closed = true;
    this.predictor.reset();
    await this.restoring?.done;
    await this.reopening?.done;
    await this.commanding?.done;
    await this.log.close();
    await this.log.deleteAll();
  }
}
