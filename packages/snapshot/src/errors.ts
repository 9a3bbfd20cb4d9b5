/**
 * Typed errors. Every way a snapshot can be unusable is a distinct class so callers (bootstrap fallback,
 * tests, operators reading logs) can tell a corrupt object from an incompatible one or a missing one.
 */

export type SnapshotErrorCode =
  | 'CORRUPTED_SNAPSHOT'
  | 'INCOMPATIBLE_VERSION'
  | 'SNAPSHOT_NOT_FOUND'
  | 'CHECKSUM_MISMATCH'
  | 'LENGTH_MISMATCH';

export abstract class SnapshotError extends Error {
  abstract readonly code: SnapshotErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad magic, malformed header/trailer/manifest, or a payload that does not decompress. */
export class CorruptedSnapshot extends SnapshotError {
  readonly code = 'CORRUPTED_SNAPSHOT' as const;
}

/** The format version is not one this code can read. */
export class IncompatibleVersion extends SnapshotError {
  readonly code = 'INCOMPATIBLE_VERSION' as const;
  constructor(
    readonly foundVersion: number,
    readonly supportedVersions: readonly number[],
  ) {
    super(`snapshot format version ${foundVersion} is not supported (supported: ${supportedVersions.join(', ')})`);
  }
}

/** No snapshot (or a piece it references) exists under the expected key. */
export class SnapshotNotFound extends SnapshotError {
  readonly code = 'SNAPSHOT_NOT_FOUND' as const;
}

/** A CRC32 over stored bytes (payload, header, manifest or piece) does not match the recorded one. */
export class ChecksumMismatch extends SnapshotError {
  readonly code = 'CHECKSUM_MISMATCH' as const;
  constructor(
    readonly what: string,
    readonly expectedCrc32: number,
    readonly actualCrc32: number,
  ) {
    super(`${what}: CRC32 mismatch (expected ${hex(expectedCrc32)}, computed ${hex(actualCrc32)})`);
  }
}

/** A recorded length (stored, uncompressed, piece) does not match the bytes actually present. */
export class LengthMismatch extends SnapshotError {
  readonly code = 'LENGTH_MISMATCH' as const;
  constructor(
    readonly what: string,
    readonly expectedBytes: number,
    readonly actualBytes: number,
  ) {
    super(`${what}: length mismatch (expected ${expectedBytes} bytes, found ${actualBytes})`);
  }
}

/** Store-level: the key does not exist. Stores throw this from get(); head() returns null instead. */
export class ObjectNotFound extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFound';
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}
