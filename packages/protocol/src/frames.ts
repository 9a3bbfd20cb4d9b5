/**
 * Request/response framing: size prefix, request header v1/v2, response header v0/v1, and the typed
 * decodeRequest / encodeResponse entry points (plus the client-side mirror for tests and internal clients).
 */
import { ApiKey, apiKeyName } from './api-keys.js';
import { ProtocolError } from './errors.js';
import { Reader, Writer, stringSize } from './primitives.js';
import { compile, isFlexible } from './schema/compile.js';
import { schemasFor, isVersionSupported } from './registry.js';
import type { MessageSchema } from './schema/dsl.js';
import type { RequestByKey, ResponseByKey } from './types.js';

export interface RequestHeader {
  requestApiKey: number;
  requestApiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export interface DecodedRequestHeader {
  header: RequestHeader;
  /** Offset in the frame where the request body starts (after header tagged fields for flexible versions). */
  bodyOffset: number;
}

type KnownKey = keyof RequestByKey & number;
export type RequestFor<K extends number> = K extends KnownKey ? RequestByKey[K] : unknown;
export type ResponseFor<K extends number> = K extends KnownKey ? ResponseByKey[K] : unknown;

function schemaOrThrow(apiKey: number, apiVersion: number, side: 'request' | 'response'): MessageSchema {
  const schemas = schemasFor(apiKey);
  if (!schemas || !isVersionSupported(apiKey, apiVersion)) {
    throw new ProtocolError(`unsupported ${side}: ${apiKeyName(apiKey)} (key ${apiKey}) version ${apiVersion}`);
  }
  return schemas[side];
}

/** Request header flexibility (v2) follows the request schema's flexible versions. */
function requestHeaderIsFlexible(apiKey: number, apiVersion: number): boolean {
  const schemas = schemasFor(apiKey);
  return schemas !== undefined && isVersionSupported(apiKey, apiVersion) && isFlexible(schemas.request, apiVersion);
}

/** Response header v1 for flexible versions, except ApiVersions which always uses header v0. */
function responseHeaderIsFlexible(apiKey: number, apiVersion: number): boolean {
  if (apiKey === ApiKey.ApiVersions) return false;
  const schemas = schemasFor(apiKey);
  return schemas !== undefined && isFlexible(schemas.response, apiVersion);
}

/**
 * Decodes the request header of a frame (the bytes after the 4-byte size). For an unknown api key or
 * version it still returns key, version, correlation id and client id (bodyOffset then points after the
 * client id) so the broker can answer UNSUPPORTED_VERSION. Throws ProtocolError when even that is truncated.
 */
export function decodeRequestHeader(frame: Buffer): DecodedRequestHeader {
  const r = new Reader(frame);
  const requestApiKey = r.int16();
  const requestApiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString();
  if (requestHeaderIsFlexible(requestApiKey, requestApiVersion)) r.skipTaggedFields();
  return { header: { requestApiKey, requestApiVersion, correlationId, clientId }, bodyOffset: r.pos };
}

/** Decodes a request body starting at bodyOffset. Throws ProtocolError for malformed input or unsupported versions. */
export function decodeRequest<K extends number>(apiKey: K, apiVersion: number, frame: Buffer, bodyOffset: number): RequestFor<K> {
  const codec = compile<RequestFor<K>>(schemaOrThrow(apiKey, apiVersion, 'request'), apiVersion);
  return codec.decode(new Reader(frame, bodyOffset));
}

/**
 * Encodes a whole response frame: 4-byte size, response header (v0, or v1 for flexible versions;
 * ApiVersions always v0), body. Fields omitted from `body` take their schema defaults.
 */
export function encodeResponse<K extends number>(apiKey: K, apiVersion: number, correlationId: number, body: ResponseFor<K>): Buffer {
  const codec = compile<ResponseFor<K>>(schemaOrThrow(apiKey, apiVersion, 'response'), apiVersion);
  const flexibleHeader = responseHeaderIsFlexible(apiKey, apiVersion);
  const headerSize = 4 + (flexibleHeader ? 1 : 0);
  const total = 4 + headerSize + codec.size(body);
  const w = new Writer(Buffer.allocUnsafe(total));
  w.int32(total - 4);
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  codec.write(w, body);
  if (w.pos !== total) throw new Error(`encoder invariant broken: wrote ${w.pos} of ${total} bytes for ${apiKeyName(apiKey)} v${apiVersion}`);
  return w.buf;
}

/** Encodes a whole request frame (4-byte size, header v1 or v2, body). Used by tests and internal clients. */
export function encodeRequest<K extends number>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: RequestFor<K>,
): Buffer {
  const codec = compile<RequestFor<K>>(schemaOrThrow(apiKey, apiVersion, 'request'), apiVersion);
  const flexibleHeader = requestHeaderIsFlexible(apiKey, apiVersion);
  const headerSize = 8 + stringSize(clientId, false) + (flexibleHeader ? 1 : 0);
  const total = 4 + headerSize + codec.size(body);
  const w = new Writer(Buffer.allocUnsafe(total));
  w.int32(total - 4);
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(correlationId);
  w.string(clientId, false, true, 'clientId');
  if (flexibleHeader) w.uvarint(0);
  codec.write(w, body);
  if (w.pos !== total) throw new Error(`encoder invariant broken: wrote ${w.pos} of ${total} bytes for ${apiKeyName(apiKey)} v${apiVersion}`);
  return w.buf;
}

/**
 * Decodes a response frame (the bytes after the 4-byte size): response header then body.
 * Returns the correlation id and the typed body.
 */
export function decodeResponse<K extends number>(
  apiKey: K,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: ResponseFor<K> } {
  const codec = compile<ResponseFor<K>>(schemaOrThrow(apiKey, apiVersion, 'response'), apiVersion);
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (responseHeaderIsFlexible(apiKey, apiVersion)) r.skipTaggedFields();
  return { correlationId, body: codec.decode(r) };
}

/** Encodes just a message body (no header), e.g. for embedding or tests. */
export function encodeBody(schema: MessageSchema, version: number, body: unknown): Buffer {
  const codec = compile(schema, version);
  const size = codec.size(body);
  const w = new Writer(Buffer.allocUnsafe(size));
  codec.write(w, body);
  if (w.pos !== size) throw new Error(`encoder invariant broken: wrote ${w.pos} of ${size} bytes for ${schema.name} v${version}`);
  return w.buf;
}

/** Decodes just a message body (no header). */
export function decodeBody(schema: MessageSchema, version: number, bytes: Buffer, offset = 0): unknown {
  return compile(schema, version).decode(new Reader(bytes, offset));
}
