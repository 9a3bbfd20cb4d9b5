// kcat (librdkafka): produce 100,000 records with keys (-K) and headers (-H) from a file, then consume them
// from the beginning to the end of the partition (-C -o beginning -e) with a length-prefixed output format,
// and compare byte for byte, in order, exactly once.
import { readFileSync, writeFileSync } from 'node:fs';
import { generateRecords, recordLine } from '../lib/records.mjs';
import { assertDelivery } from '../lib/verify.mjs';
import { createTopic, topicEndOffsets } from '../lib/kafkajs-helpers.mjs';
import { runOk } from '../lib/proc.mjs';

const COUNT = 100_000;
const HEADERS = [
  ['source', 'kcat-e2e'],
  ['run', 'seed-21'],
];

/**
 * Parses kcat output written with  -f '%p\t%o\t%K\t%k\t%S\t%s\t%h\n'.
 * Key and value are read by their printed lengths (-1 = null), so any byte in them survives.
 */
export function parseKcatOutput(buf) {
  const rows = [];
  let pos = 0;
  const field = () => {
    const tab = buf.indexOf(0x09, pos);
    if (tab < 0) throw new Error(`kcat output truncated at byte ${pos}`);
    const s = buf.toString('latin1', pos, tab);
    pos = tab + 1;
    return s;
  };
  const bytes = (len) => {
    if (len < 0) {
      pos += 1; // the TAB after an empty (null) field
      return null;
    }
    const b = buf.subarray(pos, pos + len);
    if (buf[pos + len] !== 0x09) throw new Error(`kcat output: no TAB after a ${len}-byte field at byte ${pos}`);
    pos += len + 1;
    return Buffer.from(b);
  };
  while (pos < buf.length) {
    const partition = Number(field());
    const offset = Number(field());
    const key = bytes(Number(field()));
    const value = bytes(Number(field()));
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw new Error('kcat output: last line has no newline');
    const headerText = buf.toString('utf8', pos, nl);
    pos = nl + 1;
    const headers =
      headerText === ''
        ? []
        : headerText.split(',').map((pair) => {
            const eq = pair.indexOf('=');
            return { name: Buffer.from(pair.slice(0, eq)), value: Buffer.from(pair.slice(eq + 1)) };
          });
    rows.push({ partition, offset, line: recordLine({ key, value, headers }) });
  }
  return rows;
}

export default {
  name: 'kcat',
  description: `kcat -P -K -H of ${COUNT} records, kcat -C -o beginning -e back, byte-exact`,
  timeoutMs: 300_000,
  async run(ctx) {
    const broker = await ctx.startBroker();
    const topic = 'e2e-kcat';
    await createTopic(broker.bootstrap, topic, 1);
    const records = generateRecords(COUNT, { seed: 21, mode: 'text', maxValueBytes: 200, fixedHeaders: HEADERS });
    const input = ctx.path('kcat-input.txt');
    writeFileSync(input, records.map((r) => `${r.key.toString('latin1')}:${r.value.toString('latin1')}\n`).join(''));

    const common = ['-b', broker.bootstrap, '-t', topic, '-X', 'broker.address.family=v4'];
    const t0 = Date.now();
    const headerArgs = HEADERS.flatMap(([k, v]) => ['-H', `${k}=${v}`]);
    const producer = await runOk('kcat', ['-P', ...common, '-p', '0', '-K', ':', ...headerArgs, '-X', 'acks=all', '-l', input], {}, 180_000);
    if (/fail|error/i.test(producer.tail())) throw new Error(`kcat producer reported errors:\n${producer.tail()}`);
    const produceMs = Date.now() - t0;
    ctx.log(`kcat produced ${COUNT} in ${produceMs} ms`);

    const ends = await topicEndOffsets(broker.bootstrap, topic);
    if (ends[0].high !== COUNT) throw new Error(`high watermark ${ends[0].high} after producing ${COUNT} records`);

    const outFile = ctx.path('kcat-output.bin');
    const t1 = Date.now();
    await runOk(
      'sh',
      ['-c', `exec kcat "$@" > '${outFile}'`, 'kcat', '-C', ...common, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%p\\t%o\\t%K\\t%k\\t%S\\t%s\\t%h\\n'],
      {},
      180_000,
    );
    const consumeMs = Date.now() - t1;
    const consumed = parseKcatOutput(readFileSync(outFile));
    const stats = assertDelivery({ records, acks: null, consumed });
    return { produced: COUNT, consumed: stats.consumed, produceMs, consumeMs };
  },
};
