// Java client consumer group (classic protocol, range assignor) on a 6-partition topic:
// 3 members, one leaves, one joins, one is SIGKILLed (evicted); every record processed exactly once (commitSync after processing).
import { runGroupSuite } from '../lib/group-suite.mjs';
import { ensureJavaClient, javaClient } from '../lib/java.mjs';

export default {
  name: 'java-group',
  description: 'Java client group (range), 3 members on 6 partitions, leave, join, kill -9, describe, exactly once',
  timeoutMs: 300_000,
  async run(ctx) {
    await ensureJavaClient();
    return runGroupSuite(ctx, {
      topic: 'e2e-java-group',
      groupId: 'e2e-java-range',
      perPhase: 3000,
      seed: 81,
      memberCommand: (f) => javaClient('consume-group', { bootstrap: f.bootstrap, topic: f.topic, group: f.groupId, member: f.member, out: f.out, 'stop-file': f.stopFile, assignor: 'range', 'session-timeout-ms': f.sessionTimeoutMs }),
    });
  },
};
