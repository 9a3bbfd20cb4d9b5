// Golden frames built byte by byte from the Kafka protocol specification's layouts, mirroring what real
// clients send (see each test's comment for the source of the vector).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiKey,
  ErrorCode,
  ProtocolError,
  decodeRequestHeader,
  decodeRequest,
  encodeResponse,
  encodeResponseChunks,
  decodeResponse,
  encodeRequest,
  supportedApiVersions,
  errorName,
  apiKeyName,
} from '../src/index.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

test('kafkajs ApiVersions v2 request (header v1, empty body)', () => {
  // kafkajs 2.2.4 opens every connection with ApiVersions v2, clientId "my-app".
  const frame = hex('0012 0002 00000001 0006 6d792d617070');
  const { header, bodyOffset } = decodeRequestHeader(frame);
  assert.deepEqual(header, { requestApiKey: 18, requestApiVersion: 2, correlationId: 1, clientId: 'my-app' });
  assert.equal(bodyOffset, frame.length);
  assert.deepEqual(decodeRequest(ApiKey.ApiVersions, 2, frame, bodyOffset), {
    clientSoftwareName: '',
    clientSoftwareVersion: '',
  });
});

test('librdkafka flexible ApiVersions v3 request (header v2, compact strings, tagged fields)', () => {
  // librdkafka 2.x: header v2 keeps the classic int16 client id, then an empty tag section;
  // body: compact "librdkafka", compact "2.0.2", empty tag section.
  const frame = hex('0012 0003 0000002a 0007 72646b61666b61 00  0b 6c696272646b61666b61 06 322e302e32 00');
  const { header, bodyOffset } = decodeRequestHeader(frame);
  assert.deepEqual(header, { requestApiKey: 18, requestApiVersion: 3, correlationId: 42, clientId: 'rdkafka' });
  assert.equal(bodyOffset, 2 + 2 + 4 + 2 + 7 + 1);
  assert.deepEqual(decodeRequest(ApiKey.ApiVersions, 3, frame, bodyOffset), {
    clientSoftwareName: 'librdkafka',
    clientSoftwareVersion: '2.0.2',
  });
});

test('kafkajs Metadata v6 request (topics array + allowAutoTopicCreation)', () => {
  const frame = hex('0003 0006 00000005 0006 6d792d617070  00000001 0005 746f706963  01');
  const { header, bodyOffset } = decodeRequestHeader(frame);
  assert.equal(header.requestApiKey, ApiKey.Metadata);
  assert.deepEqual(decodeRequest(ApiKey.Metadata, 6, frame, bodyOffset), {
    topics: [{ topicId: Buffer.alloc(16), name: 'topic' }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  // null topics (all topics) in v1+
  const all = hex('0003 0006 00000005 ffff ffffffff 00');
  const decoded = decodeRequest(ApiKey.Metadata, 6, all, decodeRequestHeader(all).bodyOffset);
  assert.equal(decoded.topics, null);
  assert.equal(decoded.allowAutoTopicCreation, false);
});

test('ApiVersions UNSUPPORTED_VERSION fallback is v0-framed (header v0, no throttle time)', () => {
  const ranges = [{ apiKey: 18, minVersion: 0, maxVersion: 4 }];
  const frame = encodeResponse(ApiKey.ApiVersions, 0, 99, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: ranges });
  assert.deepEqual(frame, hex('00000010 00000063 0023 00000001 0012 0000 0004'));
});

test('ApiVersions v3 response uses header v0 but a flexible body', () => {
  const frame = encodeResponse(ApiKey.ApiVersions, 3, 1, {
    errorCode: 0,
    apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }],
    throttleTimeMs: 0,
  });
  // size, correlation id (no header tag section), errorCode, compact array(1), entry + tags, throttle, tags
  assert.deepEqual(frame, hex('00000013 00000001 0000 02 0000 0003 000b 00 00000000 00'));
  const decoded = decodeResponse(ApiKey.ApiVersions, 3, frame.subarray(4));
  assert.equal(decoded.correlationId, 1);
  assert.deepEqual(decoded.body.apiKeys, [{ apiKey: 0, minVersion: 3, maxVersion: 11 }]);
});

