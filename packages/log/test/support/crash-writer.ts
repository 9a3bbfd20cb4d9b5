/**
 * Child process for crash.test.ts: appends with fsyncPolicy 'always' from several concurrent producers and
 * prints "<offset> <producer> <seq>" for each batch only after flush() reported it durable. The parent kills it
 * with SIGKILL at an arbitrary moment. Does nothing when started without a directory argument (node --test may
 * load every file under test/).
 */
import { PartitionLog } from '../../src/index.js';
import { makeBatch } from './batches.js';

async function producer(log: PartitionLog, producerId: number): Promise<never> {
  for (let seq = 0; ; seq++) {
    const value = Buffer.from(`${producerId}-${seq}-`.padEnd(200, 'x'));
    const { lastOffset } = log.append(makeBatch({ records: [{ value }] }));
    await log.flush();
    process.stdout.write(`${lastOffset} ${producerId} ${seq}\n`);
  }
}

const dir = process.argv[2];
if (dir !== undefined) {
  const log = await PartitionLog.open(dir, {
    segmentBytesMax: 16 * 1024,
    segmentMsMax: 3_600_000,
    indexIntervalBytes: 1024,
    retentionMs: -1,
    retentionBytes: -1,
    fsyncPolicy: 'always',
    flushIntervalMs: 1000,
  });
  process.stdout.write('ready\n');
  await Promise.all([0, 1, 2, 3].map((producerId) => producer(log, producerId)));
}
