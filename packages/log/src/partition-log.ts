/**
 * PartitionLog: the durable, segmented log of one Kafka partition.
 *
 * Concurrency model: append() is synchronous (one positional write of the caller's bytes into the page cache),
 * so appends are totally ordered and readable as soon as it returns; reads, flushes, retention and recovery are
 * asynchronous. Reads go through a reference-counted read handle per segment (segment-read-handle.ts), so a
 * segment rolled or deleted meanwhile never closes an fd under them. An idle partition keeps at most two fds open:
 * the active segment's write fd and its read handle (plus, briefly, a retired write fd waiting for an in-flight
 * fsync). Retention and deleteRecordsBefore run one at a time.
 */
import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir, rm, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  ATTRIBUTES_AT, LAST_OFFSET_DELTA_AT, MAX_TIMESTAMP_AT, TIMESTAMP_TYPE_LOG_APPEND_TIME,
  batchBaseOffset, batchLastOffset, batchMaxTimestamp, checkBatchFraming, readBatchHeaderInfo, rewriteBatchCrc, writeInt64,
} from './batch-header.js';
import { validateLogConfig, type LogConfig } from './config.js';
import { encodeOffsetCheckpoint, fsyncDirectory, fsyncPath, isNotFound, unlinkIfExists, writeFileDurably, type SyncObserver } from './durable-file.js';
import { InvalidBatchError, LogAlreadyOpenError, LogArgumentError, LogClosedError, LogStorageError } from './errors.js';
import { sharedFlushScheduler, type FlushScheduler, type IntervalFlushable } from './flush-scheduler.js';
import { GroupCommit } from './group-commit.js';
import { silentLogger, type LogLogger } from './log-logger.js';
import { recoverLogDirectory } from './log-recovery.js';
import { asKafkaOffset, type KafkaOffset } from './offset.js';
import type {
  AppendOptions, AppendResult, BatchHeaderVisitor, DeleteRecordsResult, PartitionLogOptions, ReadOptions, ReadResult,
  RetentionResult, SegmentSummary, TimestampLookupResult,
} from './partition-log-types.js';
import { CLEAN_SHUTDOWN_FILE, LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE } from './segment-files.js';
import { IndexMismatchError, findTimestampInSegment, readSegmentBatches } from './segment-reader.js';
import { loadSealedIndexes, writeSealedIndexFiles, type SegmentRecoveryContext } from './segment-recovery.js';
import { walkBatchHeaders } from './segment-scan.js';
import { Segment, type SegmentIndexes } from './segment.js';

const INT32_MAX = 0x7fffffff;
/** Sealed segments whose indexes stay in memory (most recently used); older ones reload from their files. */
const LOADED_SEALED_INDEXES_MAX = 3;
const EMPTY = Buffer.alloc(0);
/** Source of the zeros written ahead (shared, never modified). */
const ZEROS = Buffer.alloc(1024 * 1024);
/** Directories open in this process (resolved paths). */
const openDirectories = new Set<string>();

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

function requireSafeInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new LogArgumentError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

interface UnsyncedSegment {
  readonly baseOffset: number;
  readonly files: readonly string[];
}

export class PartitionLog implements IntervalFlushable {
  readonly dir: string;
  readonly config: LogConfig;
  private readonly logger: LogLogger;
  private readonly onSync: SyncObserver | undefined;
  private readonly scheduler: FlushScheduler;
  private readonly clock: () => number;
  /** Zero-filled bytes to keep allocated past the active segment's data; 0 = off. */
  private readonly preallocateBytes: number;

  private segments: Segment[] = [];
  private activeFd = -1;
  /** Size of the active segment's file: its data (active.sizeBytes) plus zero-filled space after it. */
  private activeFileBytes = 0;
  private startOffset = 0;
  private durableOffset = 0;
  private recoveryPoint = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private storageError: LogStorageError | null = null;

  // group commit
  private readonly commits = new GroupCommit<KafkaOffset>(() => this.syncRound());
  /** logEndOffset captured by the latest sync round. */
  private syncRoundTarget = -1;
  private syncsRunning = 0;
  private unsynced: UnsyncedSegment[] = [];
  private directoryDirty = false;
  private retiredFds: number[] = [];

  private readonly indexLoads = new WeakMap<Segment, Promise<SegmentIndexes>>();
  private sealedWithIndexes: Segment[] = [];
  private maintenance: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;