test('flexible response header v1 carries an empty tag section', () => {
  const frame = encodeResponse(ApiKey.Metadata, 9, 7, { brokers: [], topics: [] });
  // size | corr | header tags | throttle | brokers[] | clusterId null | controllerId | topics[] | clusterAuthorizedOperations (v8-10) | tags
  assert.deepEqual(frame, hex('00000015 00000007 00 00000000 01 00 ffffffff 01 80000000 00'));
});

test('Produce v3 request as kafkajs sends it', () => {
  const records = hex('0102');
  const frame = encodeRequest(ApiKey.Produce, 3, 11, 'my-app', {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
  });
  assert.deepEqual(
    frame.subarray(4),
    hex('0000 0003 0000000b 0006 6d792d617070 ffff ffff 00007530 00000001 0001 74 00000001 00000000 00000002 0102'),
  );
});

test('every advertised API has a positive range', () => {
  for (const r of supportedApiVersions()) assert.ok(r.minVersion <= r.maxVersion, String(r.apiKey));
});

test('tagged fields: known tags decode, unknown tags are skipped (header and body)', () => {
  // ApiVersions v3 request; header tag section holds unknown tag 5 (2 bytes); body tag section holds unknown tag 9.
  const frame = hex('0012 0003 00000001 0001 61  01 05 02 abcd   02 78 02 79  01 09 01 ff');
  const { bodyOffset } = decodeRequestHeader(frame);
  assert.equal(bodyOffset, 2 + 2 + 4 + 3 + 5);
  assert.deepEqual(decodeRequest(ApiKey.ApiVersions, 3, frame, bodyOffset), { clientSoftwareName: 'x', clientSoftwareVersion: 'y' });

  // FetchRequest v12: ClusterId is tagged field 0 of the top-level struct.
  const body = { clusterId: 'c1', replicaId: -1, maxWaitMs: 500, minBytes: 1, topics: [] };
  const withTag = encodeRequest(ApiKey.Fetch, 12, 3, null, body).subarray(4);
  // header: key, version, corr, null client id, empty header tags
  assert.deepEqual(withTag.subarray(0, 11), hex('0001 000c 00000003 ffff 00'));
  // body ends with: topics [] (01), forgotten [] (01), rackId "" (01), tags: count 1, tag 0, size 3, compact "c1"
  assert.deepEqual(withTag.subarray(withTag.length - 9), hex('01 01 01 01 00 03 03 6331'));
  const decoded = decodeRequest(ApiKey.Fetch, 12, withTag, decodeRequestHeader(withTag).bodyOffset);
  assert.equal(decoded.clusterId, 'c1');
  assert.equal(decoded.maxBytes, 0x7fffffff, 'absent in the request: default');
  // a tagged field equal to its default is not written
  const withoutTag = encodeRequest(ApiKey.Fetch, 12, 3, null, { ...body, clusterId: null }).subarray(4);
  assert.equal(withoutTag.length, withTag.length - 5);
});

test('int64 values: negative, beyond 2^32 and clamped beyond int64', () => {
  const frame = encodeResponse(ApiKey.InitProducerId, 1, 1, { throttleTimeMs: 0, errorCode: 0, producerId: 2 ** 40 + 5, producerEpoch: 2 });
  assert.deepEqual(frame.subarray(14, 22), hex('0000010000000005'));
  assert.equal(decodeResponse(ApiKey.InitProducerId, 1, frame.subarray(4)).body.producerId, 2 ** 40 + 5);
  const negative = encodeResponse(ApiKey.InitProducerId, 1, 1, { throttleTimeMs: 0, errorCode: 0, producerId: -2, producerEpoch: 0 });
  assert.deepEqual(negative.subarray(14, 22), hex('fffffffffffffffe'));
  const clamped = encodeResponse(ApiKey.InitProducerId, 1, 1, { throttleTimeMs: 0, errorCode: 0, producerId: 2 ** 64, producerEpoch: 0 });
  assert.deepEqual(clamped.subarray(14, 22), hex('7fffffffffffffff'));
});

