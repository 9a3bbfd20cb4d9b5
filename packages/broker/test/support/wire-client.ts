// A minimal Kafka wire client for tests, built on @tributary/protocol's encodeRequest/decodeResponse.
// Responses are matched to requests by order and checked against the correlation id.
import { connect, type Socket } from 'node:net';
import { encodeRequest, decodeResponse } from '@tributary/protocol';

interface Pending {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class WireClient {
  private nextCorrelationId = 1;
  private readonly pending: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private closedError: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    this.closed = new Promise((r) => socket.on('close', () => r()));
    socket.on('close', () => {
      this.closedError = new Error('connection closed');
      for (const p of this.pending.splice(0)) p.reject(this.closedError);
    });
    socket.on('error', () => undefined);
  }

  static connect(host: string, port: number): Promise<WireClient> {
    return new Promise((resolvePromise, reject) => {
      const socket = connect(port, host);
      socket.once('connect', () => resolvePromise(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a request and resolves with the decoded response body. */
  request<T = any>(apiKey: number, apiVersion: number, body: unknown, clientId = 'wire-test'): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequest(apiKey, apiVersion, correlationId, clientId, body as never);
    return new Promise<T>((resolvePromise, reject) => {
      this.pending.push({ apiKey, apiVersion, correlationId, resolve: resolvePromise as (b: unknown) => void, reject });
      this.socket.write(frame);
    });
  }

  /** Sends a request that gets no response (acks=0 produce). */
  send(apiKey: number, apiVersion: number, body: unknown): void {
    this.socket.write(encodeRequest(apiKey, apiVersion, this.nextCorrelationId++, 'wire-test', body as never));
  }

  /** Waits for the next response frame to a raw request whose decoding the caller controls. */
  expectRaw(apiKey: number, apiVersion: number): Promise<any> {
    return new Promise((resolvePromise, reject) => {
      this.pending.push({ apiKey, apiVersion, correlationId: -1, resolve: resolvePromise, reject });
    });
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
    while (this.buffer.length >= 4) {
      const size = this.buffer.readInt32BE(0);
      if (this.buffer.length < 4 + size) return;
      const frame = this.buffer.subarray(4, 4 + size);
      this.buffer = this.buffer.subarray(4 + size);
      const p = this.pending.shift();
      if (!p) throw new Error('response without a request');
      try {
        const { correlationId, body } = decodeResponse(p.apiKey, p.apiVersion, frame);
        if (p.correlationId !== -1 && correlationId !== p.correlationId) {
          p.reject(new Error(`correlation id ${correlationId}, expected ${p.correlationId}`));
        } else p.resolve(body);
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }
}
