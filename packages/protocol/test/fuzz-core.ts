// Fuzzing of the request decoding path: random and mutated frames go through decodeRequestHeader and
// decodeRequest; the only acceptable failure is ProtocolError. Used by fuzz-request-decoder.test.ts (bounded)
// and by `npm run fuzz -w @tributary/protocol -- --iterations N` (longer runs).
import fc from 'fast-check';
import {
  ProtocolError,
  decodeRequestHeader,
  decodeRequest,
  encodeRequest,
  isVersionSupported,
  supportedApiVersions,
  schemasFor,
  parseVersions,
  encodeRecordBatch,
  validateRecordBatches,
  decodeRecordBatch,
} from '../src/index.js';
import { messageArbitrary } from './schema-arbitraries.js';

/** xorshift32: deterministic, seedable. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** One valid frame (without size prefix) per (api, version) to mutate. */
export function buildCorpus(seed: number): Buffer[] {
  const corpus: Buffer[] = [];
  for (const { apiKey } of supportedApiVersions()) {
    const schemas = schemasFor(apiKey)!;
    const { min, max } = parseVersions(schemas.request.validVersions);
    for (let version = min; version <= max; version++) {
      const [body] = fc.sample(messageArbitrary(schemas.request, version), { numRuns: 1, seed: seed + apiKey * 100 + version });
      corpus.push(encodeRequest(apiKey, version, 1, 'fuzz', body as never).subarray(4));
    }
  }
  return corpus;
}

function mutate(frame: Buffer, next: () => number): Buffer {
  const out = Buffer.from(frame);
  const rounds = 1 + (next() % 4);
  let buf = out;
  for (let i = 0; i < rounds; i++) {
    const pos = buf.length === 0 ? 0 : next() % buf.length;
    switch (next() % 7) {
      case 0:
        if (buf.length) buf[pos] = buf[pos]! ^ (1 << (next() % 8));
        break;
      case 1:
        if (buf.length) buf[pos] = [0x00, 0xff, 0x7f, 0x80, 0x01][next() % 5]!;
        break;
      case 2:
        buf = buf.subarray(0, pos);
        break;
      case 3: {
        const extra = Buffer.alloc(1 + (next() % 8));
        for (let j = 0; j < extra.length; j++) extra[j] = next() & 0xff;
        buf = Buffer.concat([buf.subarray(0, pos), extra, buf.subarray(pos)]);
        break;
      }
      case 4:
        if (buf.length >= pos + 4) buf.writeInt32BE(next() | 0, pos);
        break;
      case 5: {
        // re-target the body at another api/version to cross-decode foreign layouts
        const apis = supportedApiVersions();
        const api = apis[next() % apis.length]!;
        if (buf.length >= 4) {
          buf.writeInt16BE(api.apiKey, 0);
          buf.writeInt16BE(api.minVersion + (next() % (api.maxVersion - api.minVersion + 1)), 2);
        }
        break;
      }
      default:
        if (buf.length > 1) buf = Buffer.concat([buf, buf.subarray(pos)]);
    }
  }
  return buf;
}

function randomFrame(next: () => number): Buffer {
  const apis = supportedApiVersions();
  const api = apis[next() % apis.length]!;
  const out = Buffer.alloc(8 + (next() % 64));
  for (let i = 0; i < out.length; i++) out[i] = next() & 0xff;
  out.writeInt16BE(api.apiKey, 0);
  out.writeInt16BE(api.minVersion + (next() % (api.maxVersion - api.minVersion + 1)), 2);
  if (next() % 2) out.writeInt16BE(-1, 8 > out.length - 2 ? 0 : 8);
  return out;
}

export interface FuzzReport {
  iterations: number;
  decoded: number;
  rejected: number;
}

/** Runs `iterations` frames; throws (with the offending frame in hex) on any non-ProtocolError. */
export function fuzzRequestDecoder(iterations: number, seed = 1): FuzzReport {
  const next = rng(seed);
  const corpus = buildCorpus(seed);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < iterations; i++) {
    const frame = i % 5 === 0 ? randomFrame(next) : mutate(corpus[next() % corpus.length]!, next);
    try {
      const { header, bodyOffset } = decodeRequestHeader(frame);
      if (isVersionSupported(header.requestApiKey, header.requestApiVersion)) {
        decodeRequest(header.requestApiKey, header.requestApiVersion, frame, bodyOffset);
      }
      decoded++;
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        throw new Error(`iteration ${i}: ${(err as Error).name}: ${(err as Error).message}\nframe: ${frame.toString('hex')}`, {
          cause: err,
        });
      }
      rejected++;
    }
  }
  return { iterations, decoded, rejected };
}

/**
 * Mutated record batches (plain and gzip) through validateRecordBatches (must never throw: it runs on every
 * produced record set) and decodeRecordBatch (may only throw ProtocolError).
 */
export function fuzzRecordBatches(iterations: number, seed = 1): FuzzReport {
  const next = rng(seed);
  const records = Array.from({ length: 5 }, (_, i) => ({
    key: i % 2 ? null : Buffer.from(`key-${i}`),
    value: Buffer.alloc(i * 7, i),
    headers: i % 3 ? [] : [{ key: 'h', value: Buffer.from('v') }],
    timestamp: 1_700_000_000_000 + i,
  }));
  const corpus = [
    encodeRecordBatch({ records }),
    encodeRecordBatch({ records, compression: 'gzip' }),
    Buffer.concat([encodeRecordBatch({ records }), encodeRecordBatch({ records: records.slice(0, 1) })]),
  ];
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < iterations; i++) {
    const batch = mutate(corpus[next() % corpus.length]!, next);
    validateRecordBatches(batch); // throws nothing: any exception here fails the run
    try {
      decodeRecordBatch(batch);
      decoded++;
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        throw new Error(`iteration ${i}: ${(err as Error).name}: ${(err as Error).message}\nbatch: ${batch.toString('hex')}`, { cause: err });
      }
      rejected++;
    }
  }
  return { iterations, decoded, rejected };
}
