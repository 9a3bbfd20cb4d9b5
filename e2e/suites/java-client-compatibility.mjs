// Apache Kafka's own client probe, org.apache.kafka.tools.ClientCompatibilityTest (kafka-tools): admin client
// (cluster id, nodes, create topics, describe configs, describe ACLs), producer (idempotent), consumer
// (offsetsForTimes, seek, poll). DescribeAcls is claimed as supported only if the broker advertises it (Tributary has
// no ACLs; then the probe checks that the client gets UnsupportedVersionException, which is the right behaviour).
import { readFileSync } from 'node:fs';
import { fetchApiVersions } from '../lib/api-versions.mjs';
import { javaCommand, requireJavaLib } from '../lib/java.mjs';
import { run } from '../lib/proc.mjs';

const DESCRIBE_ACLS = 29;

export default {
  name: 'java-client-compatibility',
  description: 'Apache Kafka ClientCompatibilityTest probe (admin, idempotent producer, consumer)',
  timeoutMs: 180_000,
  async run(ctx) {
    requireJavaLib();
    const broker = await ctx.startBroker();
    const apis = await fetchApiVersions(broker.host, broker.kafkaPort);
    const acls = apis.has(DESCRIBE_ACLS);
    const flags = {
      topic: 'e2e-compat',
      'bootstrap-server': broker.bootstrap,
      'offsets-for-times-supported': 'true',
      'cluster-id-supported': 'true',
      'expect-record-too-large-exception': 'false',
      'num-cluster-nodes': '1',
      'create-topics-supported': 'true',
      'describe-acls-supported': String(acls),
      'describe-configs-supported': 'true',
      'idempotent-producer-supported': 'true',
    };
    const [cmd, args] = javaCommand('org.apache.kafka.tools.ClientCompatibilityTest', Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]));
    const logFile = ctx.path('compat.log');
    const p = run(cmd, args, { logFile });
    const { code } = await p.wait(150_000, 'ClientCompatibilityTest');
    const output = readFileSync(logFile, 'utf8');
    if (code !== 0 || !/^SUCCESS\.?$/m.test(output)) throw new Error(`ClientCompatibilityTest failed (exit ${code}):\n${output.split('\n').slice(-40).join('\n')}`);
    return { advertisedApis: apis.size, describeAclsSupported: acls };
  },
};
