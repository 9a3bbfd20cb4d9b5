// kafka-python: producer (acks=all, one request in flight) into 2 partitions, consumer with assign() + seek_to_beginning.
import { roundTrip } from '../lib/round-trip.mjs';
import { pythonClient } from '../lib/python.mjs';

export default {
  name: 'kafka-python',
  description: 'kafka-python produce (acks=all), assign() consume, byte-exact',
  timeoutMs: 180_000,
  run: (ctx) =>
    roundTrip(ctx, {
      topic: 'e2e-kafka-python',
      partitions: 2,
      count: 5_000,
      seed: 41,
      producer: (f) =>
        pythonClient('kafka_python_client.py', 'produce', ['--bootstrap', f.bootstrap, '--topic', f.topic, '--records', f.records, '--acks-out', f.acksOut, '--partitions', String(f.partitions), '--acks', 'all']),
      consumer: (f) =>
        pythonClient('kafka_python_client.py', 'consume-assign', ['--bootstrap', f.bootstrap, '--topic', f.topic, '--partitions', String(f.partitions), '--expect', String(f.expect), '--out', f.out]),
    }),
};
