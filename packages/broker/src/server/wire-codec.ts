// The protocol functions the dispatcher needs (all from @tributary/protocol; named here so the dispatcher can
// be tested and reasoned about as "frames in, frames out").
export interface RequestHeader {
  readonly requestApiKey: number;
  readonly requestApiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

export interface WireCodec {
  decodeRequestHeader(frame: Buffer): { header: RequestHeader; bodyOffset: number };
  decodeRequest(apiKey: number, apiVersion: number, frame: Buffer, bodyOffset: number): unknown;
  encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer;
  /** The same frame as chunks that reference record bytes instead of copying them (used for Fetch). */
  encodeResponseChunks?(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer[];
  isVersionSupported(apiKey: number, apiVersion: number): boolean;
  supportedApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[];
}
