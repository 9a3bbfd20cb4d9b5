// 3 brokers under the fault loop (e2e/lib/fault-loop.mjs): kill -9 of partition leaders and of random brokers,
// SIGSTOP past the election timeout; Java idempotent acks=all producer + Java consumer group; the checker decides.
import { runFaultLoop } from '../lib/fault-loop.mjs';

export default {
  name: 'cluster-fault-loop',
  description: '3 nodes, 12 partitions RF 3: Java producer + consumer group under kill -9 / SIGSTOP faults; replica checker',
  timeoutMs: 420_000,
  run: (ctx) => runFaultLoop(ctx, { nodes: 3 }),
};
