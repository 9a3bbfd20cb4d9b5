// Routes each request frame to its handler: decodes the header and body, refuses what cannot be answered
// (unknown API key: close, as Kafka does; unsupported version: close, except ApiVersions which gets a v0
// answer with UNSUPPORTED_VERSION and our ranges), runs the handler, encodes the response, counts metrics.
import type { ConnectionContext, FrameOutcome, FrameRouter } from './connection.js';
import type { WireCodec } from './wire-codec.js';
import type { RequestContext } from '../handlers/context.js';
import type { BrokerMetrics } from '../observability/metrics.js';

export const API_VERSIONS_KEY = 18;
export const PRODUCE_KEY = 0;
export const FETCH_KEY = 1;

export type ApiHandler = (request: unknown, apiVersion: number, ctx: RequestContext) => Promise<unknown> | unknown;

export interface RouteEntry {
  readonly name: string;
  readonly handle: ApiHandler;
}

/** The first non-zero errorCode found in a response body (top level first, then nested), or 0. */
export function firstErrorCode(body: unknown, depth = 0): number {
  if (body === null || typeof body !== 'object' || Buffer.isBuffer(body) || depth > 4) return 0;
  if (Array.isArray(body)) {
    for (const item of body) {
      const code = firstErrorCode(item, depth + 1);
      if (code !== 0) return code;
    }
    return 0;
  }
  const record = body as Record<string, unknown>;
  const own = record['errorCode'];
  if (typeof own === 'number' && own !== 0) return own;
  for (const value of Object.values(record)) {
    if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
      const code = firstErrorCode(value, depth + 1);
      if (code !== 0) return code;
    }
  }
  return 0;
}

export class Dispatcher implements FrameRouter {
  private readonly routes = new Map<number, RouteEntry>();

  constructor(
    private readonly codec: WireCodec,
    private readonly metrics: BrokerMetrics,
    private readonly unsupportedApiVersions: () => unknown,
  ) {}

  register(apiKey: number, entry: RouteEntry): void {
    this.routes.set(apiKey, entry);
  }

  /** Versions to advertise: what the protocol package can decode/encode, for the APIs with a handler here. */
  advertisedVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return this.codec
      .supportedApiVersions()
      .filter((v) => this.routes.has(v.apiKey))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  route(frame: Buffer, conn: ConnectionContext): FrameOutcome {
    const { header, bodyOffset } = this.codec.decodeRequestHeader(frame);
    const { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId } = header;
    const entry = this.routes.get(apiKey);
    if (entry === undefined) {
      return { kind: 'close', reason: `unknown or unsupported API key ${apiKey} (version ${apiVersion}, correlation id ${correlationId})` };
    }
    if (!this.codec.isVersionSupported(apiKey, apiVersion)) {
      if (apiKey === API_VERSIONS_KEY) {
        conn.logger.info({ apiVersion, clientId: header.clientId }, 'ApiVersions of an unknown version; answering v0 with UNSUPPORTED_VERSION');
        this.metrics.requests.inc({ api: entry.name, error_code: '35' });
        const body = this.unsupportedApiVersions();
        return { kind: 'respond', response: Promise.resolve(this.codec.encodeResponse(API_VERSIONS_KEY, 0, correlationId, body)) };
      }
      return { kind: 'close', reason: `${entry.name} version ${apiVersion} is not supported (correlation id ${correlationId})` };
    }
    const request = this.codec.decodeRequest(apiKey, apiVersion, frame, bodyOffset);
    const ctx: RequestContext = { clientId: header.clientId, clientHost: conn.clientHost, logger: conn.logger };
    const startedNs = process.hrtime.bigint();
    const observe = (body: unknown): void => {
      const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
      if (apiKey === PRODUCE_KEY) this.metrics.produceLatency.observe(seconds);
      else if (apiKey === FETCH_KEY) this.metrics.fetchLatency.observe(seconds);
      this.metrics.requests.inc({ api: entry.name, error_code: String(firstErrorCode(body)) });
    };
    const run = (): Promise<unknown> => {
      try {
        return Promise.resolve(entry.handle(request, apiVersion, ctx));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    if (apiKey === PRODUCE_KEY && (request as { acks?: number }).acks === 0) {
      // acks=0: the client expects no answer, so the request takes no place in the response order.
      run().then(
        (body) => {
          observe(body);
          const code = firstErrorCode(body);
          if (code !== 0) conn.logger.debug({ errorCode: code }, 'acks=0 produce failed (no response is sent)');
        },
        (err: unknown) => conn.logger.error({ err }, 'acks=0 produce failed'),
      );
      return { kind: 'noResponse' };
    }
    const response = run().then((body): Buffer | Buffer[] => {
      observe(body);
      if (apiKey === FETCH_KEY && this.codec.encodeResponseChunks) {
        return this.codec.encodeResponseChunks(apiKey, apiVersion, correlationId, body);
      }
      return this.codec.encodeResponse(apiKey, apiVersion, correlationId, body);
    });
    return { kind: 'respond', response };
  }
}
