// confluent-kafka (Python) consumer group with the cooperative-sticky assignor on a 6-partition topic:
// 3 members, one leaves, one joins, one is SIGKILLed (evicted); every record processed exactly once (commit after processing).
import { runGroupSuite } from '../lib/group-suite.mjs';
import { pythonClient } from '../lib/python.mjs';

export default {
  name: 'confluent-kafka-group-cooperative',
  description: 'confluent-kafka group (cooperative-sticky), 3 members on 6 partitions, leave, join, kill -9, describe, exactly once',
  timeoutMs: 240_000,
  run: (ctx) =>
    runGroupSuite(ctx, {
      topic: 'e2e-confluent-group',
      groupId: 'e2e-confluent-cooperative',
      perPhase: 3000,
      seed: 71,
      memberCommand: (f) =>
        pythonClient('confluent_client.py', 'consume-group', ['--bootstrap', f.bootstrap, '--topic', f.topic, '--group', f.groupId, '--member', f.member, '--out', f.out, '--stop-file', f.stopFile, '--assignor', 'cooperative-sticky', '--session-timeout-ms', String(f.sessionTimeoutMs)]),
    }),
};
