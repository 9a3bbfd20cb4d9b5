// The operational HTTP endpoint: /metrics (Prometheus text), /health (process is up and serving),
// /ready (broker has finished recovery and accepts Kafka traffic), and /admin/* calls answered by an AdminHandler
// (JSON; e.g. the snapshot service's list/trigger in cluster mode).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BrokerMetrics } from './metrics.js';
import type { HostPort } from '../config.js';

export interface HealthSource {
  readonly serving: boolean;
  readonly ready: boolean;
}

export interface AdminRequest {
  readonly method: string;
  /** Path without the query string, e.g. "/admin/snapshots". */
  readonly path: string;
  readonly query: URLSearchParams;
}

export interface AdminResponse {
  readonly status: number;
  /** Sent as JSON. */
  readonly body: unknown;
}

/** Answers the /admin/* requests it knows; null = not one of its paths (404). */
export type AdminHandler = (request: AdminRequest) => Promise<AdminResponse> | null;

export class HttpEndpoint {
  private readonly server: Server;

  constructor(
    private readonly metrics: BrokerMetrics,
    private readonly health: HealthSource,
    private readonly logger: Logger,
    private readonly admin?: AdminHandler,
  ) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path.startsWith('/admin/')) {
        this.answerAdmin(req.method ?? 'GET', req.url ?? '/', path, res);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        this.metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
          (err: unknown) => {
            this.logger.error({ err }, 'metrics collection failed');
            res.writeHead(500).end();
          },
        );
        return;
      }
      if (path === '/health') {
        const ok = this.health.serving;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'down' }));
        return;
      }
      if (path === '/ready') {
        const ok = this.health.ready;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: ok }));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /health or /ready\n');
    });
  }

  private answerAdmin(method: string, url: string, path: string, res: import('node:http').ServerResponse): void {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body, null, 2)}\n`);
    };
    const answer = this.admin?.({ method, path, query: new URL(url, 'http://admin').searchParams }) ?? null;
    if (answer === null) {
      json(404, { error: `no admin call ${method} ${path}` });
      return;
    }
    answer.then(
      (r) => json(r.status, r.body),
      (err: unknown) => {
        this.logger.error({ err, path }, 'admin call failed');
        json(500, { error: err instanceof Error ? err.message : String(err) });
      },
    );
  }

  listen(at: HostPort): Promise<HostPort> {
    return new Promise((resolvePromise, reject) => {
      this.server.once('error', reject);
      this.server.listen(at.port, at.host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        resolvePromise({ host: at.host, port: address.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolvePromise) => {
      this.server.close(() => resolvePromise());
      this.server.closeAllConnections();
    });
  }
}
