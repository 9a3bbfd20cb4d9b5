/**
 * Request/response framing: size prefix, request header v1/v2, response header v0/v1, and the typed
 * decodeRequest / encodeResponse entry points (plus the client-side mirror for tests and internal clients).
 */
import { ApiKey, apiKeyName } from './api-keys.js';
import { ProtocolError } from './errors.js';
import { Reader, Writer, stringSize, spliceTally } from './primitives.js';
import { compile, type CompiledCodec } from './schema/compile.js';
import { schemasFor, isVersionSupported } from './registry.js';
import { parseVersions, type MessageSchema } from './schema/dsl.js';
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

interface ApiEntry {
  readonly request: MessageSchema;
  readonly response: MessageSchema;
  readonly requestFlexibleFrom: number;
  readonly responseFlexibleFrom: number;
  readonly requestCodecs: (CompiledCodec | undefined)[];
  readonly responseCodecs: (CompiledCodec | undefined)[];
}

/** Per-api-key lookup table so the hot path does no string parsing or map lookups. */
const apiTable: (ApiEntry | undefined)[] = [];

function flexibleFrom(schema: MessageSchema): number {
  const range = parseVersions(schema.flexibleVersions);
  return range.min <= range.max ? range.min : Number.POSITIVE_INFINITY;
}

function entryFor(apiKey: number): ApiEntry | undefined {
  let entry = apiTable[apiKey];
  if (entry === undefined && apiKey >= 0 && apiKey < 0x8000) {
    const schemas = schemasFor(apiKey);
    if (!schemas) return undefined;
    entry = {
      request: schemas.request,
      response: schemas.response,
      requestFlexibleFrom: flexibleFrom(schemas.request),
      responseFlexibleFrom: flexibleFrom(schemas.response),
      requestCodecs: [],
      responseCodecs: [],
    };
    apiTable[apiKey] = entry;
  }
  return entry;
}

function codecFor<T>(apiKey: number, apiVersion: number, side: 'request' | 'response'): CompiledCodec<T> {
  const entry = entryFor(apiKey);
  const codecs = side === 'request' ? entry?.requestCodecs : entry?.responseCodecs;
  let codec = codecs?.[apiVersion];
  if (codec === undefined) {
    if (!entry || !codecs || !isVersionSupported(apiKey, apiVersion)) {
      throw new ProtocolError(`unsupported ${side}: ${apiKeyName(apiKey)} (key ${apiKey}) version ${apiVersion}`);
    }
    codec = compile(entry[side], apiVersion);
    codecs[apiVersion] = codec;
  }
  return codec as CompiledCodec<T>;
}

/** Request header flexibility (v2) follows the request schema's flexible versions. */
function requestHeaderIsFlexible(apiKey: number, apiVersion: number): boolean {
  const entry = entryFor(apiKey);
  return entry !== undefined && apiVersion >= entry.requestFlexibleFrom && isVersionSupported(apiKey, apiVersion);
}

/** Response header v1 for flexible versions, except ApiVersions which always uses header v0. */
function responseHeaderIsFlexible(apiKey: number, apiVersion: number): boolean {
  if (apiKey === ApiKey.ApiVersions) return false;
  const entry = entryFor(apiKey);
  return entry !== undefined && apiVersion >= entry.responseFlexibleFrom;
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
  const codec = codecFor<RequestFor<K>>(apiKey, apiVersion, 'request');
  return codec.decode(new Reader(frame, bodyOffset));
}

/**
 * Encodes a whole response frame: 4-byte size, response header (v0, or v1 for flexible versions;
 * ApiVersions always v0), body. Fields omitted from `body` take their schema defaults.
 */
export function encodeResponse<K extends number>(apiKey: K, apiVersion: number, correlationId: number, body: ResponseFor<K>): Buffer {
  const codec = codecFor<ResponseFor<K>>(apiKey, apiVersion, 'response');
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

/**
 * Like encodeResponse, but records fields of 1 KiB or more are not copied: returns the frame as a list of
 * chunks (header/structure slices interleaved with the caller's records Buffers, in wire order) whose
 * concatenation equals encodeResponse's output. Write them with socket.cork()/write()/uncork() or writev.
 * The records Buffers must stay unchanged until the chunks are written.
 */
export function encodeResponseChunks<K extends number>(apiKey: K, apiVersion: number, correlationId: number, body: ResponseFor<K>): Buffer[] {
  const codec = codecFor<ResponseFor<K>>(apiKey, apiVersion, 'response');
  const flexibleHeader = responseHeaderIsFlexible(apiKey, apiVersion);
  const headerSize = 4 + (flexibleHeader ? 1 : 0);
  spliceTally.bytes = 0;
  const total = 4 + headerSize + codec.size(body);
  const spliced = spliceTally.bytes;
  const splices: (number | Uint8Array)[] = [];
  const w = new Writer(Buffer.allocUnsafe(total - spliced), 0, splices);
  w.int32(total - 4);
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  codec.write(w, body);
  if (w.pos !== total - spliced) {
    throw new Error(`encoder invariant broken: wrote ${w.pos} of ${total - spliced} bytes for ${apiKeyName(apiKey)} v${apiVersion}`);
  }
  const chunks: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < splices.length; i += 2) {
    const at = splices[i] as number;
    const records = splices[i + 1] as Uint8Array;
    if (at > from) chunks.push(w.buf.subarray(from, at));
    chunks.push(Buffer.isBuffer(records) ? records : Buffer.from(records.buffer, records.byteOffset, records.length));
    from = at;
  }
  if (w.pos > from) chunks.push(w.buf.subarray(from, w.pos));
  return chunks;
}

/** Encodes a whole request frame (4-byte size, header v1 or v2, body). Used by tests and internal clients. */
export function encodeRequest<K extends number>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: RequestFor<K>,
): Buffer {
  const codec = codecFor<RequestFor<K>>(apiKey, apiVersion, 'request');
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
  const codec = codecFor<ResponseFor<K>>(apiKey, apiVersion, 'response');
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
