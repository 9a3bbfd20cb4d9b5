export { kafkaOffset, type KafkaOffset } from './offset.js';
export { DEFAULT_LOG_CONFIG, validateLogConfig, type FsyncPolicy, type LogConfig } from './config.js';
export { InvalidBatchError, LogAlreadyOpenError, LogArgumentError, LogClosedError, LogConfigError, LogError, LogStorageError } from './errors.js';
export { PartitionLog } from './partition-log.js';
export type {
  AppendOptions,
  AppendResult,
  BatchHeaderVisitor,
  DeleteRecordsResult,
  PartitionLogOptions,
  ReadOptions,
  ReadResult,
  RetentionResult,
  SegmentSummary,
  TimestampLookupResult,
} from './partition-log-types.js';
export type { LogLogger } from './log-logger.js';
export type { BatchHeaderInfo } from './batch-header.js';
export { FlushScheduler, sharedFlushScheduler, type IntervalFlushable } from './flush-scheduler.js';
export type { SyncKind, SyncObserver } from './durable-file.js';
export { ReadBufferPool, releaseReadBuffer, sharedReadBufferPool } from './read-buffer-pool.js';
