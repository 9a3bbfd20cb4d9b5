// One client connection: reads frames, hands each to the router, and writes responses strictly in request
// order even when handlers finish out of order (a long-polling fetch ahead of a metadata request).
// Requests that get no response (acks=0 produce) take no slot in the order queue.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameReader, FrameSizeError } from './frame-reader.js';

export interface ConnectionContext {
  readonly connectionId: number;
  readonly clientHost: string;
  readonly logger: Logger;
}

export type FrameOutcome =
  /** A whole response frame, as one buffer or as chunks written back to back (record bytes without a copy). */
  | { readonly kind: 'respond'; readonly response: Promise<Buffer | readonly Buffer[]> }
  | { readonly kind: 'noResponse' }
  | { readonly kind: 'close'; readonly reason: string };

export interface FrameRouter {
  /** Must not throw for bad input it can answer; a throw closes this connection with a log line. */
  route(frame: Buffer, ctx: ConnectionContext): FrameOutcome;
}

export interface ConnectionLimits {
  readonly maxFrameBytes: number;
  /** Stop reading while this many responses are pending. */
  readonly maxInFlightRequests: number;
  /** Stop reading while the socket holds more than this many unsent bytes. */
  readonly maxBufferedWriteBytes: number;
}

export interface ConnectionEvents {
  onBytesIn(n: number): void;
  onBytesOut(n: number): void;
  onBadInput(reason: string): void;
  onClose(connection: Connection): void;
  /**
   * A chunked response has been handed to the kernel (or dropped with the socket): nothing here reads its chunks
   * again, so read buffers among them may be recycled.
   */
  onResponseWritten?(chunks: readonly Buffer[]): void;
}

interface Slot {
  response: Buffer | readonly Buffer[] | null;
  settled: boolean;
}

export class Connection {
  private readonly reader: FrameReader;
  private readonly queue: Slot[] = [];
  private closed = false;
  private pausedForBackpressure = false;
  private draining = false;
  private readonly ctx: ConnectionContext;

  constructor(
    private readonly socket: Socket,
    connectionId: number,
    private readonly router: FrameRouter,
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
    logger: Logger,
  ) {
    this.reader = new FrameReader(limits.maxFrameBytes);
    const clientHost = socket.remoteAddress ?? 'unknown';
    this.ctx = {
      connectionId,
      clientHost,
      logger: logger.child({ connectionId, client: `${clientHost}:${socket.remotePort ?? 0}` }),
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => this.ctx.logger.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      this.events.onClose(this);
    });
  }

  get pendingResponses(): number {
    return this.queue.length;
  }

  /** Closes the socket after the responses already queued are written (graceful shutdown). */
  endWhenIdle(): Promise<void> {
    return new Promise((resolvePromise) => {
      if (this.closed) return resolvePromise();
      this.draining = true; // requests arriving from now on are not read
      this.socket.pause();
      this.socket.once('close', () => resolvePromise());
      const check = (): void => {
        if (this.queue.length === 0) {
          this.socket.end();
          this.socket.resume(); // consume (and drop) until the peer's FIN, so 'close' can follow
        } else setTimeout(check, 10).unref();
      };
      check();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.draining) return;
    this.events.onBytesIn(chunk.length);
    this.reader.push(chunk);
    for (;;) {
      let frame: Buffer | null;
      try {
        frame = this.reader.next();
      } catch (err) {
        const reason = err instanceof FrameSizeError ? 'frame_size' : 'frame_error';
        this.closeForBadInput(reason, (err as Error).message);
        return;
      }
      if (frame === null) break;
      let outcome: FrameOutcome;
      try {
        outcome = this.router.route(frame, this.ctx);
      } catch (err) {
        this.closeForBadInput('malformed_request', (err as Error).message ?? String(err));
        return;
      }
      if (outcome.kind === 'close') {
        this.closeForBadInput('rejected_request', outcome.reason);
        return;
      }
      if (outcome.kind === 'respond') this.enqueue(outcome.response);
      if (this.closed) return;
    }
    this.applyBackpressure();
  }

  private enqueue(response: Promise<Buffer | readonly Buffer[]>): void {
    const slot: Slot = { response: null, settled: false };
    this.queue.push(slot);
    response.then(
      (buf) => {
        slot.response = buf;
        slot.settled = true;
        this.flushReady();
      },
      (err: unknown) => {
        this.ctx.logger.error({ err }, 'request handler failed; closing connection');
        this.events.onBadInput('handler_error');
        this.socket.destroy();
      },
    );
  }

  private flushReady(): void {
    if (this.closed) return;
    const head = this.queue[0];
    if (head === undefined || !head.settled) return;
    this.socket.cork();
    while (this.queue.length > 0 && this.queue[0]!.settled) {
      const slot = this.queue.shift()!;
      const response = slot.response!;
      if (Buffer.isBuffer(response)) {
        this.events.onBytesOut(response.length);
        this.socket.write(response);
      } else {
        // Corked: the chunks leave in one writev.
        const last = response.length - 1;
        response.forEach((chunk, i) => {
          this.events.onBytesOut(chunk.length);
          if (i === last && this.events.onResponseWritten !== undefined) {
            // Called once the write completed or failed (the socket then holds no reference to the chunks).
            this.socket.write(chunk, () => this.events.onResponseWritten!(response));
          } else {
            this.socket.write(chunk);
          }
        });
      }
    }
    this.socket.uncork();
    this.maybeResume();
  }

  private applyBackpressure(): void {
    if (
      !this.pausedForBackpressure &&
      (this.queue.length >= this.limits.maxInFlightRequests || this.socket.writableLength > this.limits.maxBufferedWriteBytes)
    ) {
      this.pausedForBackpressure = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (
      !this.draining &&
      this.pausedForBackpressure &&
      this.queue.length < this.limits.maxInFlightRequests &&
      this.socket.writableLength <= this.limits.maxBufferedWriteBytes
    ) {
      this.pausedForBackpressure = false;
      this.socket.resume();
    }
  }

  private closeForBadInput(reason: string, message: string): void {
    this.ctx.logger.warn({ reason, detail: message }, 'closing connection after bad input');
    this.events.onBadInput(reason);
    this.closed = true;
    this.socket.destroy();
  }
}