  private constructor(dir: string, config: LogConfig, logger: LogLogger | undefined, options: PartitionLogOptions) {
    this.dir = dir;
    this.config = config;
    this.logger = logger ?? silentLogger;
    this.onSync = options.onSync;
    this.scheduler = options.flushScheduler ?? sharedFlushScheduler;
    this.clock = options.nowMs ?? Date.now;
    // Off unless asked for: measured in bench/kafka-compare.mjs, 8 MiB of zeros ahead made large-batch producers
    // (librdkafka, ~1 MB per request) slower in latency in 3 of 4 A/B runs and no better in throughput (the zeros
    // double the bytes each extending fdatasync writes), while the gain it gives small appends did not show in
    // end-to-end latency. See packages/log/README.md.
    this.preallocateBytes = requireSafeInteger('preallocateBytes', options.preallocateBytes ?? 0, 0);
  }

  private get registryKey(): string {
    return resolve(this.dir);
  }

  private get recoveryContext(): SegmentRecoveryContext {
    return { dir: this.dir, indexIntervalBytes: this.config.indexIntervalBytes, logger: this.logger, onSync: this.onSync };
  }

  /** Opens (creating if needed) the log in `dir` and runs recovery. */
  static async open(dir: string, config: LogConfig, logger?: LogLogger, options: PartitionLogOptions = {}): Promise<PartitionLog> {
    validateLogConfig(config);
    const firstCreated = await mkdir(dir, { recursive: true });
    if (firstCreated !== undefined) {
      // Make the new directory entries durable, from the parent of the first one created down to `dir`'s parent.
      for (let created = resolve(dir); ; created = dirname(created)) {
        await fsyncDirectory(dirname(created), options.onSync);
        if (created === resolve(firstCreated) || dirname(created) === created) break;
      }
    }
    const log = new PartitionLog(dir, config, logger, options);
    if (openDirectories.has(log.registryKey)) throw new LogAlreadyOpenError(dir);
    openDirectories.add(log.registryKey);
    try {
      await log.recover();
    } catch (error) {
      log.closeAllFds();
      openDirectories.delete(log.registryKey);
      throw error;
    }
    if (config.fsyncPolicy === 'interval') log.scheduler.register(log);
    return log;
  }

  // ---------------------------------------------------------------- getters

  get logStartOffset(): KafkaOffset {
    return asKafkaOffset(this.startOffset);
  }

  get logEndOffset(): KafkaOffset {
    return asKafkaOffset(this.active.nextOffset);
  }

  /** Offset up to which appends are known durable (fsynced). Equals logEndOffset under fsyncPolicy 'never'. */
  get durableEndOffset(): KafkaOffset {
    return asKafkaOffset(this.config.fsyncPolicy === 'never' ? this.active.nextOffset : this.durableOffset);
  }

  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first (for tools and tests). */
  get segmentBaseOffsets(): KafkaOffset[] {
    return this.segments.map((segment) => asKafkaOffset(segment.baseOffset));
  }

  /**
   * Every segment, oldest first: base offset, next offset, bytes and largest batch timestamp (-1 when empty). What a
   * replicated log's leader decides retention from (the deletion itself then runs as deleteRecordsBefore).
   */
  segmentSummaries(): SegmentSummary[] {
    return this.segments.map((segment) => ({
      baseOffset: asKafkaOffset(segment.baseOffset),
      nextOffset: asKafkaOffset(segment.nextOffset),
      sizeBytes: segment.sizeBytes,
      maxTimestampMs: segment.maxTimestampMs,
    }));
  }

