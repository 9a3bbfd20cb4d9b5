// Micro-benchmark of the compiled codec on the hot paths: decode a Produce request and encode a Fetch
// response, each carrying a 64 KiB records field. Bounded: a fixed number of iterations per case.
// Run: npx tsc -b packages/protocol && npm run bench -w @tributary/protocol
import {
  ApiKey,
  decodeRequestHeader,
  decodeRequest,
  encodeRequest,
  encodeResponse,
  encodeResponseChunks,
  encodeRecordBatch,
} from '../src/index.js';

const RECORDS_BYTES = 64 * 1024;
const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 20_000);

const records = encodeRecordBatch({
  baseTimestamp: 1_700_000_000_000,
  records: Array.from({ length: 64 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(RECORDS_BYTES / 64 - 20, i) })),
});

/** Runs ITERATIONS calls in 5 rounds; prints the best and the median round (the machine is shared, so rounds vary). */
function measure(name: string, fn: () => unknown): void {
  for (let i = 0; i < Math.min(2000, ITERATIONS); i++) fn(); // warm-up (JIT)
  const perRound = Math.max(1, Math.floor(ITERATIONS / 5));
  const rounds: number[] = [];
  let sink = 0;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) sink += fn() === undefined ? 0 : 1;
    rounds.push(Number(process.hrtime.bigint() - start) / perRound);
  }
  rounds.sort((a, b) => a - b);
  const best = rounds[0]!.toFixed(0).padStart(7);
  const median = rounds[2]!.toFixed(0).padStart(7);
  console.log(`${name.padEnd(62)} best ${best} ns/op  median ${median} ns/op  (${perRound * 5} calls, ${sink > 0 ? 'ok' : '?'})`);
}

for (const version of [7, 9]) {
  const frame = encodeRequest(ApiKey.Produce, version, 1, 'bench', {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: 'bench-topic', partitionData: [{ index: 0, records }] }],
  }).subarray(4);
  measure(`decode Produce v${version} request (${records.length} B records)`, () => {
    const { header, bodyOffset } = decodeRequestHeader(frame);
    return decodeRequest(ApiKey.Produce, header.requestApiVersion, frame, bodyOffset);
  });
}

const fetchBody = {
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 0,
  responses: [
    {
      topic: 'bench-topic',
      partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 1000, lastStableOffset: 1000, logStartOffset: 0, abortedTransactions: null, records }],
    },
  ],
};
for (const version of [11, 12]) {
  measure(`encodeResponseChunks Fetch v${version} (${records.length} B records, no copy)`, () =>
    encodeResponseChunks(ApiKey.Fetch, version, 1, fetchBody),
  );
}

for (const version of [11, 12]) {
  measure(`encode Fetch v${version} response (${records.length} B records)`, () =>
    encodeResponse(ApiKey.Fetch, version, 1, {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'bench-topic',
          partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 1000, lastStableOffset: 1000, logStartOffset: 0, abortedTransactions: null, records }],
        },
      ],
    }),
  );
}

const metadataBody = {
  brokers: [0, 1, 2].map((nodeId) => ({ nodeId, host: `broker-${nodeId}.local`, port: 9092, rack: null })),
  clusterId: 'bench',
  controllerId: 0,
  topics: Array.from({ length: 10 }, (_, t) => ({
    errorCode: 0,
    name: `topic-${t}`,
    partitions: Array.from({ length: 12 }, (_, p) => ({ errorCode: 0, partitionIndex: p, leaderId: p % 3, leaderEpoch: 1, replicaNodes: [0, 1, 2], isrNodes: [0, 1, 2], offlineReplicas: [] })),
  })),
};
measure('encode Metadata v12 response (10 topics x 12 partitions)', () => encodeResponse(ApiKey.Metadata, 12, 1, metadataBody));
