import { readInt64, writeInt64 } from './batch-header.js';

/**
 * Time index of one segment: entries (max timestamp so far: int64, offset relative to the segment base: int32),
 * big-endian, 12 bytes each, timestamps strictly increasing. An entry (T, r) says: the batch starting at relative
 * offset r has max timestamp T, and no batch before it has a timestamp above T. When a segment is sealed its last
 * entry holds the segment's max timestamp.
 */
export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private entries: Buffer;
  private count = 0;

  private constructor(entries: Buffer, count: number) {
    this.entries = entries;
    this.count = count;
  }

  static empty(initialCapacity = 8): TimeIndex {
    return new TimeIndex(Buffer.alloc(initialCapacity * TIME_INDEX_ENTRY_BYTES), 0);
  }

  /** Adopts a time index file's bytes; null when corrupt (bad size, timestamps or offsets out of order or range). */
  static fromFile(bytes: Buffer, relativeOffsetEnd: number): TimeIndex | null {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const count = bytes.length / TIME_INDEX_ENTRY_BYTES;
    let previousTimestamp = Number.NEGATIVE_INFINITY;
    let previousRelative = -1;
    for (let i = 0; i < count; i++) {
      const timestamp = readInt64(bytes, i * TIME_INDEX_ENTRY_BYTES);
      const relative = bytes.readInt32BE(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (timestamp <= previousTimestamp || relative < previousRelative || relative < 0 || relative >= relativeOffsetEnd) {
        return null;
      }
      previousTimestamp = timestamp;
      previousRelative = relative;
    }
    return new TimeIndex(bytes, count);
  }

  get entryCount(): number {
    return this.count;
  }

  /** Timestamp of the last entry, or -Infinity when empty. */
  get lastTimestampMs(): number {
    return this.count === 0 ? Number.NEGATIVE_INFINITY : readInt64(this.entries, (this.count - 1) * TIME_INDEX_ENTRY_BYTES);
  }

  get lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.entries.readInt32BE((this.count - 1) * TIME_INDEX_ENTRY_BYTES + 8);
  }

  /** Appends (timestampMs, relativeOffset) when timestampMs is above the last entry; returns whether it did. */
  maybeAppend(timestampMs: number, relativeOffset: number): boolean {
    if (timestampMs <= this.lastTimestampMs) return false;
    const at = this.count * TIME_INDEX_ENTRY_BYTES;
    if (at + TIME_INDEX_ENTRY_BYTES > this.entries.length) {
      const grown = Buffer.alloc(Math.max(this.entries.length * 2, 8 * TIME_INDEX_ENTRY_BYTES));
      this.entries.copy(grown, 0, 0, at);
      this.entries = grown;
    }
    writeInt64(this.entries, at, timestampMs);
    this.entries.writeInt32BE(relativeOffset, at + 8);
    this.count++;
    return true;
  }

  /**
   * Relative offset from which a scan for the first timestamp >= `timestampMs` may start: the offset of the last
   * entry whose timestamp is strictly below the target (every batch before that entry is below it too), or 0.
   */
  scanStartFor(timestampMs: number): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (readInt64(this.entries, mid * TIME_INDEX_ENTRY_BYTES) < timestampMs) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found < 0 ? 0 : this.entries.readInt32BE(found * TIME_INDEX_ENTRY_BYTES + 8);
  }

  toBuffer(): Buffer {
    return this.entries.subarray(0, this.count * TIME_INDEX_ENTRY_BYTES);
  }
}
