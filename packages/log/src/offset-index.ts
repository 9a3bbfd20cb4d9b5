/**
 * Sparse offset index of one segment: entries (offset relative to the segment base: int32, file position: int32),
 * big-endian, 8 bytes each, both strictly increasing. An entry points at the start of a batch whose base offset is
 * the entry's offset. Kept in memory; written to the `.index` file when the segment is sealed or the log closes.
 */
export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private entries: Buffer;
  private count = 0;

  private constructor(entries: Buffer, count: number) {
    this.entries = entries;
    this.count = count;
  }

  static empty(initialCapacity = 16): OffsetIndex {
    return new OffsetIndex(Buffer.alloc(initialCapacity * OFFSET_INDEX_ENTRY_BYTES), 0);
  }

  /**
   * Adopts the bytes of an index file after checking them against the segment: returns null when the file is
   * corrupt (size not a multiple of 8, entries not strictly increasing, positions beyond the log size).
   */
  static fromFile(bytes: Buffer, logSizeBytes: number): OffsetIndex | null {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const count = bytes.length / OFFSET_INDEX_ENTRY_BYTES;
    let previousRelative = -1;
    let previousPosition = -1;
    for (let i = 0; i < count; i++) {
      const relative = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
      const position = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (relative <= previousRelative || position <= previousPosition || position >= logSizeBytes) return null;
      previousRelative = relative;
      previousPosition = position;
    }
    return new OffsetIndex(bytes, count);
  }

  get entryCount(): number {
    return this.count;
  }

  append(relativeOffset: number, position: number): void {
    const at = this.count * OFFSET_INDEX_ENTRY_BYTES;
    if (at + OFFSET_INDEX_ENTRY_BYTES > this.entries.length) {
      const grown = Buffer.alloc(Math.max(this.entries.length * 2, 16 * OFFSET_INDEX_ENTRY_BYTES));
      this.entries.copy(grown, 0, 0, at);
      this.entries = grown;
    }
    this.entries.writeInt32BE(relativeOffset, at);
    this.entries.writeInt32BE(position, at + 4);
    this.count++;
  }

  /** File position of the last indexed batch whose relative base offset is <= `relativeOffset` (0 if none). */
  lookup(relativeOffset: number): number {
    return this.lookupEntry(relativeOffset).position;
  }

  /** The last entry whose relative offset is <= `relativeOffset`, or { relativeOffset: 0, position: 0 } (the segment start). */
  lookupEntry(relativeOffset: number): { relativeOffset: number; position: number } {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.entries.readInt32BE(mid * OFFSET_INDEX_ENTRY_BYTES) <= relativeOffset) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (found < 0) return { relativeOffset: 0, position: 0 };
    const at = found * OFFSET_INDEX_ENTRY_BYTES;
    return { relativeOffset: this.entries.readInt32BE(at), position: this.entries.readInt32BE(at + 4) };
  }

  /** The last entry, or null when empty. */
  last(): { relativeOffset: number; position: number } | null {
    if (this.count === 0) return null;
    const at = (this.count - 1) * OFFSET_INDEX_ENTRY_BYTES;
    return { relativeOffset: this.entries.readInt32BE(at), position: this.entries.readInt32BE(at + 4) };
  }

  /** The used entries, trimmed to size (a view, not a copy). */
  toBuffer(): Buffer {
    return this.entries.subarray(0, this.count * OFFSET_INDEX_ENTRY_BYTES);
  }
}
