// confluent-kafka (Python, librdkafka): idempotent producer (acks=all) into 3 partitions, binary keys/values/headers
// (including null keys); read back with assign() from the beginning.
import { roundTrip } from '../lib/round-trip.mjs';
import { pythonClient } from '../lib/python.mjs';

export default {
  name: 'confluent-kafka',
  description: 'confluent-kafka (Python) idempotent produce, assign() consume, byte-exact',
  timeoutMs: 180_000,
  run: (ctx) =>
    roundTrip(ctx, {
      topic: 'e2e-confluent',
      partitions: 3,
      count: 20_000,
      seed: 31,
      // No null header values: python3-confluent-kafka 1.7.0 (Debian) decrefs None for them and aborts at exit.
      recordOptions: { nullHeaderValues: false },
      producer: (f) =>
        pythonClient('confluent_client.py', 'produce', ['--bootstrap', f.bootstrap, '--topic', f.topic, '--records', f.records, '--acks-out', f.acksOut, '--partitions', String(f.partitions), '--acks', 'all', '--idempotent']),
      consumer: (f) =>
        pythonClient('confluent_client.py', 'consume-assign', ['--bootstrap', f.bootstrap, '--topic', f.topic, '--partitions', String(f.partitions), '--expect', String(f.expect), '--out', f.out]),
    }),
};
