// Bad input closes only the offending connection; everyone else keeps producing and consuming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { ApiKey, ErrorCode, encodeRequest } from '@tributary/protocol';
import { startBroker, tempDataDir } from './support/broker-process.js';
import { WireClient } from './support/wire-client.js';
import { batchOf, recordsIn } from './support/batches.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolvePromise, reject) => {
    const s = connect(port, '127.0.0.1', () => resolvePromise(s));
    s.on('error', reject);
  });
}

function closedByServer(s: Socket): Promise<void> {
  return new Promise((resolvePromise) => {
    s.on('error', () => undefined);
    s.on('close', () => resolvePromise());
  });
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be replayed. */
function randomBytes(seed: number, n: number): Buffer {
  let x = seed || 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('truncated frames, random bytes, a 2 GiB size prefix and unknown API keys do not disturb other clients', async () => {
  const { dir, cleanup } = tempDataDir();
  const broker = await startBroker({ dataDir: dir });
  const port = broker.kafka.port;
  const good = await WireClient.connect('127.0.0.1', port);
  try {
    // A well-behaved client on its own connection, created before the attacks.
    const created = await good.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'survivor', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);

    // 2 GiB length prefix: refused at once.
    const huge = await open(port);
    const hugeClosed = closedByServer(huge);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0x80000000 - 1);
    huge.write(prefix);
    await hugeClosed;

    // Negative length prefix.
    const negative = await open(port);
    const negativeClosed = closedByServer(negative);
    negative.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    await negativeClosed;

    // Unknown API keys (well-framed): Kafka closes the connection.
    for (const key of [999, 32000, -1]) {
      const s = await open(port);
      const closed = closedByServer(s);
      const frame = Buffer.alloc(4 + 10);
      frame.writeInt32BE(10, 0);
      frame.writeInt16BE(key, 4);
      frame.writeInt16BE(0, 6);
      frame.writeInt32BE(1, 8);
      frame.writeInt16BE(-1, 12); // null client id
      s.write(frame);
      await closed;
    }

    // A well-framed request whose body is truncated (Metadata v12 with only half its body).
    const full = encodeRequest(ApiKey.Metadata, 12, 5, 'cut', { topics: [{ topicId: Buffer.alloc(16), name: 'abcdefgh' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false } as never);
    const cut = Buffer.from(full.subarray(0, full.length - 12));
    cut.writeInt32BE(cut.length - 4, 0);
    const truncatedBody = await open(port);
    const truncatedClosed = closedByServer(truncatedBody);
    truncatedBody.write(cut);
    await truncatedClosed;

    // A frame cut off mid-way by the client (the broker waits for the rest; the client goes away).
    const partial = await open(port);
    partial.write(full.subarray(0, 9));
    partial.destroy();

    // Random bytes, several seeds: each connection is closed by the broker or left waiting for more bytes.
    const randoms: Socket[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const s = await open(port);
      s.on('error', () => undefined);
      s.write(randomBytes(seed * 7919, 64 + seed * 50));
      randoms.push(s);
    }

    // The good client still produces and consumes.
    const batch = batchOf([{ key: Buffer.from('k'), value: Buffer.from('still here') }]);
    const produced = await good.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'survivor', partitionData: [{ index: 0, records: batch }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const other = await WireClient.connect('127.0.0.1', port);
    const fetched = await other.request(ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'survivor', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    assert.deepEqual(recordsIn(fetched.responses[0].partitions[0].records).map((r) => r.value!.toString()), ['still here']);
    other.close();
    for (const s of randoms) s.destroy();

    const metrics = await (await fetch(`http://127.0.0.1:${broker.http.port}/metrics`)).text();
    assert.match(metrics, /tributary_connections_closed_total\{reason="frame_size"\} [2-9]/);
    assert.match(metrics, /tributary_connections_closed_total\{reason="rejected_request"\} [3-9]/);
    assert.match(broker.output(), /closing connection after bad input/);
  } finally {
    good.close();
    assert.equal(await broker.stop('SIGTERM'), 0);
    cleanup();
  }
});
