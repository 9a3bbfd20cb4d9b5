// The consumer-group settings read from the environment reach the coordinator of the running broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { startBroker, tempDataDir } from './support/broker-process.js';
import { WireClient } from './support/wire-client.js';

test('TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS is enforced on JoinGroup', async (t) => {
  const data = tempDataDir();
  const broker = await startBroker({ dataDir: data.dir, env: { TRIBUTARY_GROUP_MIN_SESSION_TIMEOUT_MS: '20000' } });
  t.after(async () => {
    await broker.stop();
    data.cleanup();
  });
  const client = await WireClient.connect(broker.kafka.host, broker.kafka.port);
  t.after(() => client.close());
  const join = (sessionTimeoutMs: number) =>
    client.request(ApiKey.JoinGroup, 5, {
      groupId: 'settings-check',
      sessionTimeoutMs,
      rebalanceTimeoutMs: 30000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
  const refused = await join(10000);
  assert.equal(refused.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  const accepted = await join(25000);
  assert.equal(accepted.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
});
