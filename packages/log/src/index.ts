export { kafkaOffset, type KafkaOffset } from './offset.js';
export { DEFAULT_LOG_CONFIG, validateLogConfig, type FsyncPolicy, type LogConfig } from './config.js';
export { InvalidBatchError, LogArgumentError, LogClosedError, LogConfigError, LogError, LogStorageError } from './errors.js';
export {
  PartitionLog,
  type AppendOptions,
  type AppendResult,
  type BatchHeaderVisitor,
  type DeleteRecordsResult,
  type LogLogger,
  type PartitionLogOptions,
  type ReadOptions,
  type ReadResult,
  type RetentionResult,
} from './partition-log.js';
export { type BatchHeaderInfo } from './batch-header.js';
export { FlushScheduler, sharedFlushScheduler } from './flush-scheduler.js';
export { type SyncKind, type SyncObserver } from './durable-file.js';
