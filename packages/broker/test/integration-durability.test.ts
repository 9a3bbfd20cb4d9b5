// Durability against the real process: a graceful restart keeps data and idempotent-producer state, and a
// kill -9 during acks=1 / acks=-1 produce loses no acknowledged record (default fsync policy).
import { test } from 'node:test';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { startBroker, tempDataDir, type BrokerProcess } from './support/broker-process.js';
import { WireClient } from './support/wire-client.js';
import { batchOf, recordsIn } from './support/batches.js';

async function createTopic(c: WireClient, name: string): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  assert.equal(r.topics[0].errorCode, ErrorCode.NONE);
}

function produce(c: WireClient, topic: string, records: Buffer, acks: number): Promise<any> {
  return c
    .request(ApiKey.Produce, 9, { transactionalId: null, acks, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] })
    .then((r) => r.responses[0].partitionResponses[0]);
}

async function readAll(c: WireClient, topic: string): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = 0;
  for (let i = 0; i < 10000; i++) {
    const r = await c.request(ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 4 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 4 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const p = r.responses[0].partitions[0];
    assert.equal(p.errorCode, ErrorCode.NONE);
    const recs = recordsIn(p.records).filter((x) => x.offset >= offset);
    for (const x of recs) out.push({ offset: x.offset, value: x.value!.toString() });
    if (recs.length === 0) return out;
    offset = recs[recs.length - 1]!.offset + 1;
  }
  throw new Error('readAll did not finish');
}

test('graceful restart keeps records and idempotent producer state', async () => {
  const { dir, cleanup } = tempDataDir();
  let broker: BrokerProcess | undefined = await startBroker({ dataDir: dir });
  try {
    let c = await WireClient.connect('127.0.0.1', broker.kafka.port);
    await createTopic(c, 'kept');
    const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    const pid = init.producerId;
    const batches = [0, 1, 2].map((i) => batchOf([{ key: null, value: Buffer.from(`m${i}`) }], { producerId: pid, producerEpoch: 0, baseSequence: i }));
    const offsets: number[] = [];
    for (const b of batches) offsets.push((await produce(c, 'kept', Buffer.from(b), -1)).baseOffset);
    c.close();
    assert.equal(await broker.stop('SIGTERM'), 0);
    assert.ok(!existsSync(join(dir, 'ports.json')), 'ports.json is removed at shutdown');
    // Leave the data of a topic the catalogue does not know (as a crash in the middle of DeleteTopics would).
    cpSync(join(dir, 'topics', 'kept-0'), join(dir, 'topics', 'ghost-0'), { recursive: true });
    cpSync(join(dir, 'producer-state', 'kept-0.json'), join(dir, 'producer-state', 'ghost-0.json'));

    broker = await startBroker({ dataDir: dir });
    assert.ok(!existsSync(join(dir, 'topics', 'ghost-0')), 'orphaned partition data is removed at start');
    c = await WireClient.connect('127.0.0.1', broker.kafka.port);
    assert.deepEqual((await readAll(c, 'kept')).map((r) => r.value), ['m0', 'm1', 'm2']);
    const retry = await produce(c, 'kept', Buffer.from(batches[2]!), -1);
    assert.equal(retry.errorCode, ErrorCode.NONE);
    assert.equal(retry.baseOffset, offsets[2], 'a retry after restart gets the original offset');
    const gap = await produce(c, 'kept', batchOf([{ key: null, value: Buffer.from('x') }], { producerId: pid, producerEpoch: 0, baseSequence: 9 }), -1);
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const next = await produce(c, 'kept', batchOf([{ key: null, value: Buffer.from('m3') }], { producerId: pid, producerEpoch: 0, baseSequence: 3 }), -1);
    assert.equal(next.baseOffset, 3);
    // A topic re-created under a deleted topic's name starts empty.
    await createTopic(c, 'ghost');
    assert.deepEqual(await readAll(c, 'ghost'), []);
    const del = await c.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'kept', topicId: Buffer.alloc(16) }], timeoutMs: 5000 });
    assert.equal(del.responses[0].errorCode, ErrorCode.NONE);
    await createTopic(c, 'kept');
    assert.deepEqual(await readAll(c, 'kept'), []);
    c.close();
  } finally {
    await broker?.stop('SIGKILL');
    cleanup();
  }
});

