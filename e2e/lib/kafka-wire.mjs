// A minimal raw Kafka protocol client for the cluster suites: only non-flexible versions (classic encoding), every
// request bounded by a timeout (a SIGSTOPped broker never answers), written from the protocol description (not the
// broker's own codec). Metadata v7 (leaders, epochs, replicas, ISR), CreateTopics v4, InitProducerId v1, Produce v7.
import { connect } from 'node:net';

export const API = { Produce: 0, Metadata: 3, CreateTopics: 19, InitProducerId: 22 };
export const ERROR = { NONE: 0, NOT_LEADER_OR_FOLLOWER: 6, REQUEST_TIMED_OUT: 7, TOPIC_ALREADY_EXISTS: 36, LEADER_NOT_AVAILABLE: 5, OUT_OF_ORDER_SEQUENCE_NUMBER: 45, DUPLICATE_SEQUENCE_NUMBER: 46, NOT_ENOUGH_REPLICAS: 19, NOT_CONTROLLER: 41 };

export class Writer {
  constructor() {
    this.parts = [];
  }
  int8(v) {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    this.parts.push(b);
    return this;
  }
  int16(v) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  int64(v) {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  bool(v) {
    return this.int8(v ? 1 : 0);
  }
  string(s) {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
    return this;
  }
  bytes(b) {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.parts.push(b);
    return this;
  }
  array(items, each) {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  build() {
    return Buffer.concat(this.parts);
  }
}

export class Reader {
  constructor(buf) {
    this.buf = buf;
    this.at = 0;
  }
  int8() {
    return this.buf.readInt8((this.at += 1) - 1);
  }
  int16() {
    return this.buf.readInt16BE((this.at += 2) - 2);
  }
  int32() {
    return this.buf.readInt32BE((this.at += 4) - 4);
  }
  int64() {
    return Number(this.buf.readBigInt64BE((this.at += 8) - 8));
  }
  bool() {
    return this.int8() !== 0;
  }
  string() {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  array(each) {
    const n = this.int32();
    if (n < 0) return null;
    const out = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
}

/** One connection; requests are answered in order (Kafka guarantees it per connection). */
export class WireConnection {
  static connect(host, port, { timeoutMs = 3000, clientId = 'tributary-e2e-wire' } = {}) {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect ${host}:${port}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new WireConnection(socket, clientId));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  constructor(socket, clientId) {
    this.socket = socket;
    this.clientId = clientId;
    this.nextCorrelation = 1;
    this.pending = new Map();
    this.buf = Buffer.alloc(0);
    this.closedError = null;
    socket.on('data', (d) => this.onData(d));
    const fail = (e) => {
      this.closedError = e ?? new Error('connection closed');
      for (const p of this.pending.values()) p.reject(this.closedError);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(null));
  }

  onData(d) {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
      const size = this.buf.readInt32BE(0);
      const frame = this.buf.subarray(4, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      const correlation = frame.readInt32BE(0);
      const p = this.pending.get(correlation);
      if (!p) continue; // answer to a request we gave up on
      this.pending.delete(correlation);
      p.resolve(frame.subarray(4));
    }
  }

  /** Sends a request; resolves with a Reader over the response body. Rejects after timeoutMs (the request may still be processed). */
  request(apiKey, apiVersion, body, timeoutMs = 5000) {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlation = this.nextCorrelation++;
    const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlation).string(this.clientId).build();
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlation);
        reject(Object.assign(new Error(`request api ${apiKey} v${apiVersion}: no answer within ${timeoutMs} ms`), { timedOut: true }));
      }, timeoutMs);
      this.pending.set(correlation, {
        resolve: (buf) => {
          clearTimeout(timer);
          resolve(new Reader(buf));
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(Buffer.concat([size, header, body]));
    });
  }

  close() {
    this.socket.destroy();
  }
}

/** Opens a connection, runs fn(conn), closes it. */
export async function withConnection(host, port, fn, opts) {
  const c = await WireConnection.connect(host, port, opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Metadata v7: { brokers: [{nodeId, host, port}], controllerId, topics: [{name, errorCode, partitions: [{partition, errorCode, leader, leaderEpoch, replicas, isr}]}] } */
export async function metadata(conn, topics = null, timeoutMs = 3000) {
  const body = new Writer().array(topics, (w, t) => w.string(t)).bool(false).build();
  const r = await conn.request(API.Metadata, 7, body, timeoutMs);
  r.int32(); // throttle
  const brokers = r.array((x) => {
    const nodeId = x.int32();
    const host = x.string();
    const port = x.int32();
    x.string(); // rack
    return { nodeId, host, port };
  });
  const clusterId = r.string();
  const controllerId = r.int32();
  const ints = (x) => x.array((y) => y.int32());
  const topicList = r.array((x) => {
    const errorCode = x.int16();
    const name = x.string();
    x.bool(); // internal
    const partitions = x.array((y) => {
      const pErr = y.int16();
      const partition = y.int32();
      const leader = y.int32();
      const leaderEpoch = y.int32();
      const replicas = ints(y);
      const isr = ints(y);
      ints(y); // offline
      return { partition, errorCode: pErr, leader, leaderEpoch, replicas, isr };
    });
    partitions.sort((a, b) => a.partition - b.partition);
    return { name, errorCode, partitions };
  });
  return { brokers, clusterId, controllerId, topics: topicList };
}

/** CreateTopics v4 for one topic; returns the error code (0 = created). */
export async function createTopic(conn, { name, partitions, replicationFactor, configs = {} }, timeoutMs = 20_000) {
  const body = new Writer()
    .array([name], (w) =>
      w
        .string(name)
        .int32(partitions)
        .int16(replicationFactor)
        .array([], () => {})
        .array(Object.entries(configs), (w2, [k, v]) => w2.string(k).string(v)),
    )
    .int32(timeoutMs)
    .bool(false)
    .build();
  const r = await conn.request(API.CreateTopics, 4, body, timeoutMs + 2000);
  r.int32(); // throttle
  const topics = r.array((x) => ({ name: x.string(), errorCode: x.int16(), message: x.string() }));
  return topics[0];
}

/** InitProducerId v1 (no transactional id): { errorCode, producerId, producerEpoch }. */
export async function initProducerId(conn, timeoutMs = 10_000) {
  const body = new Writer().string(null).int32(60_000).build();
  const r = await conn.request(API.InitProducerId, 1, body, timeoutMs);
  r.int32();
  return { errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
}

/** Produce v7, one batch to one partition: { errorCode, baseOffset }. Rejects on timeout / connection loss. */
export async function produce(conn, { topic, partition, batch, acks = -1, timeoutMs = 5000 }) {
  const body = new Writer()
    .string(null)
    .int16(acks)
    .int32(timeoutMs)
    .array([topic], (w) => w.string(topic).array([partition], (w2) => w2.int32(partition).bytes(batch)))
    .build();
  const r = await conn.request(API.Produce, 7, body, timeoutMs + 1000);
  const responses = r.array((x) => ({
    name: x.string(),
    partitions: x.array((y) => ({ partition: y.int32(), errorCode: y.int16(), baseOffset: y.int64(), logAppendTimeMs: y.int64(), logStartOffset: y.int64() })),
  }));
  return responses[0].partitions[0];
}
