// A tiny TCP responder built only from this package's codec (used by the client interop tests): answers
// ApiVersions, Metadata, CreateTopics, Produce, Fetch, ListOffsets and InitProducerId for single-partition topics on
// node 0 (Fetch returns every stored batch that ends at or after the fetch offset).
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  ApiKey,
  ErrorCode,
  decodeRequestHeader,
  decodeRequest,
  encodeResponse,
  isVersionSupported,
  supportedApiVersions,
  validateRecordBatches,
  setBaseOffset,
  apiKeyName,
} from '../src/index.js';

export interface Captured {
  apiKey: number;
  apiVersion: number;
}

export function startResponder(): Promise<{ server: net.Server; port: number; seen: Captured[]; log: Buffer[]; errors: Error[] }> {
  const seen: Captured[] = [];
  const log: Buffer[] = [];
  const errors: Error[] = [];
  let nextOffset = 0;
  const server = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (pending.length < 4 + size) break;
        const frame = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        try {
          socket.write(answer(frame));
        } catch (err) {
          errors.push(err as Error);
          socket.destroy();
          return;
        }
      }
    });
    socket.on('error', () => socket.destroy());
  });

  const port = (): number => (server.address() as net.AddressInfo).port;

  function answer(frame: Buffer): Buffer {
    const { header, bodyOffset } = decodeRequestHeader(frame);
    const { requestApiKey: key, requestApiVersion: version, correlationId } = header;
    seen.push({ apiKey: key, apiVersion: version });
    if (!isVersionSupported(key, version)) {
      assert.equal(key, ApiKey.ApiVersions, `unexpected unsupported request ${apiKeyName(key)} v${version}`);
      return encodeResponse(ApiKey.ApiVersions, 0, correlationId, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: supportedApiVersions() });
    }
    switch (key) {
      case ApiKey.ApiVersions:
        decodeRequest(key, version, frame, bodyOffset);
        return encodeResponse(key, version, correlationId, { errorCode: 0, apiKeys: supportedApiVersions(), throttleTimeMs: 0 });
      case ApiKey.Metadata: {
        const request = decodeRequest(ApiKey.Metadata, version, frame, bodyOffset);
        const names = request.topics?.map((t) => t.name ?? '') ?? ['alpha'];
        return encodeResponse(ApiKey.Metadata, version, correlationId, {
          throttleTimeMs: 0,
          brokers: [{ nodeId: 0, host: '127.0.0.1', port: port(), rack: null }],
          clusterId: 'golden-cluster',
          controllerId: 0,
          topics: names.map((name) => ({
            errorCode: 0,
            name,
            isInternal: false,
            partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] }],
          })),
        });
      }
      case ApiKey.CreateTopics: {
        const request = decodeRequest(ApiKey.CreateTopics, version, frame, bodyOffset);
        return encodeResponse(ApiKey.CreateTopics, version, correlationId, {
          throttleTimeMs: 0,
          topics: request.topics.map((t) => ({ name: t.name, errorCode: 0, errorMessage: null })),
        });
      }
      case ApiKey.Produce: {
        const request = decodeRequest(ApiKey.Produce, version, frame, bodyOffset);
        return encodeResponse(ApiKey.Produce, version, correlationId, {
          throttleTimeMs: 0,
          responses: request.topicData.map((topic) => ({
            name: topic.name,
            partitionResponses: topic.partitionData.map((p) => {
              const records = p.records!;
              const validation = validateRecordBatches(records);
              assert.ok(validation.ok, validation.ok ? '' : validation.message);
              const baseOffset = nextOffset;
              for (const batch of validation.batches) {
                setBaseOffset(records, batch.position, nextOffset);
                nextOffset += batch.recordCount;
              }
              log.push(Buffer.from(records));
              return { index: p.index, errorCode: 0, baseOffset, logAppendTimeMs: -1, logStartOffset: 0 };
            }),
          })),
        });
      }
      case ApiKey.ListOffsets: {
        const request = decodeRequest(ApiKey.ListOffsets, version, frame, bodyOffset);
        return encodeResponse(ApiKey.ListOffsets, version, correlationId, {
          throttleTimeMs: 0,
          topics: request.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: 0,
              timestamp: -1,
              offset: p.timestamp === -2 ? 0 : nextOffset,
              oldStyleOffsets: [nextOffset],
            })),
          })),
        });
      }
      case ApiKey.Fetch: {
        const request = decodeRequest(ApiKey.Fetch, version, frame, bodyOffset);
        return encodeResponse(ApiKey.Fetch, version, correlationId, {
          throttleTimeMs: 0,
          errorCode: 0,
          sessionId: 0,
          responses: request.topics.map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partition,
              errorCode: 0,
              highWatermark: nextOffset,
              lastStableOffset: nextOffset,
              logStartOffset: 0,
              abortedTransactions: null,
              // every stored batch at or after the fetch offset (whole batches, as a broker serves them)
              records: Buffer.concat(log.filter((b) => b.readInt32BE(0) * 2 ** 32 + b.readUInt32BE(4) + b.readInt32BE(23) >= p.fetchOffset)),
            })),
          })),
        });
      }
      case ApiKey.InitProducerId: {
        decodeRequest(ApiKey.InitProducerId, version, frame, bodyOffset);
        return encodeResponse(ApiKey.InitProducerId, version, correlationId, { throttleTimeMs: 0, errorCode: 0, producerId: 4000, producerEpoch: 0 });
      }
      default:
        throw new Error(`responder does not handle ${apiKeyName(key)}`);
    }
  }

  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: port(), seen, log, errors })));
}
