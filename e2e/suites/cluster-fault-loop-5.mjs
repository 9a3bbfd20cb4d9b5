// The fault loop (e2e/lib/fault-loop.mjs) on 5 brokers: RF 3 partitions spread over 5 nodes, so a fault hits some
// partitions' replicas and not others, and non-replicas answer Metadata from the metadata group.
import { runFaultLoop } from '../lib/fault-loop.mjs';

export default {
  name: 'cluster-fault-loop-5',
  description: '5 nodes, 12 partitions RF 3: the same fault loop and checker as cluster-fault-loop',
  timeoutMs: 480_000,
  run: (ctx) => runFaultLoop(ctx, { nodes: 5 }),
};
