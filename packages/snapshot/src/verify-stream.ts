import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ChecksumMismatch, LengthMismatch } from './errors.js';

/**
 * Pass-through that counts bytes and CRC32s them; at the end it fails with LengthMismatch or
 * ChecksumMismatch if they differ from the expected values (when given). The final values are readable
 * from `lengthBytes` / `crc32` after the stream has finished.
 */
export class Crc32Meter extends Transform {
  lengthBytes = 0;
  private crc = 0;

  constructor(
    private readonly what: string,
    private readonly expected?: { lengthBytes: number; crc32: number },
  ) {
    super();
  }

  get crc32(): number {
    return this.crc >>> 0;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.lengthBytes += chunk.length;
    if (this.expected !== undefined && this.lengthBytes > this.expected.lengthBytes) {
      callback(new LengthMismatch(this.what, this.expected.lengthBytes, this.lengthBytes));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected !== undefined) {
      if (this.lengthBytes !== this.expected.lengthBytes) {
        callback(new LengthMismatch(this.what, this.expected.lengthBytes, this.lengthBytes));
        return;
      }
      if (this.crc32 !== this.expected.crc32 >>> 0) {
        callback(new ChecksumMismatch(this.what, this.expected.crc32, this.crc32));
        return;
      }
    }
    callback();
  }
}
