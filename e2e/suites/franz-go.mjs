// franz-go (Go): idempotent producer (acks=all, manual partitioner) into 3 partitions with binary keys/values/headers
// (null keys and null header values), then direct partition consumption from the start.
import { existsSync } from 'node:fs';
import { roundTrip } from '../lib/round-trip.mjs';
import { goBinary } from '../lib/paths.mjs';

export default {
  name: 'franz-go',
  description: 'franz-go idempotent produce (acks=all), partition consume, byte-exact',
  timeoutMs: 180_000,
  async run(ctx) {
    if (!existsSync(goBinary)) throw new Error(`${goBinary} missing: run bash scripts/install/go.sh`);
    return roundTrip(ctx, {
      topic: 'e2e-franz-go',
      partitions: 3,
      count: 20_000,
      seed: 61,
      recordOptions: { nullHeaderValues: true },
      producer: (f) => [goBinary, ['produce', '-bootstrap', f.bootstrap, '-topic', f.topic, '-records', f.records, '-acks-out', f.acksOut, '-partitions', String(f.partitions), '-acks', 'all']],
      consumer: (f) => [goBinary, ['consume-assign', '-bootstrap', f.bootstrap, '-topic', f.topic, '-partitions', String(f.partitions), '-expect', String(f.expect), '-out', f.out, '-timeout', '90s']],
    });
  },
};