  get flushIntervalMs(): number {
    return this.config.flushIntervalMs;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  // ---------------------------------------------------------------- append

  /**
   * Appends one or more whole magic v2 batches (as received from a producer, already CRC-validated by the broker).
   * Assigns offsets by patching each batch's baseOffset in place, then writes the bytes as they are. Synchronous:
   * when it returns, the bytes are in the page cache and readable; call flush() for durability.
   * Throws InvalidBatchError for badly framed input (nothing is written), LogClosedError, LogStorageError.
   */
  append(batches: Buffer, options: AppendOptions = {}): AppendResult {
    this.ensureWritable();
    const nowMs = options.nowMs ?? this.clock();
    const totalBytes = batches.length;
    if (totalBytes === 0) throw new InvalidBatchError(0, 'no batches');
    if (totalBytes > INT32_MAX) throw new InvalidBatchError(0, `append of ${totalBytes} bytes exceeds 2 GiB`);

    // Pass 1: framing of every batch before touching anything.
    let batchCount = 0;
    let offsetSpan = 0;
    for (let at = 0; at < totalBytes; ) {
      const framing = checkBatchFraming(batches, at, totalBytes);
      if (!framing.ok) throw new InvalidBatchError(at, framing.reason);
      offsetSpan += batches.readInt32BE(at + LAST_OFFSET_DELTA_AT) + 1;
      batchCount++;
      at += framing.totalBytes;
    }

    // Relative offsets are int32 in the indexes; no real producer request spans 2^31 offsets.
    if (offsetSpan > INT32_MAX + 1) throw new InvalidBatchError(0, `append spans ${offsetSpan} offsets, more than 2^31`);
    const baseOffset = this.active.nextOffset;
    const lastOffset = baseOffset + offsetSpan - 1;
    this.maybeRoll(totalBytes, lastOffset, nowMs);
    const segment = this.active;

    // Pass 2: assign offsets (and LogAppendTime) in place.
    let nextOffset = baseOffset;
    for (let at = 0; at < totalBytes; ) {
      const batchBytes = 12 + batches.readInt32BE(at + 8);
      writeInt64(batches, at, nextOffset);
      nextOffset += batches.readInt32BE(at + LAST_OFFSET_DELTA_AT) + 1;
      if (options.logAppendTime === true) {
        batches.writeInt16BE(batches.readInt16BE(at + ATTRIBUTES_AT) | TIMESTAMP_TYPE_LOG_APPEND_TIME, at + ATTRIBUTES_AT);
        writeInt64(batches, at + MAX_TIMESTAMP_AT, nowMs);
        rewriteBatchCrc(batches, at, batchBytes);
      }
      at += batchBytes;
    }

    const position = segment.sizeBytes;
    this.writeFully(batches, position);
    if (segment.rollTimestampMs === null) segment.rollTimestampMs = nowMs;
    this.preallocateAfter(position + totalBytes);

    // Pass 3: indexes.
    for (let at = 0; at < totalBytes; ) {
      const batchBytes = 12 + batches.readInt32BE(at + 8);
      segment.noteBatch(position + at, batchBaseOffset(batches, at), batchLastOffset(batches, at), batchMaxTimestamp(batches, at), batchBytes, this.config.indexIntervalBytes);
      at += batchBytes;
    }
    return {
      baseOffset: asKafkaOffset(baseOffset),
      lastOffset: asKafkaOffset(lastOffset),
      logAppendTimeMs: options.logAppendTime === true ? nowMs : -1,
      batchCount,
    };
  }

  private ensureWritable(): void {
    if (this.state !== 'open') throw new LogClosedError(this.dir);
    if (this.storageError !== null) throw this.storageError;
  }

  private writeFully(bytes: Buffer, position: number): void {
    let written = 0;
    try {
      while (written < bytes.length) {
        written += writeSync(this.activeFd, bytes, written, bytes.length - written, position + written);
      }
      if (position + written > this.activeFileBytes) this.activeFileBytes = position + written;
    } catch (error) {
      // Undo a partial write so the segment never holds a torn batch we know about.
      try {
        ftruncateSync(this.activeFd, position);
        this.activeFileBytes = position;
      } catch (truncateError) {
        this.storageError = new LogStorageError(`write to ${this.active.paths.log} failed and could not be undone`, truncateError);
      }
      throw new LogStorageError(`write of ${bytes.length} bytes to ${this.active.paths.log} failed`, error);
    }
  }

  /**
   * Keeps zero-filled space allocated after `dataEnd` (the end of the active segment's data): when less than half
   * of preallocateBytes is left, writes zeros up to dataEnd + preallocateBytes (at most segmentBytesMax). The
   * zeros become durable with the next flush, together with the one size change; appends after that overwrite
   * allocated blocks. A failure here (e.g. a full disk) costs only the preallocation: the data is already written.
   */
  private preallocateAfter(dataEnd: number): void {
    const ahead = this.preallocateBytes;
    if (ahead === 0 || this.activeFileBytes - dataEnd >= ahead / 2) return;
    const target = Math.min(dataEnd + ahead, Math.max(this.config.segmentBytesMax, dataEnd));
    let position = Math.max(dataEnd, this.activeFileBytes);
    try {
      while (position < target) {
        position += writeSync(this.activeFd, ZEROS, 0, Math.min(ZEROS.length, target - position), position);
      }
      this.activeFileBytes = position;
    } catch (error) {
      this.logger.warn({ dir: this.dir, err: error }, 'could not preallocate the active segment; continuing without');
      try {
        ftruncateSync(this.activeFd, dataEnd);
        this.activeFileBytes = dataEnd;
      } catch {
        this.activeFileBytes = Math.max(this.activeFileBytes, position); // zeros past the data either way
      }
    }
  }

  /** Cuts the zero-filled space off the active segment's file (before it is sealed or the log is closed). */
  private trimPreallocated(): void {
    const dataEnd = this.active.sizeBytes;
    if (this.activeFileBytes <= dataEnd) return;
    ftruncateSync(this.activeFd, dataEnd);
    this.activeFileBytes = dataEnd;
  }

  private maybeRoll(incomingBytes: number, lastOffset: number, nowMs: number): void {
    const segment = this.active;
    if (segment.isEmpty) return;
    const full = segment.sizeBytes + incomingBytes > this.config.segmentBytesMax;
    const old = segment.rollTimestampMs !== null && nowMs - segment.rollTimestampMs >= this.config.segmentMsMax;
    const offsetsOverflow = lastOffset - segment.baseOffset > INT32_MAX;
    if (full || old || offsetsOverflow) this.roll();
  }

  /** Seals the active segment (writes its index files) and starts a new one at logEndOffset. */
  private roll(): void {
    const old = this.active;
    const newBase = old.nextOffset;
    old.completeTimeIndex();
    const indexes = old.indexes!;
    const next = new Segment(this.dir, newBase, true);
    let fd: number;
    try {
      // A sealed segment's file holds exactly its batches (recovery trusts the size of sealed segments).
      this.trimPreallocated();
      writeIndexFileSync(old.paths.offsetIndex, indexes.offsetIndex.toBuffer());
      writeIndexFileSync(old.paths.timeIndex, indexes.timeIndex.toBuffer());
      fd = openSync(next.paths.log, 'w+');
    } catch (error) {
      this.storageError = new LogStorageError(`rolling segment ${old.baseOffset} failed`, error);
      throw this.storageError;
    }
    old.sealed = true;
    old.readHandle.retire();
    this.retireFd(this.activeFd);
    this.activeFd = fd;
    this.activeFileBytes = 0;
    this.segments.push(next);
    this.keepIndexesLoaded(old);
    this.directoryDirty = true;
    // Under every policy: flush() (or close()) fsyncs the sealed files and advances the recovery point.
    this.unsynced.push({ baseOffset: old.baseOffset, files: [old.paths.log, old.paths.offsetIndex, old.paths.timeIndex] });
    this.logger.info({ dir: this.dir, sealedBaseOffset: old.baseOffset, sealedBytes: old.sizeBytes, newBaseOffset: newBase }, 'rolled segment');
  }

  private retireFd(fd: number): void {
    if (this.syncsRunning === 0) closeSync(fd);
    else this.retiredFds.push(fd);
  }

  // ---------------------------------------------------------------- flush (group commit)

  /**
   * Makes every append issued before this call durable and resolves with the durable end offset. Concurrent
   * callers share one in-flight fdatasync; calls made while one runs share exactly one follow-up.
   * Under fsyncPolicy 'never' resolves at once with logEndOffset.
   */
  flush(): Promise<KafkaOffset> {
    if (this.state === 'closed') return Promise.reject(new LogClosedError(this.dir));
    if (this.storageError !== null) return Promise.reject(this.storageError);
    if (this.config.fsyncPolicy === 'never') return Promise.resolve(this.logEndOffset);
    if (this.state === 'closing') {
      // close() makes everything durable; starting a round now could race with it closing the fd.
      return this.closing!.then(() => {
        if (this.storageError !== null || this.durableOffset < this.active.nextOffset) throw this.storageError ?? new LogClosedError(this.dir);
        return asKafkaOffset(this.durableOffset);
      });
    }
    return this.requestSync();
  }

  /** For the shared interval scheduler. */
  backgroundFlush(): void {
    if (this.state !== 'open' || this.storageError !== null) return;
    if (this.durableOffset >= this.active.nextOffset && this.unsynced.length === 0 && !this.directoryDirty) return;
    this.requestSync().catch((error: unknown) => {
      this.logger.error({ dir: this.dir, err: error }, 'background flush failed');
    });
  }

  private requestSync(): Promise<KafkaOffset> {
    const coveredByInFlight = this.syncRoundTarget >= this.active.nextOffset && this.unsynced.length === 0 && !this.directoryDirty;
    return this.commits.request(coveredByInFlight);
  }

  /**
   * One sync round: captures (synchronously) the log end, the active fd and the sealed files not yet synced, then
   * fdatasyncs the active segment while fsyncing the sealed files and the directory.
   */
  private syncRound(): Promise<KafkaOffset> {
    if (this.storageError !== null) return Promise.reject(this.storageError);
    const target = this.active.nextOffset;
    const activePath = this.active.paths.log;
    const fd = this.activeFd;
    const sealed = this.unsynced;
    this.unsynced = [];
    const syncDirectory = this.directoryDirty;
    this.directoryDirty = false;
    this.syncRoundTarget = target;
    this.syncsRunning++;
    const syncSealedFiles = async (): Promise<void> => {
      for (const segment of sealed) {
        for (const file of segment.files) {
          try {
            await fsyncPath(file, 'file', this.onSync);
          } catch (error) {
            if (!isNotFound(error)) throw error; // deleted by retention meanwhile
          }
        }
      }
      if (syncDirectory) await fsyncDirectory(this.dir, this.onSync);
    };
    return (async (): Promise<KafkaOffset> => {
      try {
        this.onSync?.('data', activePath);
        const outcomes = await Promise.allSettled([fdatasyncAsync(fd), syncSealedFiles()]);
        for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
        if (target > this.durableOffset) this.durableOffset = target;
        await this.advanceRecoveryPoint();
        return asKafkaOffset(this.durableOffset);
      } catch (error) {
        if (error instanceof LogStorageError) throw error;
        this.storageError = new LogStorageError(`fsync in ${this.dir} failed; appends are refused until the log is reopened`, error);
        this.logger.error({ dir: this.dir, err: error }, 'fsync failed');
        throw this.storageError;
      } finally {
        this.syncsRunning--;
        if (this.syncsRunning === 0) this.closeRetiredFds();
      }
    })();
  }

  private closeRetiredFds(): void {
    for (const fd of this.retiredFds.splice(0)) closeSync(fd);
  }

  /** Segments below the first not-yet-synced one need no CRC scan after a crash; persist that point when it moves. */
  private async advanceRecoveryPoint(): Promise<void> {
    const point = this.unsynced.length > 0 ? this.unsynced[0]!.baseOffset : this.active.baseOffset;
    if (point <= this.recoveryPoint) return;
    this.recoveryPoint = point;
    await writeFileDurably(`${this.dir}/${RECOVERY_POINT_FILE}`, encodeOffsetCheckpoint(point), this.onSync);
  }

  // ---------------------------------------------------------------- read

  /** Reads whole batches starting at the one containing `offset`; see ReadResult. */
  async read(offset: number, maxBytes: number, options: ReadOptions = {}): Promise<ReadResult> {
    if (this.state === 'closed') throw new LogClosedError(this.dir);
    requireSafeInteger('offset', offset, 0);
    requireSafeInteger('maxBytes', maxBytes, 0);
    const minOneBatch = options.minOneBatch ?? true;
    for (let attempt = 0; ; attempt++) {
      const logEnd = this.active.nextOffset;
      if (offset < this.startOffset || offset > logEnd) return this.outOfRange();
      const maxOffset = Math.min(options.maxOffset === undefined ? logEnd : requireSafeInteger('maxOffset', options.maxOffset, 0), logEnd);
      if (offset >= maxOffset) return { kind: 'records', records: EMPTY, nextOffset: asKafkaOffset(offset) };
      const segment = this.segments[this.segmentIndexFor(offset)]!;
      try {
        return await this.readFromSegment(segment, offset, maxBytes, maxOffset, minOneBatch);
      } catch (error) {
        if (attempt > 0) throw error;
        if (error instanceof IndexMismatchError && segment.sealed) {
          // A corrupt index file that passed the sanity checks: drop it and rebuild from the log on the retry.
          this.logger.warn({ dir: this.dir, segment: segment.baseOffset, err: error }, 'offset index does not match the log; rebuilding');
          segment.indexes = null;
          await unlinkIfExists(segment.paths.offsetIndex);
          continue;
        }
        // The segment was deleted by retention between the lookup and the open: look again.
        if (!isNotFound(error)) throw error;
      }
    }
  }

  private outOfRange(): ReadResult {
    return { kind: 'offsetOutOfRange', logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset };
  }

  /** Index of the segment holding `offset` (the last one whose base offset is <= offset). */
  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    let found = 0;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  private async readFromSegment(segment: Segment, offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): Promise<ReadResult> {
    const endPosition = segment.sizeBytes; // captured before any await: every byte below it is written
    const handle = await segment.readHandle.acquire();
    try {
      const indexes = await this.loadIndexes(segment);
      const { indexIntervalBytes } = this.config;
      const result = await readSegmentBatches(handle, segment, indexes, { offset, maxBytes, maxOffset, minOneBatch, endPosition, indexIntervalBytes });
      return { kind: 'records', records: result.records, nextOffset: asKafkaOffset(result.nextOffset) };
    } finally {
      segment.readHandle.release();
    }
  }

  /** The segment's indexes, loading them from files (or rebuilding them by a scan) on first use. */
  private loadIndexes(segment: Segment): Promise<SegmentIndexes> {
    if (segment.indexes !== null) return Promise.resolve(segment.indexes);
    let loading = this.indexLoads.get(segment);
    if (loading === undefined) {
      loading = loadSealedIndexes(this.recoveryContext, segment)
        .then((indexes) => {
          segment.indexes = indexes;
          this.keepIndexesLoaded(segment);
          return indexes;
        })
        .finally(() => this.indexLoads.delete(segment));
      this.indexLoads.set(segment, loading);
    }
    return loading;
  }

  /** Marks a sealed segment's indexes as recently used and drops the indexes of the least recently used beyond the cap. */
  private keepIndexesLoaded(segment: Segment): void {
    const list = this.sealedWithIndexes.filter((entry) => entry !== segment);
    list.push(segment);
    while (list.length > LOADED_SEALED_INDEXES_MAX) {
      const evicted = list.shift()!;
      if (evicted.sealed) evicted.indexes = null;
    }
    this.sealedWithIndexes = list;
  }

  // ---------------------------------------------------------------- timestamps, headers

  /**
   * The first offset whose record timestamp is >= timestampMs (and >= logStartOffset), with that timestamp;
   * null when every record is older. Exact for uncompressed batches; for compressed or LogAppendTime batches the
   * batch's base offset and max timestamp (the log never decompresses).
   */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampLookupResult | null> {
    if (this.state === 'closed') throw new LogClosedError(this.dir);
    requireSafeInteger('timestampMs', timestampMs, Number.MIN_SAFE_INTEGER);
    for (const segment of [...this.segments]) {
      if (segment.isEmpty || segment.nextOffset <= this.startOffset || segment.maxTimestampMs < timestampMs) continue;
      const endPosition = segment.sizeBytes;
      const handle = await acquireUnlessDeleted(segment);
      if (handle === null) continue; // deleted by retention meanwhile
      try {
        const indexes = await this.loadIndexes(segment);
        const found = await findTimestampInSegment(handle, indexes, timestampMs, this.startOffset, endPosition);
        if (found !== null) return { offset: asKafkaOffset(Math.max(found.offset, this.startOffset)), timestampMs: found.timestampMs };
      } finally {
        segment.readHandle.release();
      }
    }
    return null;
  }

  /**
   * Calls `visitor` with the header of every batch whose last offset is >= fromOffset, in offset order, up to the
   * log end at the time of the call (for rebuilding idempotent-producer state). Stops early when it returns false.
   */
  async scanBatchHeaders(fromOffset: number, visitor: BatchHeaderVisitor): Promise<void> {
    if (this.state === 'closed') throw new LogClosedError(this.dir);
    requireSafeInteger('fromOffset', fromOffset, 0);
    const from = Math.max(fromOffset, this.startOffset);
    const logEnd = this.active.nextOffset;
    if (from >= logEnd) return;
    const segments = this.segments.slice(this.segmentIndexFor(from));
    for (const segment of segments) {
      const endPosition = segment.sizeBytes;
      if (endPosition === 0) continue;
      let stopped = false;
      const handle = await acquireUnlessDeleted(segment);
      if (handle === null) continue; // deleted by retention meanwhile
      try {
        const startPosition = segment.baseOffset >= from ? 0 : (await this.loadIndexes(segment)).offsetIndex.lookup(from - segment.baseOffset);
        await walkBatchHeaders(handle, startPosition, endPosition, (bytes, at) => {
          const info = readBatchHeaderInfo(bytes, at);
          if (info.lastOffset < from) return true;
          if (info.baseOffset >= logEnd) {
            stopped = true;
            return false;
          }
          if (visitor(info) === false) {
            stopped = true;
            return false;
          }
          return true;
        });
      } finally {
        segment.readHandle.release();
      }
      if (stopped) return;
    }
  }

  // ---------------------------------------------------------------- retention, delete records

  /**
   * Deletes whole sealed segments: oldest first while their max timestamp is older than retentionMs, and while the
   * log without them is still at least retentionBytes. Advances (and persists) logStartOffset.
   */
  applyRetention(nowMs: number): Promise<RetentionResult> {
    requireSafeInteger('nowMs', nowMs, Number.MIN_SAFE_INTEGER);
    return this.exclusive(async () => {
      this.ensureWritable();
      const { retentionMs, retentionBytes } = this.config;
      let count = 0;
      const sealedCount = this.segments.length - 1;
      if (retentionMs >= 0) {
        while (count < sealedCount && this.segments[count]!.maxTimestampMs < nowMs - retentionMs) count++;
      }
      if (retentionBytes >= 0) {
        let size = this.sizeBytes;
        for (let i = 0; i < count; i++) size -= this.segments[i]!.sizeBytes;
        while (count < sealedCount && size - this.segments[count]!.sizeBytes >= retentionBytes) {
          size -= this.segments[count]!.sizeBytes;
          count++;
        }
      }
      const deletedBytes = await this.deleteOldestSegments(count);
      return { deletedSegments: count, deletedBytes, logStartOffset: this.logStartOffset };
    });
  }

  /**
   * Advances logStartOffset to `offset` (persisted before anything is deleted) and deletes the segments wholly
   * below it. Offsets above logEndOffset are out of range; offsets at or below logStartOffset change nothing.
   */
  deleteRecordsBefore(offset: number): Promise<DeleteRecordsResult> {
    requireSafeInteger('offset', offset, 0);
    return this.exclusive(async () => {
      this.ensureWritable();
      if (offset > this.active.nextOffset) {
        return { kind: 'offsetOutOfRange', logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset };
      }
      if (offset <= this.startOffset) return { kind: 'ok', logStartOffset: this.logStartOffset };
      await this.persistLogStartOffset(offset);
      this.startOffset = offset;
      if (!this.active.isEmpty && this.active.nextOffset <= offset) this.roll();
      let count = 0;
      while (count < this.segments.length - 1 && this.segments[count + 1]!.baseOffset <= offset) count++;
      await this.deleteOldestSegments(count);
      return { kind: 'ok', logStartOffset: this.logStartOffset };
    });
  }

  private async persistLogStartOffset(offset: number): Promise<void> {
    await writeFileDurably(`${this.dir}/${LOG_START_OFFSET_FILE}`, encodeOffsetCheckpoint(offset), this.onSync);
  }

  /** Removes the `count` oldest (sealed) segments; returns the bytes freed. */
  private async deleteOldestSegments(count: number): Promise<number> {
    if (count === 0) return 0;
    if (count >= this.segments.length) throw new Error('invariant: the active segment is never deleted');
    const removed = this.segments.slice(0, count);
    const newStart = this.segments[count]!.baseOffset;
    if (newStart > this.startOffset) {
      await this.persistLogStartOffset(newStart);
      this.startOffset = newStart;
    }
    this.segments = this.segments.slice(count);
    const removedBases = new Set(removed.map((segment) => segment.baseOffset));
    this.unsynced = this.unsynced.filter((entry) => !removedBases.has(entry.baseOffset));
    this.sealedWithIndexes = this.sealedWithIndexes.filter((segment) => !removedBases.has(segment.baseOffset));
    let bytes = 0;
    for (const segment of removed) {
      segment.readHandle.retire();
      bytes += segment.sizeBytes;
      await unlinkIfExists(segment.paths.log);
      await unlinkIfExists(segment.paths.offsetIndex);
      await unlinkIfExists(segment.paths.timeIndex);
    }
    await fsyncDirectory(this.dir, this.onSync);
    this.logger.info({ dir: this.dir, deletedSegments: count, deletedBytes: bytes, logStartOffset: this.startOffset }, 'deleted segments');
    return bytes;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.maintenance.then(work, work);
    this.maintenance = result.catch(() => undefined);
    return result;
  }

  // ---------------------------------------------------------------- close, delete

  /**
   * Flushes everything (whatever the fsync policy), writes the active segment's index files and a clean-shutdown
   * marker so the next open skips scanning. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutDown(true);
    return this.closing;
  }

  /** Closes the log and removes its directory (topic deletion). */
  async deleteAll(): Promise<void> {
    if (this.closing === null) this.closing = this.shutDown(false);
    await this.closing;
    await rm(this.dir, { recursive: true, force: true });
  }

  private async shutDown(clean: boolean): Promise<void> {
    this.state = 'closing';
    this.scheduler.unregister(this);
    await this.maintenance;
    await this.commits.drain();
    if (clean && this.storageError === null) {
      try {
        await this.commits.request(false);
        if (this.activeFileBytes > this.active.sizeBytes) {
          // The clean-open path trusts the file size: cut the zeros off, durably, before the marker says clean.
          this.trimPreallocated();
          this.onSync?.('data', this.active.paths.log);
          await fdatasyncAsync(this.activeFd);
        }
        await writeSealedIndexFiles(this.recoveryContext, this.active);
        await writeFileDurably(`${this.dir}/${CLEAN_SHUTDOWN_FILE}`, '', this.onSync);
      } catch (error) {
        this.logger.error({ dir: this.dir, err: error }, 'clean shutdown failed; the next open will run recovery');
      }
    }
    this.closeAllFds();
    for (const segment of this.segments) segment.readHandle.retire();
    await Promise.all(this.segments.map((segment) => segment.readHandle.whenClosed()));
    this.state = 'closed';
    openDirectories.delete(this.registryKey);
  }

  /** Test support (see simulateCrash): drop everything without syncing, as a killed process would. */
  private abandon(): void {
    this.state = 'closed';
    this.scheduler.unregister(this);
    this.closeAllFds();
    for (const segment of this.segments) segment.readHandle.retire();
    openDirectories.delete(this.registryKey);
  }

  private closeAllFds(): void {
    this.closeRetiredFds();
    if (this.activeFd >= 0) {
      closeSync(this.activeFd);
      this.activeFd = -1;
    }
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const recovered = await recoverLogDirectory(this.recoveryContext);
    this.segments = recovered.segments;
    this.startOffset = recovered.logStartOffset;
    this.recoveryPoint = recovered.recoveryPoint;
    for (const segment of this.segments) {
      if (!segment.sealed) continue;
      segment.readHandle.retire();
      if (segment.indexes !== null) this.keepIndexesLoaded(segment);
    }
    const active = this.active;
    this.activeFd = openSync(active.paths.log, 'r+');
    this.activeFileBytes = fstatSync(this.activeFd).size;
    if (this.activeFileBytes !== active.sizeBytes) {
      throw new LogStorageError(`active segment ${active.paths.log} holds ${this.activeFileBytes} bytes after recovery, expected ${active.sizeBytes}`);
    }
    if (!recovered.clean) {
      // What we recovered may sit only in the page cache of a process that died: make it durable before saying so.
      this.onSync?.('data', active.paths.log);
      await fdatasyncAsync(this.activeFd);
    }
    this.durableOffset = active.nextOffset;
    this.logger.info(
      { dir: this.dir, clean: recovered.clean, segments: this.segments.length, logStartOffset: this.startOffset, logEndOffset: active.nextOffset },
      'opened partition log',
    );
  }
}

function writeIndexFileSync(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, written);
  } finally {
    closeSync(fd);
  }
}

/**
 * For crash tests only: abandons `log` as a killed process would (no flush, no index files, no clean-shutdown
 * marker), releasing its descriptors and its claim on the directory so it can be reopened. Not exported from the
 * package entry point. Must not be called while a flush is in flight.
 */
export function simulateCrash(log: PartitionLog): void {
  log['abandon']();
}

/** The segment's shared read handle, or null when retention deleted its file after the caller listed it. */
async function acquireUnlessDeleted(segment: Segment): Promise<FileHandle | null> {
  try {
    return await segment.readHandle.acquire();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}
