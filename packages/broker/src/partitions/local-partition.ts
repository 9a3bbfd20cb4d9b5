// A partition served from a local log on this node: appends are serialised (producer-sequence checks and the
// append happen as one step), acknowledgements wait for the group-commit fsync under fsync policy 'always',
// the high watermark is the durable end offset, and idempotent-producer state is kept and snapshotted.
import { mkdir, readFile, rename, writeFile, open as openFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { kafkaOffset, type KafkaOffset } from '@tributary/log';
import type { Acks, DeleteRecordsOutcome, ProduceOutcome, ProducedBatch, PartitionReplica, ReadOutcome } from './partition-replica.js';
import type { StorageLog } from './storage-log.js';
import { ProducerStateTable, lastSequenceOf, nextSequence, parseProducerStateSnapshot } from './producer-state.js';

const NO_PRODUCER_ID = -1;

export class LocalPartition implements PartitionReplica {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly hwListeners = new Set<() => void>();
  private lastNotifiedHw: number;
  private closed = false;
  /** End offset and producer count of the last snapshot written by this instance (-1: none yet). */
  private snapshotEndOffset = -1;
  private recovering = false;
  private lastRecoveryMs = 0;
  private snapshotProducerCount = -1;
  private maxTimestampCache: { scannedUpTo: number; best: { offset: number; timestampMs: number } | null } = { scannedUpTo: 0, best: null };

  private constructor(
    readonly topic: string,
    readonly partition: number,
    private log: StorageLog,
    private readonly durableAcks: boolean,
    private producers: ProducerStateTable,
    private readonly producerStatePath: string,
    private readonly logger: Logger,
    /** Opens the partition's log again (recovery); absent = a failed log stays failed until restart. */
    private readonly reopenLog?: () => Promise<StorageLog>,
  ) {
    this.lastNotifiedHw = this.highWatermark;
  }

  /**
   * Wraps an opened log. Producer state comes from the snapshot file when it is consistent with the log,
   * then the batch headers after it are replayed (the whole log when there is no usable snapshot).
   */
  static async open(
    topic: string,
    partition: number,
    log: StorageLog,
    durableAcks: boolean,
    producerStatePath: string,
    logger: Logger,
    reopenLog?: () => Promise<StorageLog>,
  ): Promise<LocalPartition> {
    const table = await LocalPartition.loadProducerState(log, producerStatePath, logger);
    return new LocalPartition(topic, partition, log, durableAcks, table, producerStatePath, logger, reopenLog);
  }

  private static async loadProducerState(log: StorageLog, producerStatePath: string, logger: Logger): Promise<ProducerStateTable> {
    let table = new ProducerStateTable();
    let replayFrom: number = log.logStartOffset;
    const text = await readFile(producerStatePath, 'utf8').catch(() => null);
    if (text !== null) {
      const snapshot = parseProducerStateSnapshot(text);
      if (snapshot === null) {
        logger.warn({ producerStatePath }, 'ignoring unreadable producer state snapshot; rebuilding from the log');
      } else if (snapshot.endOffset > log.logEndOffset) {
        logger.warn(
          { producerStatePath, snapshotEndOffset: snapshot.endOffset, logEndOffset: log.logEndOffset },
          'producer state snapshot is ahead of the recovered log; rebuilding from the log',
        );
      } else {
        table = ProducerStateTable.fromSnapshot(snapshot);
        replayFrom = Math.max(snapshot.endOffset, log.logStartOffset);
      }
    }
    if (replayFrom < log.logEndOffset) {
      await log.scanBatchHeaders(replayFrom, (h) => {
        if (h.producerId === NO_PRODUCER_ID || h.baseOffset < replayFrom) return;
        table.record(h.producerId, h.producerEpoch, {
          firstSeq: h.baseSequence,
          lastSeq: lastSequenceOf(h.baseSequence, h.lastOffset - h.baseOffset),
          firstOffset: h.baseOffset,
          lastOffset: h.lastOffset,
          timestampMs: h.maxTimestampMs,
        });
      });
    }
    return table;
  }

  get logStartOffset(): KafkaOffset {
    return this.log.logStartOffset;
  }

  get logEndOffset(): KafkaOffset {
    return this.log.logEndOffset;
  }

  get highWatermark(): KafkaOffset {
    return this.durableAcks ? this.log.durableEndOffset : this.log.logEndOffset;
  }

  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  /** Runs `step` after every earlier serialised step (appends, config changes, close). */
  private serialised<T>(step: () => Promise<T> | T): Promise<T> {
    const next = this.chain.then(step, step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  produce(records: Buffer, batches: readonly ProducedBatch[], acks: Acks, logAppendTime: boolean): Promise<ProduceOutcome> {
    const appended = this.serialised(() => this.appendStep(records, batches, logAppendTime));
    return appended.then(async (outcome) => {
      if (outcome.kind !== 'appended' && outcome.kind !== 'duplicate') return outcome;
      if (!this.durableAcks) return outcome; // 'interval'/'never': the HW is the log end, already advanced
      // Under 'always' every append is flushed (group commit: one fsync covers all appends before it) so the
      // high watermark advances; acks 1/-1 wait for it, acks=0 does not.
      const durable = this.flushAndNotify();
      if (acks === 0) {
        durable.catch(() => undefined); // logged in flushAndNotify
        return outcome;
      }
      try {
        await durable;
      } catch (err) {
        return { kind: 'storageError', message: (err as Error).message };
      }
      return outcome;
    });
  }

  private async appendStep(records: Buffer, batches: readonly ProducedBatch[], logAppendTime: boolean): Promise<ProduceOutcome> {
    if (this.closed) return { kind: 'storageError', message: `partition ${this.topic}-${this.partition} is closed` };
    const first = batches[0];
    const idempotent = first !== undefined && first.producerId !== NO_PRODUCER_ID;
    if (idempotent) {
      // Batches of one request come from one producer: the first is checked against the producer's state,
      // each later one must continue the one before it.
      const verdict = this.producers.check(first.producerId, first.producerEpoch, first.baseSequence, lastSequenceOf(first.baseSequence, first.lastOffsetDelta));
      if (verdict.kind === 'duplicate') {
        if (batches.length === 1) return { kind: 'duplicate', baseOffset: kafkaOffset(verdict.batch.firstOffset), logAppendTimeMs: -1 };
        return { kind: 'outOfOrderSequence', message: 'a multi-batch request repeats an earlier batch' };
      }
      if (verdict.kind === 'staleEpoch') return { kind: 'invalidProducerEpoch', message: verdict.message };
      if (verdict.kind === 'outOfOrder') return { kind: 'outOfOrderSequence', message: verdict.message };
      for (let i = 1; i < batches.length; i++) {
        const b = batches[i]!;
        const prev = batches[i - 1]!;
        const expected = nextSequence(lastSequenceOf(prev.baseSequence, prev.lastOffsetDelta));
        if (b.producerId !== prev.producerId || b.producerEpoch !== prev.producerEpoch || b.baseSequence !== expected) {
          return { kind: 'outOfOrderSequence', message: 'batches of one request do not continue each other' };
        }
      }
    }
    let result;
    try {
      result = await this.log.append(records, { logAppendTime });
    } catch (err) {
      this.logger.error({ err, topic: this.topic, partition: this.partition }, 'append failed');
      this.recoverStorage(err);
      return { kind: 'storageError', message: (err as Error).message };
    }
    if (idempotent) {
      let offset: number = result.baseOffset;
      for (const b of batches) {
        this.producers.record(b.producerId, b.producerEpoch, {
          firstSeq: b.baseSequence,
          lastSeq: lastSequenceOf(b.baseSequence, b.lastOffsetDelta),
          firstOffset: offset,
          lastOffset: offset + b.lastOffsetDelta,
          timestampMs: b.maxTimestampMs,
        });
        offset += b.lastOffsetDelta + 1;
      }
    }
    if (!this.durableAcks) this.notifyIfAdvanced();
    return { kind: 'appended', baseOffset: result.baseOffset, logAppendTimeMs: logAppendTime ? result.logAppendTimeMs : -1 };
  }

  private flushAndNotify(): Promise<void> {
    const log = this.log;
    return log.flush().then(
      () => this.notifyIfAdvanced(),
      (err: unknown) => {
        this.logger.error({ err, topic: this.topic, partition: this.partition }, 'flush failed');
        this.recoverStorage(err);
        throw err;
      },
    );
  }

  private notifyIfAdvanced(): void {
    const hw = this.highWatermark;
    if (hw <= this.lastNotifiedHw) return;
    this.lastNotifiedHw = hw;
    for (const listener of [...this.hwListeners]) listener();
  }

  /**
   * After a failed write or fsync the log refuses appends (nothing written since the last good fsync can be
   * trusted). Close it and open it again, which runs recovery (keeps only validated batches and makes them
   * durable), then rebuild producer state from the recovered log. Acknowledged records were durable before
   * they were acknowledged, so they survive. At most one attempt per second; later failures trigger more.
   */
  private recoverStorage(cause: unknown, force = false): void {
    const reopen = this.reopenLog;
    if (reopen === undefined || this.recovering || this.closed) return;
    if (!force && (cause as { code?: string })?.code !== 'LOG_STORAGE_FAILED') return;
    if (!force && Date.now() - this.lastRecoveryMs < 1000) return;
    this.recovering = true;
    this.lastRecoveryMs = Date.now();
    void this.serialised(async () => {
      if (this.closed) return;
      const failed = this.log;
      await Promise.resolve(failed.close()).catch((err: unknown) => this.logger.warn({ err, topic: this.topic, partition: this.partition }, 'closing the failed log'));
      this.log = await reopen();
      // The recovered log may end earlier than the state we held: rebuild it from the log alone.
      await rm(this.producerStatePath, { force: true });
      this.producers = await LocalPartition.loadProducerState(this.log, this.producerStatePath, this.logger);
      this.maxTimestampCache = { scannedUpTo: 0, best: null };
      this.snapshotEndOffset = -1;
      this.logger.warn({ topic: this.topic, partition: this.partition, logEndOffset: this.log.logEndOffset }, 'partition log reopened after a storage failure');
      this.notifyIfAdvanced();
    })
      .catch((err: unknown) => this.logger.error({ err, topic: this.topic, partition: this.partition }, 'could not reopen the partition log; it stays failed'))
      .finally(() => {
        this.recovering = false;
      });
  }

  onHighWatermarkAdvance(listener: () => void): () => void {
    this.hwListeners.add(listener);
    return () => this.hwListeners.delete(listener);
  }

  async read(fetchOffset: KafkaOffset, maxBytes: number, minOneBatch: boolean): Promise<ReadOutcome> {
    const log = this.log;
    const hw = this.highWatermark;
    const logStartOffset = log.logStartOffset;
    if (fetchOffset < logStartOffset || fetchOffset > log.logEndOffset) return { kind: 'offsetOutOfRange' };
    if (fetchOffset >= hw) return { kind: 'ok', result: { records: Buffer.alloc(0), highWatermark: hw, logStartOffset } };
    let read;
    try {
      read = await log.read(fetchOffset, maxBytes, { maxOffset: hw, minOneBatch });
    } catch (err) {
      // A topic config change swapped the log while this read ran: read again from the new one.
      if (this.log !== log && !this.closed) return this.read(fetchOffset, maxBytes, minOneBatch);
      throw err;
    }
    if (read.kind === 'offsetOutOfRange') return { kind: 'offsetOutOfRange' };
    return { kind: 'ok', result: { records: read.records, highWatermark: hw, logStartOffset } };
  }

  /**
   * The batch holding the largest timestamp below the high watermark (ListOffsets -3): its last offset and
   * that timestamp, or null for an empty log. Scans batch headers incrementally from where the last call
   * stopped; rescans from the log start when retention removed the remembered batch.
   */
  async maxTimestamp(): Promise<{ offset: KafkaOffset; timestampMs: number } | null> {
    const hw = this.highWatermark;
    if (this.maxTimestampCache.best !== null && this.maxTimestampCache.best.offset < this.log.logStartOffset) {
      this.maxTimestampCache = { scannedUpTo: this.log.logStartOffset, best: null };
    }
    const cache = this.maxTimestampCache;
    const from = Math.max(cache.scannedUpTo, this.log.logStartOffset);
    if (from < hw) {
      let best = cache.best;
      let scannedUpTo = from;
      await this.log.scanBatchHeaders(from, (h) => {
        if (h.lastOffset >= hw) return false;
        if (h.lastOffset >= from && (best === null || h.maxTimestampMs > best.timestampMs)) {
          best = { offset: h.lastOffset, timestampMs: h.maxTimestampMs };
        }
        scannedUpTo = h.lastOffset + 1;
        return true;
      });
      this.maxTimestampCache = { scannedUpTo, best };
    }
    const best = this.maxTimestampCache.best;
    return best === null ? null : { offset: kafkaOffset(best.offset), timestampMs: best.timestampMs };
  }

  offsetForTimestamp(timestampMs: number): Promise<{ offset: KafkaOffset; timestampMs: number } | null> {
    return this.log.offsetForTimestamp(timestampMs).then((r) => (r !== null && r.offset < this.highWatermark ? r : null));
  }

  deleteRecordsBefore(offset: KafkaOffset | -1): Promise<DeleteRecordsOutcome> {
    return this.serialised(async () => {
      const target = offset === -1 ? this.highWatermark : offset;
      if (target > this.highWatermark) return { kind: 'offsetOutOfRange' as const };
      if (target > this.log.logStartOffset) await this.log.deleteRecordsBefore(target);
      return { kind: 'ok' as const, lowWatermark: this.log.logStartOffset };
    });
  }

  /** Applies log retention, then forgets expired producers (both under the serialised step). */
  applyRetention(nowMs: number, producerExpirationMs: number): Promise<void> {
    return this.serialised(async () => {
      if (this.closed) return;
      await this.log.applyRetention(nowMs);
      const removed = this.producers.expire(nowMs, producerExpirationMs, this.log.logStartOffset);
      if (removed > 0) this.logger.info({ topic: this.topic, partition: this.partition, removed }, 'expired idle producer ids');
    });
  }

  /** Swaps the underlying log (after a topic config change re-opened it with new settings). */
  replaceLog(reopen: (old: StorageLog) => Promise<StorageLog>): Promise<void> {
    return this.serialised(async () => {
      if (this.closed) return;
      await this.log.flush();
      try {
        this.log = await reopen(this.log);
      } catch (err) {
        // The old log may be closed already: try the recovery reopen (current configs) next.
        this.recoverStorage(err, true);
        throw err;
      }
    });
  }

  /** Writes the producer-state snapshot atomically (temp file, fsync, rename). */
  saveProducerState(): Promise<void> {
    return this.serialised(() => this.writeSnapshot());
  }

  private async writeSnapshot(): Promise<void> {
    if (this.producers.size === 0 && this.snapshotEndOffset === -1) return;
    await this.log.flush();
    // Nothing appended or expired since the last snapshot: the file on disk is current.
    if (this.log.durableEndOffset === this.snapshotEndOffset && this.producers.size === this.snapshotProducerCount) return;
    const snapshot = this.producers.toSnapshot(this.log.durableEndOffset);
    const tmp = `${this.producerStatePath}.tmp`;
    await mkdir(dirname(this.producerStatePath), { recursive: true });
    await writeFile(tmp, JSON.stringify(snapshot));
    const fh = await openFile(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.producerStatePath);
    this.snapshotEndOffset = snapshot.endOffset;
    this.snapshotProducerCount = this.producers.size;
  }

  /** Flushes, snapshots producer state and closes the log; waits for in-flight appends first. */
  close(): Promise<void> {
    return this.serialised(async () => {
      if (this.closed) return;
      try {
        await this.writeSnapshot();
      } catch (err) {
        this.logger.warn({ err, topic: this.topic, partition: this.partition }, 'could not save producer state at close');
      }
      this.closed = true;
      await this.log.close();
      this.wakeAll();
    });
  }

  /** Deletes the partition's data (topic deletion). */
  delete(): Promise<void> {
    return this.serialised(async () => {
      this.closed = true;
      await this.log.deleteAll();
      await rm(this.producerStatePath, { force: true });
      this.wakeAll();
    });
  }

  private wakeAll(): void {
    for (const listener of [...this.hwListeners]) listener();
  }
}
