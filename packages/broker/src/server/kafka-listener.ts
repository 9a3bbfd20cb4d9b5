// The Kafka TCP listener: accepts connections and tracks them so shutdown can drain them.
import { createServer, type Server, type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { releaseReadBuffer } from '@tributary/log';
import type { HostPort } from '../config.js';
import { Connection, type ConnectionLimits, type FrameRouter } from './connection.js';
import type { BrokerMetrics } from '../observability/metrics.js';

export interface KafkaListenerOptions {
  /**
   * Accept connections but read no request until `openForRequests()`: the broker binds its port before it can answer
   * (cluster mode registers the bound address while joining), and a request read before the handlers exist would be
   * rejected and its connection closed. Held sockets keep their bytes buffered, like Kafka's backlog before its
   * acceptors start.
   */
  readonly holdUntilOpen?: boolean;
}

export class KafkaListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private readonly held = new Set<Socket>();
  private open: boolean;
  private readonly serve: (socket: Socket) => void;

  constructor(router: FrameRouter, limits: ConnectionLimits, metrics: BrokerMetrics, logger: Logger, options: KafkaListenerOptions = {}) {
    this.open = options.holdUntilOpen !== true;
    this.serve = (socket) => {
      const connection = new Connection(
        socket,
        this.nextConnectionId++,
        router,
        limits,
        {
          onBytesIn: (n) => metrics.bytesIn.inc(n),
          onBytesOut: (n) => metrics.bytesOut.inc(n),
          onBadInput: (reason) => metrics.closedConnections.inc({ reason }),
          onClose: (c) => {
            this.connections.delete(c);
            metrics.connections.dec();
          },
          // Fetch responses carry record sets read into pooled buffers; recycle them once sent.
          onResponseWritten: (chunks) => {
            for (const chunk of chunks) releaseReadBuffer(chunk);
          },
        },
        logger,
      );
      this.connections.add(connection);
      metrics.connections.inc();
    };
    this.server = createServer((socket) => {
      if (this.open) {
        this.serve(socket);
        return;
      }
      socket.pause();
      this.held.add(socket);
      socket.once('close', () => this.held.delete(socket));
    });
    this.server.on('error', (err) => logger.error({ err }, 'kafka listener error'));
  }

  /** Starts reading requests: of the connections held so far, then of every new one. */
  openForRequests(): void {
    if (this.open) return;
    this.open = true;
    for (const socket of this.held) {
      this.held.delete(socket);
      if (socket.destroyed) continue;
      this.serve(socket);
      socket.resume();
    }
  }

  listen(at: HostPort): Promise<HostPort> {
    return new Promise((resolvePromise, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: at.port, host: at.host, backlog: 1024 }, () => {
        this.server.off('error', reject);
        resolvePromise({ host: at.host, port: (this.server.address() as AddressInfo).port });
      });
    });
  }

  /** Stops accepting, lets each connection write the responses it owes, then closes it (bounded by timeoutMs). */
  async close(timeoutMs: number): Promise<void> {
    const stopped = new Promise<void>((r) => this.server.close(() => r()));
    const drained = Promise.all([...this.connections].map((c) => c.endWhenIdle()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
    });
    await Promise.race([drained, timeout]);
    clearTimeout(timer);
    for (const socket of this.held) socket.destroy();
    for (const c of this.connections) c.destroy();
    await stopped;
  }
}
