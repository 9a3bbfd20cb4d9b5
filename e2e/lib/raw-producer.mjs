// An idempotent producer over the raw protocol, for tests that must control exactly what is retried: one batch per
// send, a producer id from InitProducerId, a sequence per partition, and retries of the SAME batch bytes (same producer
// id, epoch and sequence) at whichever node currently leads, after a timeout, a lost connection or
// NOT_LEADER_OR_FOLLOWER. Java/librdkafka do the same internally; here each attempt is visible to the test.
import { encodeBatch } from './record-batch.mjs';
import { ERROR, WireConnection, initProducerId, produce } from './kafka-wire.mjs';
import { sleep } from './proc.mjs';

const RETRIABLE = new Set([ERROR.NOT_LEADER_OR_FOLLOWER, ERROR.LEADER_NOT_AVAILABLE, ERROR.REQUEST_TIMED_OUT, ERROR.NOT_ENOUGH_REPLICAS]);

export class RawIdempotentProducer {
  /** @param {import('./cluster.mjs').LocalCluster} cluster */
  constructor(cluster, topic, { requestTimeoutMs = 2000, log = () => {} } = {}) {
    this.cluster = cluster;
    this.topic = topic;
    this.requestTimeoutMs = requestTimeoutMs;
    this.log = log;
    this.nextSequence = new Map();
    this.producerId = -1;
    this.producerEpoch = -1;
  }

  async init(timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const n of this.cluster.nodes.filter((x) => x.serving)) {
        try {
          const conn = await WireConnection.connect('127.0.0.1', n.kafkaPort);
          try {
            const r = await initProducerId(conn);
            if (r.errorCode === 0) {
              this.producerId = r.producerId;
              this.producerEpoch = r.producerEpoch;
              return this;
            }
          } finally {
            conn.close();
          }
        } catch {
          // next node
        }
      }
      if (Date.now() > deadline) throw new Error(`InitProducerId failed on every node for ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  /** The next batch for `partition` (its sequence is taken now; every retry sends these same bytes). */
  nextBatch(partition, records) {
    const baseSequence = this.nextSequence.get(partition) ?? 0;
    this.nextSequence.set(partition, baseSequence + records.length);
    const bytes = encodeBatch(records, { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence });
    return { partition, baseSequence, bytes, count: records.length };
  }

  /**
   * One attempt at node `nodeId`: resolves { errorCode, baseOffset } or { failure: message } (timeout, refused,
   * connection lost). `onSent` runs right after the request is written (to inject a fault mid-request).
   */
  async attempt(nodeId, batch, { onSent } = {}) {
    const node = this.cluster.node(nodeId);
    let conn;
    try {
      conn = await WireConnection.connect('127.0.0.1', node.kafkaPort, { timeoutMs: this.requestTimeoutMs });
    } catch (e) {
      return { failure: `connect: ${e.message}` };
    }
    try {
      const pending = produce(conn, { topic: this.topic, partition: batch.partition, batch: batch.bytes, acks: -1, timeoutMs: this.requestTimeoutMs });
      pending.catch(() => {});
      if (onSent) await onSent();
      return await pending;
    } catch (e) {
      return { failure: e.message };
    } finally {
      conn.close();
    }
  }

  /**
   * Sends `batch` until a node answers without a retriable error (bounded by timeoutMs), always to the node that
   * currently leads the partition. Returns { baseOffset, attempts, leader }; throws on a non-retriable error.
   */
  async sendUntilAcked(batch, { timeoutMs = 60_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let attempts = 0;
    let last = '';
    while (Date.now() < deadline) {
      const leader = await this.cluster.leaderOf(this.topic, batch.partition);
      if (leader < 0 || !this.cluster.node(leader).serving) {
        last = `no serving leader (${leader})`;
        await sleep(200);
        continue;
      }
      attempts++;
      const r = await this.attempt(leader, batch);
      if (r.failure) last = r.failure;
      else if (r.errorCode === ERROR.NONE) return { baseOffset: r.baseOffset, attempts, leader };
      else if (RETRIABLE.has(r.errorCode)) last = `error ${r.errorCode} from node ${leader}`;
      else throw new Error(`partition ${batch.partition} sequence ${batch.baseSequence}: node ${leader} answered error ${r.errorCode}`);
      await sleep(100);
    }
    throw new Error(`partition ${batch.partition} sequence ${batch.baseSequence}: not acknowledged within ${timeoutMs} ms after ${attempts} attempts (last: ${last})`);
  }
}
