// Splits a TCP byte stream into Kafka frames: a 4-byte big-endian signed size, then that many bytes.
// Frames within one chunk are returned as views (no copy); only a frame spanning chunks is copied once.
// A frame that spans chunks is assembled as its bytes arrive: once a quarter of it is buffered, one buffer of
// exactly its size is allocated, the chunks so far are copied in and every later chunk is copied straight into it
// (a 1 MB produce request arriving in 64 KiB socket reads is not kept as a list of chunks for a final pass). The
// quarter rule means a size prefix alone never makes the broker allocate the whole frame.

export class FrameSizeError extends Error {
  constructor(
    readonly sizeBytes: number,
    readonly maxBytes: number,
  ) {
    super(
      sizeBytes < 0
        ? `negative frame size ${sizeBytes}`
        : `frame of ${sizeBytes} bytes exceeds socket.request.max.bytes (${maxBytes})`,
    );
    this.name = 'FrameSizeError';
  }
}

/** A frame spanning chunks gets its own buffer once 1/4 of it has arrived. */
const ASSEMBLE_AFTER_FRACTION_INVERSE = 4;

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being assembled, once its prefix is read; -1 while waiting for a prefix. */
  private pendingSize = -1;
  /** The frame being assembled chunk by chunk (pendingSize bytes), or null. */
  private assembling: Buffer | null = null;
  /** Bytes of `assembling` filled so far. */
  private assembled = 0;

  constructor(private readonly maxFrameBytes: number) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.buffered += chunk.length;
    const frame = this.assembling;
    if (frame !== null) {
      const copied = chunk.copy(frame, this.assembled, 0, Math.min(chunk.length, frame.length - this.assembled));
      this.assembled += copied;
      if (copied === chunk.length) return;
      chunk = chunk.subarray(copied);
    }
    this.chunks.push(chunk);
  }

  /** The next complete frame (without its size prefix), or null when more bytes are needed. Throws FrameSizeError. */
  next(): Buffer | null {
    if (this.pendingSize < 0) {
      if (this.buffered < 4) return null;
      const size = this.peekInt32();
      if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
      this.consume(4);
      this.pendingSize = size;
    }
    const assembling = this.assembling;
    if (assembling !== null) {
      if (this.assembled < assembling.length) return null;
      this.assembling = null;
      this.buffered -= assembling.length;
      this.pendingSize = -1;
      return assembling;
    }
    if (this.buffered < this.pendingSize) {
      // Spans chunks: once a quarter of it is here (a peer that sends only a size prefix cannot make us allocate
      // more than 4x what it sent), move what is here into the frame's own buffer; push() copies the rest in.
      if (this.buffered * ASSEMBLE_AFTER_FRACTION_INVERSE < this.pendingSize) return null;
      const frame = Buffer.allocUnsafe(this.pendingSize);
      let filled = 0;
      for (const chunk of this.chunks) filled += chunk.copy(frame, filled);
      this.chunks = [];
      this.assembling = frame;
      this.assembled = filled;
      return null;
    }
    const frame = this.take(this.pendingSize);
    this.pendingSize = -1;
    return frame;
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let copied = 0;
    for (const chunk of this.chunks) {
      copied += chunk.copy(head, copied, 0, Math.min(chunk.length, 4 - copied));
      if (copied === 4) break;
    }
    return head.readInt32BE(0);
  }

  private consume(n: number): void {
    this.take(n);
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, want);
        filled += want;
        this.chunks[0] = chunk.subarray(want);
      }
    }
    return out;
  }
}
