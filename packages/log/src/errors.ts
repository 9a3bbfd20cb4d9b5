/** Base class of every error this package throws. `code` is stable and meant for programs. */
export class LogError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The configuration given to `PartitionLog.open` is invalid. */
export class LogConfigError extends LogError {
  constructor(message: string) {
    super('LOG_CONFIG_INVALID', message);
  }
}

/** Bytes given to `append` are not well-framed magic v2 record batches (a caller bug: the broker validates first). */
export class InvalidBatchError extends LogError {
  readonly position: number;
  constructor(position: number, message: string) {
    super('LOG_INVALID_BATCH', `invalid record batch at byte ${position}: ${message}`);
    this.position = position;
  }
}

/** An argument is out of its domain (negative maxBytes, non-integer offset, ...). */
export class LogArgumentError extends LogError {
  constructor(message: string) {
    super('LOG_INVALID_ARGUMENT', message);
  }
}

/** The log was closed (or deleted) and cannot be used any more. */
export class LogClosedError extends LogError {
  constructor(dir: string) {
    super('LOG_CLOSED', `partition log ${dir} is closed`);
  }
}

/**
 * A write or fsync failed. After a failed fsync the log refuses further appends: the kernel may have dropped
 * the dirty pages, so nothing written since the last successful flush can be trusted (the broker should
 * close the log and reopen it, which runs recovery).
 */
export class LogStorageError extends LogError {
  constructor(message: string, cause?: unknown) {
    super('LOG_STORAGE_FAILED', message, { cause });
  }
}

/** The directory is already open in this process (two instances would corrupt each other's segments). */
export class LogAlreadyOpenError extends LogError {
  constructor(dir: string) {
    super('LOG_ALREADY_OPEN', `partition log ${dir} is already open in this process`);
  }
}