test('malformed input raises ProtocolError, never RangeError', () => {
  assert.throws(() => decodeRequestHeader(hex('0012 00')), ProtocolError);
  assert.throws(() => decodeRequestHeader(hex('0012 0002 00000001 0010 61')), ProtocolError); // client id longer than frame
  // Metadata v1 with a topics count far beyond the frame: rejected before allocation
  const huge = hex('0003 0001 00000001 ffff 7fffffff');
  assert.throws(() => decodeRequest(ApiKey.Metadata, 1, huge, decodeRequestHeader(huge).bodyOffset), /exceeds/);
  // null array where the schema does not allow it (Produce topicData)
  const nullTopics = hex('0000 0003 00000001 ffff ffff ffff 00007530 ffffffff');
  assert.throws(() => decodeRequest(ApiKey.Produce, 3, nullTopics, decodeRequestHeader(nullTopics).bodyOffset), ProtocolError);
  assert.throws(() => decodeRequest(999, 0, nullTopics, 10), ProtocolError);
  // unknown api: header still decodes so the broker can answer
  assert.deepEqual(decodeRequestHeader(hex('03e7 0000 00000009 ffff')).header, {
    requestApiKey: 999,
    requestApiVersion: 0,
    correlationId: 9,
    clientId: null,
  });
});

test('encodeResponseChunks: same bytes as encodeResponse, large records passed through without copying', () => {
  const big = Buffer.alloc(4096, 7);
  const small = Buffer.alloc(10, 1);
  for (const version of [4, 11, 12]) {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 't',
          partitions: [
            { partitionIndex: 0, errorCode: 0, highWatermark: 5, records: big },
            { partitionIndex: 1, errorCode: 0, highWatermark: 5, records: small },
            { partitionIndex: 2, errorCode: 0, highWatermark: 5, records: null },
            { partitionIndex: 3, errorCode: 0, highWatermark: 5, records: big },
          ],
        },
      ],
    };
    const chunks = encodeResponseChunks(ApiKey.Fetch, version, 9, body);
    assert.deepEqual(Buffer.concat(chunks), encodeResponse(ApiKey.Fetch, version, 9, body));
    assert.equal(chunks.filter((c) => c === big).length, 2, 'the 4 KiB records buffer is a chunk of its own, twice');
    assert.ok(!chunks.includes(small), 'small records are copied');
  }
  // no records at all: a single chunk
  const plain = encodeResponseChunks(ApiKey.Heartbeat, 4, 1, { throttleTimeMs: 0, errorCode: 0 });
  assert.equal(plain.length, 1);
  assert.deepEqual(plain[0], encodeResponse(ApiKey.Heartbeat, 4, 1, { throttleTimeMs: 0, errorCode: 0 }));
});

test('error codes and api keys: names and numbers', () => {
  assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
  assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  assert.equal(ErrorCode.CORRUPT_MESSAGE, 2);
  assert.equal(ErrorCode.INVALID_RECORD, 87);
  assert.equal(errorName(6), 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(errorName(9999), 'UNKNOWN_ERROR_CODE(9999)');
  // codes are unique and contiguous from -1
  const codes = Object.values(ErrorCode).sort((a, b) => a - b);
  assert.deepEqual(codes, Array.from({ length: codes.length }, (_, i) => i - 1));
  assert.equal(apiKeyName(ApiKey.Produce), 'Produce');
  assert.equal(apiKeyName(ApiKey.DescribeCluster), 'DescribeCluster');
  assert.equal(apiKeyName(12345), 'Unknown(12345)');
});