test('kill -9 during acks=1 and acks=-1 produce loses no acknowledged record; producer state is rebuilt from the log', async () => {
  const { dir, cleanup } = tempDataDir();
  let broker: BrokerProcess | undefined = await startBroker({ dataDir: dir });
  try {
    const setup = await WireClient.connect('127.0.0.1', broker.kafka.port);
    await createTopic(setup, 'crash');
    const init = await setup.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    setup.close();

    const acked = new Map<string, number>(); // value -> offset acknowledged
    const idempotentBatches: Buffer[] = []; // by sequence number
    const killAfterAcks = 300;
    let killed = false;
    const kill = (): void => {
      if (!killed) {
        killed = true;
        broker!.proc.kill('SIGKILL');
      }
    };

    // Two producers, each keeping up to 8 requests in flight: one acks=-1 idempotent, one acks=1 plain.
    const run = async (name: string, acks: number, idempotent: boolean): Promise<void> => {
      const c = await WireClient.connect('127.0.0.1', broker!.kafka.port);
      let seq = 0;
      const inFlight = new Set<Promise<void>>();
      try {
        for (let i = 0; i < 5000 && !killed; i++) {
          const value = `${name}-${i}`;
          const producer = idempotent ? { producerId: init.producerId, producerEpoch: 0, baseSequence: seq++ } : undefined;
          const batch = batchOf([{ key: Buffer.from(name), value: Buffer.from(value) }], producer);
          if (idempotent) idempotentBatches.push(Buffer.from(batch));
          const p = produce(c, 'crash', batch, acks).then(
            (r) => {
              if (r.errorCode === ErrorCode.NONE) {
                acked.set(value, r.baseOffset);
                if (acked.size >= killAfterAcks) kill();
              }
            },
            () => undefined, // the connection died with the broker: not acknowledged
          );
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          if (inFlight.size >= 8) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
      } finally {
        c.close();
      }
    };
    await Promise.all([run('all', -1, true), run('one', 1, false)]);
    assert.ok(killed, 'the broker was killed mid-run');
    await broker.stop('SIGKILL');
    assert.ok(acked.size >= killAfterAcks);

    broker = await startBroker({ dataDir: dir });
    const c = await WireClient.connect('127.0.0.1', broker.kafka.port);
    const records = await readAll(c, 'crash');
    const seen = new Map<string, number>();
    for (const r of records) seen.set(r.value, (seen.get(r.value) ?? 0) + 1);
    for (const value of acked.keys()) {
      assert.equal(seen.get(value), 1, `acknowledged record ${value} present exactly once`);
    }
    const byOffset = new Map(records.map((r) => [r.value, r.offset]));
    for (const [value, offset] of acked) assert.equal(byOffset.get(value), offset, `${value} at its acknowledged offset`);
    for (const name of ['all', 'one']) {
      const mine = records.filter((r) => r.value.startsWith(`${name}-`)).map((r) => Number(r.value.slice(name.length + 1)));
      assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `${name}: records in send order`);
    }
    // Producer state came back from the log headers: a retry of the last stored batch of the idempotent
    // producer is answered as a duplicate with its stored offset.
    const lastStored = records.filter((r) => r.value.startsWith('all-')).pop()!;
    const retry = await produce(c, 'crash', Buffer.from(idempotentBatches[Number(lastStored.value.slice(4))]!), -1);
    assert.equal(retry.errorCode, ErrorCode.NONE);
    assert.equal(retry.baseOffset, lastStored.offset);
    c.close();
  } finally {
    await broker?.stop('SIGTERM');
    cleanup();
  }
});

test('SIGTERM answers a pending long-poll fetch, then exits 0', async () => {
  const { dir, cleanup } = tempDataDir();
  const broker = await startBroker({ dataDir: dir });
  try {
    const c = await WireClient.connect('127.0.0.1', broker.kafka.port);
    await createTopic(c, 'idle');
    const bytesIn = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${broker.http.port}/metrics`)).text();
      return Number(/^tributary_bytes_in_total (\d+)/m.exec(text)![1]);
    };
    const before = await bytesIn();
    const pending = c.request(ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 60000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'idle', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    // Wait (bounded) until the broker has read the fetch, so it is parked when the signal lands.
    for (let i = 0; i < 200 && (await bytesIn()) === before; i++) await new Promise((r) => setTimeout(r, 10));
    const exited = broker.stop('SIGTERM');
    const answer = await pending;
    assert.equal(answer.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal(await exited, 0);
    c.close();
  } finally {
    await broker.stop('SIGKILL');
    cleanup();
  }
});
