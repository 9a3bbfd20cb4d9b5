/**
 * PartitionLog: the durable, segmented log of one Kafka partition.
 *
 * Concurrency model: append() is synchronous (one positional write of the caller's bytes into the page cache),
 * so appends are totally ordered; reads, flushes, retention and recovery are asynchronous. Reads open their own
 * file handle so a segment deleted or rolled meanwhile never pulls an fd from under them. The only fd a partition
 * keeps open is its active segment's (plus, briefly, a retired one awaiting an in-flight fsync).
 */
import { closeSync, fdatasync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import {
  ATTRIBUTES_AT, BATCH_HEADER_BYTES, LAST_OFFSET_DELTA_AT, MAX_TIMESTAMP_AT, TIMESTAMP_TYPE_LOG_APPEND_TIME,
  batchBaseOffset, batchLastOffset, batchMaxTimestamp, checkBatchFraming, readBatchHeaderInfo, rewriteBatchCrc,
  writeInt64, type BatchHeaderInfo,
} from './batch-header.js';
import { validateLogConfig, type LogConfig } from './config.js';
import {
  decodeOffsetCheckpoint, encodeOffsetCheckpoint, fsyncDirectory, fsyncPath, isNotFound, readFileIfExists,
  unlinkIfExists, writeFileDurably, type SyncObserver,
} from './durable-file.js';
import { InvalidBatchError, LogArgumentError, LogClosedError, LogStorageError } from './errors.js';
import { sharedFlushScheduler, type FlushScheduler, type IntervalFlushable } from './flush-scheduler.js';
import { OffsetIndex } from './offset-index.js';
import { asKafkaOffset, type KafkaOffset } from './offset.js';
import { firstRecordAtOrAfter } from './record-timestamps.js';
import { Segment } from './segment.js';
import {
  CLEAN_SHUTDOWN_FILE, LOG_START_OFFSET_FILE, OFFSET_INDEX_SUFFIX, RECOVERY_POINT_FILE, TEMP_SUFFIX, TIME_INDEX_SUFFIX,
  parseSegmentLogName, segmentFileStem,
} from './segment-files.js';
import { readAt, scanAndIndexSegment, walkBatchHeaders } from './segment-scan.js';
import { TimeIndex } from './time-index.js';

/** Structured logger, pino-compatible (`logger.warn({ ...fields }, 'message')`). */
export interface LogLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface PartitionLogOptions {
  /** Called just before every fsync/fdatasync this log issues (tests count them). */
  readonly onSync?: SyncObserver;
  /** Scheduler for fsyncPolicy 'interval' (default: one shared by the process). */
  readonly flushScheduler?: FlushScheduler;
  /** Clock for time-based rolling when append() gets no nowMs (default Date.now). */
  readonly nowMs?: () => number;
}

export interface AppendOptions {
  /** The broker's current time (ms); used for LogAppendTime and time-based rolling. Default: the clock. */
  readonly nowMs?: number;
  /** Stamp every batch with LogAppendTime = nowMs (sets attributes bit 3 and maxTimestamp, recomputes the CRC). */
  readonly logAppendTime?: boolean;
}

export interface AppendResult {
  readonly baseOffset: KafkaOffset;
  readonly lastOffset: KafkaOffset;
  /** nowMs when logAppendTime was asked for, else -1 (as Kafka reports it). */
  readonly logAppendTimeMs: number;
  readonly batchCount: number;
}

export interface ReadOptions {
  /** Exclusive upper bound (the high watermark): no batch whose last offset is >= maxOffset is returned. */
  readonly maxOffset?: number;
  /** Return the first batch even if it is larger than maxBytes (default true, as Kafka does for the first partition). */
  readonly minOneBatch?: boolean;
}

/**
 * `records` holds whole batches exactly as stored, starting with the batch that contains the requested offset
 * (which may start before it); `nextOffset` is the offset after the last returned batch (the requested offset when
 * nothing is returned). Reads outside [logStartOffset, logEndOffset] are an expected outcome, not an exception.
 */
export type ReadResult =
  | { readonly kind: 'records'; readonly records: Buffer; readonly nextOffset: KafkaOffset }
  | { readonly kind: 'offsetOutOfRange'; readonly logStartOffset: KafkaOffset; readonly logEndOffset: KafkaOffset };

export type DeleteRecordsResult =
  | { readonly kind: 'ok'; readonly logStartOffset: KafkaOffset }
  | { readonly kind: 'offsetOutOfRange'; readonly logStartOffset: KafkaOffset; readonly logEndOffset: KafkaOffset };

export interface RetentionResult {
  readonly deletedSegments: number;
  readonly deletedBytes: number;
  readonly logStartOffset: KafkaOffset;
}

/** What `scanBatchHeaders` hands its visitor for each batch; return false to stop. */
export type BatchHeaderVisitor = (header: BatchHeaderInfo) => boolean | void;

const INT32_MAX = 0x7fffffff;
const READ_SLACK_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

const silentLogger: LogLogger = { info() {}, warn() {}, error() {} };

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

  private segments: Segment[] = [];
  private activeFd = -1;
  private startOffset = 0;
  private durableOffset = 0;
  private recoveryPoint = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private storageError: LogStorageError | null = null;

  // group commit
  private syncInFlight: Promise<KafkaOffset> | null = null;
  private syncInFlightTarget = -1;
  private syncQueued: Promise<KafkaOffset> | null = null;
  private syncsRunning = 0;
  private syncCounter = 0;
  private syncInFlightId = 0;
  private unsynced: UnsyncedSegment[] = [];
  private directoryDirty = false;
  private retiredFds: number[] = [];

  private readonly indexLoads = new WeakMap<Segment, Promise<NonNullable<Segment['indexes']>>>();
  private maintenance: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, config: LogConfig, logger: LogLogger | undefined, options: PartitionLogOptions) {
    this.dir = dir;
    this.config = config;
    this.logger = logger ?? silentLogger;
    this.onSync = options.onSync;
    this.scheduler = options.flushScheduler ?? sharedFlushScheduler;
    this.clock = options.nowMs ?? Date.now;
  }

  /** Opens (creating if needed) the log in `dir` and runs recovery. */
  static async open(dir: string, config: LogConfig, logger?: LogLogger, options: PartitionLogOptions = {}): Promise<PartitionLog> {
    validateLogConfig(config);
    await mkdir(dir, { recursive: true });
    const log = new PartitionLog(dir, config, logger, options);
    await log.recover();
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
    } catch (error) {
      // Undo a partial write so the segment never holds a torn batch we know about.
      try {
        ftruncateSync(this.activeFd, position);
      } catch (truncateError) {
        this.storageError = new LogStorageError(`write to ${this.active.paths.log} failed and could not be undone`, truncateError);
      }
      throw new LogStorageError(`write of ${bytes.length} bytes to ${this.active.paths.log} failed`, error);
    }
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
      writeIndexFileSync(old.paths.offsetIndex, indexes.offsetIndex.toBuffer());
      writeIndexFileSync(old.paths.timeIndex, indexes.timeIndex.toBuffer());
      fd = openSync(next.paths.log, 'w+');
    } catch (error) {
      this.storageError = new LogStorageError(`rolling segment ${old.baseOffset} failed`, error);
      throw this.storageError;
    }
    old.sealed = true;
    this.retireFd(this.activeFd);
    this.activeFd = fd;
    this.segments.push(next);
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
    if (this.syncQueued !== null) return this.syncQueued;
    if (this.syncInFlight === null) return this.startSync();
    if (this.syncInFlightTarget >= this.active.nextOffset && this.unsynced.length === 0 && !this.directoryDirty) {
      return this.syncInFlight;
    }
    const queued = this.syncInFlight
      .catch(() => undefined)
      .then(() => {
        this.syncQueued = null;
        return this.startSync();
      });
    this.syncQueued = queued;
    return queued;
  }

  private startSync(): Promise<KafkaOffset> {
    if (this.storageError !== null) return Promise.reject(this.storageError);
    const target = this.active.nextOffset;
    const activePath = this.active.paths.log;
    const fd = this.activeFd;
    const files = this.unsynced;
    this.unsynced = [];
    const syncDirectory = this.directoryDirty;
    this.directoryDirty = false;
    this.syncsRunning++;
    this.syncInFlightTarget = target;
    const syncId = ++this.syncCounter;
    const run = (async (): Promise<KafkaOffset> => {
      try {
        this.onSync?.('data', activePath);
        const syncSealedFiles = async (): Promise<void> => {
          for (const segment of files) {
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
        if (this.syncInFlightId === syncId) this.syncInFlight = null;
        if (this.syncsRunning === 0) this.closeRetiredFds();
      }
    })();
    this.syncInFlight = run;
    this.syncInFlightId = syncId;
    return run;
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
        // The segment was deleted by retention between the lookup and the open: look again.
        if (!isNotFound(error) || attempt > 0) throw error;
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
    const endPosition = segment.sizeBytes; // captured before any await: bytes below it are written
    const handle = await open(segment.paths.log, 'r');
    try {
      const indexes = await this.loadIndexes(segment);
      const indexedPosition = indexes.offsetIndex.lookup(offset - segment.baseOffset);
      const windowBytes = Math.min(endPosition - indexedPosition, maxBytes + this.config.indexIntervalBytes + READ_SLACK_BYTES);
      let window = await readAt(handle, indexedPosition, windowBytes);
      let windowStart = indexedPosition;
      const header = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
      // Returns [totalBytes, lastOffset] of the batch at `position`, from the window or a small read.
      const batchAt = async (position: number): Promise<[number, number]> => {
        if (position < windowStart || position + BATCH_HEADER_BYTES > windowStart + window.length) {
          const bytes = await readAt(handle, position, BATCH_HEADER_BYTES, header);
          if (bytes.length < BATCH_HEADER_BYTES) throw new LogStorageError(`segment ${segment.paths.log} shorter than expected at ${position}`);
          return [12 + bytes.readInt32BE(8), batchLastOffset(bytes, 0)];
        }
        const at = position - windowStart;
        return [12 + window.readInt32BE(at + 8), batchLastOffset(window, at)];
      };

      // Skip to the batch containing `offset`.
      let position = indexedPosition;
      for (;;) {
        if (position >= endPosition) return { kind: 'records', records: EMPTY, nextOffset: asKafkaOffset(offset) };
        const [total, lastOffset] = await batchAt(position);
        if (lastOffset >= offset) break;
        position += total;
        if (position + BATCH_HEADER_BYTES > windowStart + window.length && position < endPosition) {
          // Slide the window forward (only after a long skip).
          window = await readAt(handle, position, Math.min(endPosition - position, maxBytes + READ_SLACK_BYTES));
          windowStart = position;
        }
      }

      // Take whole batches within maxBytes and below maxOffset.
      const start = position;
      let nextOffset = offset;
      while (position < endPosition) {
        const [total, lastOffset] = await batchAt(position);
        if (lastOffset >= maxOffset) break;
        const taken = position - start;
        if (taken + total > maxBytes && !(taken === 0 && minOneBatch)) break;
        position += total;
        nextOffset = lastOffset + 1;
      }
      const length = position - start;
      if (length === 0) return { kind: 'records', records: EMPTY, nextOffset: asKafkaOffset(offset) };
      let records: Buffer;
      if (start >= windowStart && position <= windowStart + window.length) {
        records = window.subarray(start - windowStart, position - windowStart);
      } else {
        records = await readAt(handle, start, length);
        if (records.length !== length) throw new LogStorageError(`segment ${segment.paths.log} shorter than expected`);
      }
      return { kind: 'records', records, nextOffset: asKafkaOffset(nextOffset) };
    } finally {
      await handle.close();
    }
  }

  /** The segment's indexes, loading them from files (or rebuilding them by a scan) on first use. */
  private loadIndexes(segment: Segment): Promise<NonNullable<Segment['indexes']>> {
    if (segment.indexes !== null) return Promise.resolve(segment.indexes);
    let loading = this.indexLoads.get(segment);
    if (loading === undefined) {
      loading = this.loadIndexFiles(segment).finally(() => this.indexLoads.delete(segment));
      this.indexLoads.set(segment, loading);
    }
    return loading;
  }

  private async loadIndexFiles(segment: Segment): Promise<NonNullable<Segment['indexes']>> {
    const [offsetBytes, timeBytes] = await Promise.all([readFileIfExists(segment.paths.offsetIndex), readFileIfExists(segment.paths.timeIndex)]);
    const offsetIndex = offsetBytes === null ? null : OffsetIndex.fromFile(offsetBytes, segment.sizeBytes);
    const timeIndex = timeBytes === null ? null : TimeIndex.fromFile(timeBytes, segment.nextOffset - segment.baseOffset);
    if (offsetIndex !== null && timeIndex !== null) {
      segment.indexes = { offsetIndex, timeIndex };
      return segment.indexes;
    }
    this.logger.warn({ dir: this.dir, segment: segment.baseOffset, offsetIndexOk: offsetIndex !== null, timeIndexOk: timeIndex !== null }, 'index files missing or corrupt; rebuilding');
    const rebuilt = await this.rebuildSealedSegment(segment);
    segment.indexes = rebuilt;
    return rebuilt;
  }

  /** Rescans a sealed segment to rebuild its indexes and rewrites the index files. */
  private async rebuildSealedSegment(segment: Segment): Promise<NonNullable<Segment['indexes']>> {
    const scratch = new Segment(this.dir, segment.baseOffset, true);
    const handle = await open(segment.paths.log, 'r');
    try {
      const result = await scanAndIndexSegment(handle, scratch, segment.sizeBytes, this.config.indexIntervalBytes);
      if (result.problem !== null || scratch.sizeBytes !== segment.sizeBytes) {
        throw new LogStorageError(`sealed segment ${segment.paths.log} is corrupt at byte ${result.validBytes}: ${result.problem ?? 'short'}`);
      }
    } finally {
      await handle.close();
    }
    scratch.completeTimeIndex();
    const indexes = scratch.indexes!;
    await writeIndexFile(segment.paths.offsetIndex, indexes.offsetIndex.toBuffer());
    await writeIndexFile(segment.paths.timeIndex, indexes.timeIndex.toBuffer());
    return indexes;
  }

  // ---------------------------------------------------------------- timestamps, headers

  /**
   * The first offset whose record timestamp is >= timestampMs (and >= logStartOffset), with that timestamp;
   * null when every record is older. Exact for uncompressed batches; for compressed or LogAppendTime batches the
   * batch's base offset and max timestamp (the log never decompresses).
   */
  async offsetForTimestamp(timestampMs: number): Promise<{ offset: KafkaOffset; timestampMs: number } | null> {
    if (this.state === 'closed') throw new LogClosedError(this.dir);
    requireSafeInteger('timestampMs', timestampMs, Number.MIN_SAFE_INTEGER);
    for (const segment of [...this.segments]) {
      if (segment.isEmpty || segment.nextOffset <= this.startOffset || segment.maxTimestampMs < timestampMs) continue;
      const found = await this.findTimestampInSegment(segment, timestampMs);
      if (found !== null) {
        const offset = Math.max(found.offset, this.startOffset);
        return { offset: asKafkaOffset(offset), timestampMs: found.timestampMs };
      }
    }
    return null;
  }

  private async findTimestampInSegment(segment: Segment, timestampMs: number): Promise<{ offset: number; timestampMs: number } | null> {
    const endPosition = segment.sizeBytes;
    const handle = await open(segment.paths.log, 'r');
    try {
      const indexes = await this.loadIndexes(segment);
      const relative = indexes.timeIndex.scanStartFor(timestampMs);
      const startPosition = indexes.offsetIndex.lookup(relative);
      let found: { position: number; total: number } | null = null;
      const logStart = this.startOffset;
      await walkBatchHeaders(handle, startPosition, endPosition, (bytes, at, position, total) => {
        if (batchMaxTimestamp(bytes, at) >= timestampMs && batchLastOffset(bytes, at) >= logStart) {
          found = { position, total };
          return false;
        }
        return true;
      });
      if (found === null) return null;
      const { position, total } = found;
      const batch = await readAt(handle, position, total);
      return firstRecordAtOrAfter(batch, 0, total, timestampMs);
    } finally {
      await handle.close();
    }
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
      const indexes = await this.loadIndexes(segment);
      const startPosition = segment.baseOffset >= from ? 0 : indexes.offsetIndex.lookup(from - segment.baseOffset);
      let stopped = false;
      let handle: FileHandle;
      try {
        handle = await open(segment.paths.log, 'r');
      } catch (error) {
        if (isNotFound(error)) continue; // deleted by retention meanwhile
        throw error;
      }
      try {
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
        await handle.close();
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
    let bytes = 0;
    for (const segment of removed) {
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
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.scheduler.unregister(this);
    await this.maintenance;
    await this.drainSyncs();
    let clean = this.storageError === null;
    if (clean) {
      try {
        await this.startSync();
        const active = this.active;
        active.completeTimeIndex();
        await writeIndexFile(active.paths.offsetIndex, active.indexes!.offsetIndex.toBuffer());
        await writeIndexFile(active.paths.timeIndex, active.indexes!.timeIndex.toBuffer());
        await fsyncPath(active.paths.offsetIndex, 'file', this.onSync);
        await fsyncPath(active.paths.timeIndex, 'file', this.onSync);
        await writeFileDurably(`${this.dir}/${CLEAN_SHUTDOWN_FILE}`, '', this.onSync);
      } catch (error) {
        clean = false;
        this.logger.error({ dir: this.dir, err: error }, 'clean shutdown failed; the next open will run recovery');
      }
    }
    this.closeAllFds();
    this.state = 'closed';
  }

  /** Closes the log and removes its directory (topic deletion). */
  async deleteAll(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      this.scheduler.unregister(this);
      await this.maintenance;
      await this.drainSyncs();
    }
    if (this.state !== 'closed') this.closeAllFds();
    this.state = 'closed';
    await rm(this.dir, { recursive: true, force: true });
  }

  private async drainSyncs(): Promise<void> {
    while (this.syncQueued !== null || this.syncInFlight !== null) {
      await (this.syncQueued ?? this.syncInFlight)!.catch(() => undefined);
    }
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
    const names = await readdir(this.dir);
    const clean = names.includes(CLEAN_SHUTDOWN_FILE);
    if (clean) {
      // Remove the marker durably before anything can be appended, or a later crash would look clean.
      await unlink(`${this.dir}/${CLEAN_SHUTDOWN_FILE}`);
      await fsyncDirectory(this.dir, this.onSync);
    }
    for (const name of names) {
      if (name.endsWith(TEMP_SUFFIX)) await unlinkIfExists(`${this.dir}/${name}`);
    }
    const bases = names.map(parseSegmentLogName).filter((base): base is number => base !== null).sort((a, b) => a - b);
    const stems = new Set(bases.map(segmentFileStem));
    for (const name of names) {
      const stem = name.endsWith(OFFSET_INDEX_SUFFIX) ? name.slice(0, -OFFSET_INDEX_SUFFIX.length) : name.endsWith(TIME_INDEX_SUFFIX) ? name.slice(0, -TIME_INDEX_SUFFIX.length) : null;
      if (stem !== null && /^\d{20}$/.test(stem) && !stems.has(stem)) await unlinkIfExists(`${this.dir}/${name}`);
    }

    const checkpointBytes = await readFileIfExists(`${this.dir}/${LOG_START_OFFSET_FILE}`);
    let logStartCheckpoint: number | null = null;
    if (checkpointBytes !== null) {
      logStartCheckpoint = decodeOffsetCheckpoint(checkpointBytes);
      if (logStartCheckpoint === null) this.logger.warn({ dir: this.dir }, 'log-start-offset checkpoint is corrupt; using the first segment');
    }
    const recoveryPointBytes = clean ? null : await readFileIfExists(`${this.dir}/${RECOVERY_POINT_FILE}`);
    const recoveryPoint = clean ? Number.POSITIVE_INFINITY : (recoveryPointBytes === null ? null : decodeOffsetCheckpoint(recoveryPointBytes)) ?? 0;
    this.recoveryPoint = Number.isFinite(recoveryPoint) ? recoveryPoint : 0;
    if (!clean) this.logger.info({ dir: this.dir, recoveryPoint }, 'no clean-shutdown marker; recovering');

    const segments: Segment[] = [];
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const isLast = i === bases.length - 1;
      const segment = new Segment(this.dir, base, false);
      const fileStat = await stat(segment.paths.log);
      const fileBytes = fileStat.size;
      // Age for time-based rolling: when the file was created (birth time where the file system records it).
      const createdMs = fileStat.birthtimeMs > 0 ? fileStat.birthtimeMs : fileStat.mtimeMs;
      const previous = segments[segments.length - 1];
      if (!isLast && fileBytes === 0) {
        this.logger.warn({ dir: this.dir, segment: base }, 'removing empty sealed segment');
        await this.removeSegmentFiles(segment);
        continue;
      }
      if (previous !== undefined && previous.nextOffset !== base) {
        this.logger.warn({ dir: this.dir, expectedBaseOffset: previous.nextOffset, segment: base }, 'segment does not continue the log; removing it and every later segment');
        for (const later of bases.slice(i)) await this.removeSegmentFiles(new Segment(this.dir, later, false));
        break;
      }
      const trusted = clean || base < recoveryPoint;
      const nextBase = isLast ? null : bases[i + 1]!;
      const loaded = trusted && (await this.loadTrustedSegment(segment, fileBytes, nextBase));
      if (!loaded) {
        const complete = await this.recoverSegment(segment, fileBytes, isLast);
        if (!complete && !isLast) {
          const dropped = bases.slice(i + 1);
          this.logger.warn({ dir: this.dir, segment: base, removedSegments: dropped }, 'segment was truncated; removing every later segment');
          for (const later of dropped) await this.removeSegmentFiles(new Segment(this.dir, later, false));
          segment.rollTimestampMs = segment.isEmpty ? null : createdMs;
          segments.push(segment);
          break;
        }
      }
      segment.rollTimestampMs = segment.isEmpty ? null : createdMs;
      segments.push(segment);
    }
    if (segments.length > 0) {
      const last = segments[segments.length - 1]!;
      if (last.indexes === null) await this.loadActiveIndexes(last);
    }

    const firstBase = segments.length > 0 ? segments[0]!.baseOffset : (logStartCheckpoint ?? 0);
    let logStart = Math.max(logStartCheckpoint ?? firstBase, firstBase);
    const logEnd = segments.length > 0 ? segments[segments.length - 1]!.nextOffset : firstBase;
    if (logStart > logEnd) {
      this.logger.warn({ dir: this.dir, logStartOffset: logStart, logEndOffset: logEnd }, 'log start offset is past the recovered end; starting an empty log at the start offset');
      for (const segment of segments) await this.removeSegmentFiles(segment);
      segments.length = 0;
    }
    if (segments.length === 0) {
      const segment = new Segment(this.dir, Math.max(logStart, firstBase), true);
      await writeFile(segment.paths.log, EMPTY);
      await fsyncDirectory(this.dir, this.onSync);
      segments.push(segment);
      logStart = segment.baseOffset;
    }
    this.segments = segments;
    for (const segment of segments) segment.sealed = true;
    const active = this.active;
    active.sealed = false;
    active.resumeIndexing();
    this.startOffset = logStart;
    this.activeFd = openSync(active.paths.log, 'r+');
    if (!clean) {
      // What we recovered may sit only in the page cache of a process that died: make it durable before reporting it so.
      this.onSync?.('data', active.paths.log);
      await fdatasyncAsync(this.activeFd);
    }
    this.durableOffset = active.nextOffset;
    this.logger.info({ dir: this.dir, clean, segments: segments.length, logStartOffset: logStart, logEndOffset: active.nextOffset }, 'opened partition log');
  }

  /**
   * A segment that needs no CRC scan: sealed ones get size and max timestamp from their files (indexes load
   * lazily); after a clean shutdown the last one loads both index files and checks its tail framing.
   * Returns false when anything looks wrong (the caller then scans).
   */
  private async loadTrustedSegment(segment: Segment, fileBytes: number, nextBase: number | null): Promise<boolean> {
    segment.sizeBytes = fileBytes;
    if (nextBase !== null) {
      segment.nextOffset = nextBase;
      const timeBytes = await readFileIfExists(segment.paths.timeIndex);
      const timeIndex = timeBytes === null ? null : TimeIndex.fromFile(timeBytes, nextBase - segment.baseOffset);
      if (timeIndex === null || timeIndex.entryCount === 0) return false;
      segment.maxTimestampMs = timeIndex.lastTimestampMs;
      segment.offsetOfMaxTimestamp = segment.baseOffset + timeIndex.lastRelativeOffset;
      return true;
    }
    return this.loadActiveIndexes(segment);
  }

  /** Loads the index files of the last segment and checks them against the file's tail; false if they do not fit. */
  private async loadActiveIndexes(segment: Segment): Promise<boolean> {
    const fileBytes = segment.sizeBytes;
    if (fileBytes === 0) {
      segment.indexes = { offsetIndex: OffsetIndex.empty(), timeIndex: TimeIndex.empty() };
      segment.nextOffset = segment.baseOffset;
      return true;
    }
    const offsetBytes = await readFileIfExists(segment.paths.offsetIndex);
    const offsetIndex = offsetBytes === null ? null : OffsetIndex.fromFile(Buffer.from(offsetBytes), fileBytes);
    if (offsetIndex === null) return false;
    const handle = await open(segment.paths.log, 'r');
    try {
      const last = offsetIndex.last();
      const from = last === null ? 0 : last.position;
      let expected = segment.baseOffset + (last === null ? 0 : last.relativeOffset);
      let consistent = true;
      await walkBatchHeaders(handle, from, fileBytes, (bytes, at) => {
        const info = checkBatchFraming(bytes, at, bytes.length);
        if (!info.ok || batchBaseOffset(bytes, at) !== expected) {
          consistent = false;
          return false;
        }
        expected = batchLastOffset(bytes, at) + 1;
        return true;
      });
      if (!consistent) return false;
      segment.nextOffset = expected;
    } catch {
      return false;
    } finally {
      await handle.close();
    }
    const timeBytes = await readFileIfExists(segment.paths.timeIndex);
    const timeIndex = timeBytes === null ? null : TimeIndex.fromFile(Buffer.from(timeBytes), segment.nextOffset - segment.baseOffset);
    if (timeIndex === null || timeIndex.entryCount === 0) return false;
    segment.maxTimestampMs = timeIndex.lastTimestampMs;
    segment.offsetOfMaxTimestamp = segment.baseOffset + timeIndex.lastRelativeOffset;
    segment.indexes = { offsetIndex, timeIndex };
    return true;
  }

  /**
   * Full validating scan of a segment: truncates at the first torn or corrupt batch and rebuilds the indexes
   * (written to disk for sealed segments). Returns whether the whole file was valid.
   */
  private async recoverSegment(segment: Segment, fileBytes: number, isLast: boolean): Promise<boolean> {
    segment.sizeBytes = 0;
    segment.nextOffset = segment.baseOffset;
    segment.indexes = { offsetIndex: OffsetIndex.empty(), timeIndex: TimeIndex.empty() };
    const handle = await open(segment.paths.log, 'r+');
    let complete: boolean;
    try {
      const result = await scanAndIndexSegment(handle, segment, fileBytes, this.config.indexIntervalBytes);
      complete = result.problem === null;
      if (!complete) {
        this.logger.warn(
          { dir: this.dir, segment: segment.baseOffset, position: result.validBytes, truncatedBytes: fileBytes - result.validBytes, reason: result.problem },
          `recovery truncated ${fileBytes - result.validBytes} bytes at position ${result.validBytes}`,
        );
        await handle.truncate(result.validBytes);
        this.onSync?.('file', segment.paths.log);
        await handle.sync();
      }
    } finally {
      await handle.close();
    }
    if (!isLast && complete) {
      segment.completeTimeIndex();
      await writeIndexFile(segment.paths.offsetIndex, segment.indexes.offsetIndex.toBuffer());
      await writeIndexFile(segment.paths.timeIndex, segment.indexes.timeIndex.toBuffer());
      await fsyncPath(segment.paths.offsetIndex, 'file', this.onSync);
      await fsyncPath(segment.paths.timeIndex, 'file', this.onSync);
    } else {
      // The segment becomes the active one: stale index files would be wrong after truncation.
      await unlinkIfExists(segment.paths.offsetIndex);
      await unlinkIfExists(segment.paths.timeIndex);
    }
    return complete;
  }

  private async removeSegmentFiles(segment: Segment): Promise<void> {
    await unlinkIfExists(segment.paths.log);
    await unlinkIfExists(segment.paths.offsetIndex);
    await unlinkIfExists(segment.paths.timeIndex);
    await fsyncDirectory(this.dir, this.onSync);
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

async function writeIndexFile(path: string, bytes: Buffer): Promise<void> {
  await writeFile(path, bytes);
}
