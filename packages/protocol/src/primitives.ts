import { ProtocolError } from './errors.js';

const TWO_POW_32 = 0x1_0000_0000;
const INT64_MAX_AS_NUMBER = 2 ** 63; // first double >= 2^63 - 1
const EMPTY_BUFFER = Buffer.alloc(0);

/**
 * Bounds-checked cursor over a Buffer. Every read checks the remaining bytes first and throws
 * ProtocolError on truncation; length prefixes larger than what remains are rejected before any allocation.
 * `end` may be narrowed (tagged fields are decoded within their declared size).
 */
export class Reader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n > this.end - this.pos) {
      throw new ProtocolError(`truncated input: need ${n} bytes at position ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  int8(): number {
    this.need(1);
    const v = this.buf[this.pos]!;
    this.pos += 1;
    return (v << 24) >> 24;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
  }

  uint16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  int32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  /** int64 as a JS number: exact within +-2^53, rounded beyond (documented in the README). */
  int64(): number {
    const hi = this.int32();
    const lo = this.int32() >>> 0;
    return hi * TWO_POW_32 + lo;
  }

  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128 varint limited to 32 bits (5 bytes). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      if (i === 4 && byte > 0x0f) throw new ProtocolError('unsigned varint overflows 32 bits');
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
    throw new ProtocolError('unsigned varint longer than 5 bytes');
  }

  /** Zigzag varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag varlong (int64) as a JS number (exact within +-2^53). */
  varlong(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      if (i === 9 && byte > 0x01) throw new ProtocolError('varlong overflows 64 bits');
      result += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) {
        // zigzag decode on doubles: even -> n/2, odd -> -(n+1)/2
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      mul *= 128;
    }
    throw new ProtocolError('varlong longer than 10 bytes');
  }

  uuid(): Buffer {
    this.need(16);
    const v = this.buf.subarray(this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  private utf8(len: number): string {
    this.need(len);
    const start = this.pos;
    this.pos += len;
    if (len <= 24) {
      // short ASCII strings (topic names, client ids) are cheaper to build in JS than via a native call
      const b = this.buf;
      let s = '';
      for (let i = start; i < start + len; i++) {
        const c = b[i]!;
        if (c > 0x7f) return b.toString('utf8', start, start + len);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.buf.toString('utf8', start, start + len);
  }

  private slice(len: number): Buffer {
    this.need(len);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  string(): string {
    const len = this.int16();
    if (len < 0) throw new ProtocolError(`null string in a non-nullable field at position ${this.pos - 2}`);
    return this.utf8(len);
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) {
      if (len === -1) return null;
      throw new ProtocolError(`invalid string length ${len}`);
    }
    return this.utf8(len);
  }

  compactString(): string {
    const len = this.uvarint() - 1;
    if (len < 0) throw new ProtocolError(`null compact string in a non-nullable field at position ${this.pos}`);
    return this.utf8(len);
  }

  compactNullableString(): string | null {
    const len = this.uvarint() - 1;
    return len < 0 ? null : this.utf8(len);
  }

  bytes(): Buffer {
    const len = this.int32();
    if (len < 0) throw new ProtocolError(`null bytes in a non-nullable field at position ${this.pos - 4}`);
    return this.slice(len);
  }

  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) {
      if (len === -1) return null;
      throw new ProtocolError(`invalid bytes length ${len}`);
    }
    return this.slice(len);
  }

  compactBytes(): Buffer {
    const len = this.uvarint() - 1;
    if (len < 0) throw new ProtocolError(`null compact bytes in a non-nullable field at position ${this.pos}`);
    return this.slice(len);
  }

  compactNullableBytes(): Buffer | null {
    const len = this.uvarint() - 1;
    return len < 0 ? null : this.slice(len);
  }

  /**
   * Array length (classic int32 or compact uvarint N+1). Returns -1 for null.
   * Each element occupies at least one byte, so a count larger than the remaining bytes is rejected
   * before the array is allocated.
   */
  arrayLength(compact: boolean): number {
    const n = compact ? this.uvarint() - 1 : this.int32();
    if (n < -1) throw new ProtocolError(`invalid array length ${n}`);
    if (n > this.end - this.pos) {
      throw new ProtocolError(`array length ${n} exceeds the ${this.end - this.pos} remaining bytes`);
    }
    return n;
  }

  /** Skips a tagged-field section whose fields are all unknown. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.need(size);
      this.pos += size;
    }
  }
}

export function uvarintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  return 5;
}

export function varintSize(value: number): number {
  return uvarintSize(((value << 1) ^ (value >> 31)) >>> 0);
}

export function varlongSize(value: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

/** UTF-8 byte length of a string or a Buffer's length, for size computation. */
export function utf8Length(value: string): number {
  return value.length < 32 && isAscii(value) ? value.length : Buffer.byteLength(value, 'utf8');
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Size of a string field on the wire (classic int16 prefix or compact uvarint prefix). */
export function stringSize(value: string | null | undefined, compact: boolean): number {
  if (value === null || value === undefined) return compact ? 1 : 2;
  const len = utf8Length(value);
  return (compact ? uvarintSize(len + 1) : 2) + len;
}

/** Records fields at least this large are not copied by chunked encoders (see Writer.splices). */
export const SPLICE_MIN_BYTES = 1024;

/** Sum of the records fields a chunked encoder will splice instead of copy; reset before each size pass. */
export const spliceTally = { bytes: 0 };

export function recordsSize(value: Uint8Array | null | undefined, compact: boolean): number {
  if (value !== null && value !== undefined && value.length >= SPLICE_MIN_BYTES) spliceTally.bytes += value.length;
  return bytesSize(value, compact);
}

export function bytesSize(value: Uint8Array | null | undefined, compact: boolean): number {
  if (value === null || value === undefined) return compact ? 1 : 4;
  const len = value.length;
  return (compact ? uvarintSize(len + 1) : 4) + len;
}

/** Cursor writing into a pre-sized Buffer (encoders compute exact sizes first). */
export class Writer {
  buf: Buffer;
  pos: number;
  /**
   * When non-null, records fields of SPLICE_MIN_BYTES or more are not copied: their length prefix is written
   * and (position, buffer) pairs are appended here so the caller can emit them as separate chunks.
   */
  splices: (number | Uint8Array)[] | null;

  constructor(buf: Buffer, pos = 0, splices: (number | Uint8Array)[] | null = null) {
    this.buf = buf;
    this.pos = pos;
    this.splices = splices;
  }

  records(v: Uint8Array | null | undefined, compact: boolean, field: string): void {
    if (v === null || v === undefined || this.splices === null || v.length < SPLICE_MIN_BYTES) {
      this.bytes(v, compact, true, field);
      return;
    }
    if (compact) this.uvarint(v.length + 1);
    else this.int32(v.length);
    this.splices.push(this.pos, v);
  }

  int8(v: number): void {
    this.buf[this.pos++] = v & 0xff;
  }

  bool(v: boolean): void {
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 8) & 0xff;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
  }

  uint16(v: number): void {
    this.int16(v);
  }

  int32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 24) & 0xff;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
  }

  uint32(v: number): void {
    this.int32(v >>> 0);
  }

  /** int64 from a JS number; values outside the int64 range are clamped. */
  int64(v: number): void {
    if (v >= INT64_MAX_AS_NUMBER) {
      this.int32(0x7fffffff);
      this.int32(0xffffffff);
      return;
    }
    if (v < -INT64_MAX_AS_NUMBER) v = -INT64_MAX_AS_NUMBER;
    const hi = Math.floor(v / TWO_POW_32);
    const lo = v - hi * TWO_POW_32;
    this.int32(hi | 0);
    this.int32(lo >>> 0);
  }

  float64(v: number): void {
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  uvarint(v: number): void {
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    b[this.pos++] = v;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varlong(v: number): void {
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    const b = this.buf;
    while (z >= 128) {
      b[this.pos++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
    b[this.pos++] = z;
  }

  uuid(v: Uint8Array): void {
    if (v.length !== 16) throw new ProtocolError(`uuid must be 16 bytes, got ${v.length}`);
    this.buf.set(v, this.pos);
    this.pos += 16;
  }

  raw(v: Uint8Array): void {
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  private utf8(v: string, len: number): void {
    if (len === v.length && len < 32) {
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < len; i++) b[p++] = v.charCodeAt(i);
    } else {
      this.buf.write(v, this.pos, len, 'utf8');
    }
    this.pos += len;
  }

  string(v: string | null | undefined, compact: boolean, nullable: boolean, field: string): void {
    if (v === null || v === undefined) {
      if (!nullable) throw new ProtocolError(`field ${field} is not nullable in this version`);
      if (compact) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const len = utf8Length(v);
    if (compact) this.uvarint(len + 1);
    else {
      if (len > 0x7fff) throw new ProtocolError(`field ${field}: string of ${len} bytes is too long`);
      this.int16(len);
    }
    this.utf8(v, len);
  }

  bytes(v: Uint8Array | null | undefined, compact: boolean, nullable: boolean, field: string): void {
    if (v === null || v === undefined) {
      if (!nullable) throw new ProtocolError(`field ${field} is not nullable in this version`);
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (compact) this.uvarint(v.length + 1);
    else this.int32(v.length);
    this.raw(v);
  }

  arrayLength(n: number | null, compact: boolean): void {
    if (n === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
    } else if (compact) this.uvarint(n + 1);
    else this.int32(n);
  }
}

export { EMPTY_BUFFER };
