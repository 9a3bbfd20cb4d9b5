// Apache Kafka's `kafka-consumer-groups --describe` (org.apache.kafka.tools.consumer.group.ConsumerGroupCommand),
// parsed into rows: what an operator would look at (members, offsets, lag).
import { javaCommand, requireJavaLib } from './java.mjs';
import { runOk } from './proc.mjs';

export async function describeConsumerGroup(bootstrap, groupId) {
  requireJavaLib();
  const [cmd, args] = javaCommand('org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', ['--bootstrap-server', bootstrap, '--describe', '--group', groupId]);
  const p = await runOk(cmd, args, {}, 60_000);
  const raw = p.tail().split('\n').filter((l) => l.startsWith('[stdout] ')).map((l) => l.slice(9)).join('\n');
  const lines = raw.split('\n').filter((l) => l.trim() !== '');
  const headerAt = lines.findIndex((l) => /\bPARTITION\b/.test(l) && /\bLAG\b/.test(l));
  if (headerAt < 0) throw new Error(`ConsumerGroupCommand printed no table:\n${p.tail()}`);
  const header = lines[headerAt].trim().split(/\s+/);
  const col = (name) => header.indexOf(name);
  const rows = lines.slice(headerAt + 1).map((l) => {
    const f = l.trim().split(/\s+/);
    const num = (name) => (f[col(name)] === '-' ? null : Number(f[col(name)]));
    return {
      group: f[col('GROUP')],
      topic: f[col('TOPIC')],
      partition: num('PARTITION'),
      currentOffset: num('CURRENT-OFFSET'),
      logEndOffset: num('LOG-END-OFFSET'),
      lag: num('LAG'),
      consumerId: f[col('CONSUMER-ID')],
    };
  });
  rows.raw = raw;
  return rows;
}
