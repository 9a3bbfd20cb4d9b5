// Java client (kafka-clients 4.x from Maven Central): idempotent producer (enable.idempotence=true, acks=all) into
// 3 partitions with binary keys/values/headers (null keys and null header values), then assign() + seekToBeginning.
import { roundTrip } from '../lib/round-trip.mjs';
import { ensureJavaClient, javaClient } from '../lib/java.mjs';

export default {
  name: 'java',
  description: 'Java client idempotent produce (acks=all), assign() consume, byte-exact',
  timeoutMs: 240_000,
  async run(ctx) {
    await ensureJavaClient();
    return roundTrip(ctx, {
      topic: 'e2e-java',
      partitions: 3,
      count: 20_000,
      seed: 51,
      recordOptions: { nullHeaderValues: true },
      producer: (f) => javaClient('produce', { bootstrap: f.bootstrap, topic: f.topic, records: f.records, 'acks-out': f.acksOut, partitions: f.partitions, acks: 'all', idempotent: 'true' }),
      consumer: (f) => javaClient('consume-assign', { bootstrap: f.bootstrap, topic: f.topic, partitions: f.partitions, expect: f.expect, out: f.out }),
    });
  },
};
