// Issue 5: "a client that retries a produce after a timeout (the same producer id and sequence) never creates a
// duplicate, across leader changes". Raw protocol, so every attempt is under the test's control: an idempotent batch is
// sent to the partition leader, a fault hits that leader while the request is in flight (or right after it was
// answered), the client gives up on the first attempt (timeout / lost connection / "lost answer") and retries the SAME
// bytes (producer id, epoch, sequence) at whichever node leads now. Faults, each with several delays after the send:
//   kill9     the leader is SIGKILLed (then restarted): the batch may or may not have committed;
//   pause     the leader is SIGSTOPped past the election timeout; the client times out and retries at the new leader;
//             the old leader resumes (its uncommitted tail must be truncated, not committed a second time);
//   handover  the first attempt is answered, then the leader stops gracefully (leadership moves); the retry must be
//             recognised as a duplicate and answered with the ORIGINAL offset.
// Afterwards every batch is present exactly once, at the offset its (final) ack named, on every replica.
import { recordLine } from '../lib/records.mjs';
import { RawIdempotentProducer } from '../lib/raw-producer.mjs';
import { ERROR } from '../lib/kafka-wire.mjs';
import { healStopAndCheck, startCluster } from '../lib/cluster-suite.mjs';
import { sleep } from '../lib/proc.mjs';

const TOPIC = 'retry';
const PARTITIONS = 3;
const DELAYS_MS = [0, 3, 15, 60];
const FAULTS = ['kill9', 'pause', 'handover'];
const PAUSE_MS = 2500;

export default {
  name: 'cluster-produce-retry',
  description: '3 nodes, RF 3: idempotent produce retried (same producer id + sequence) after leader kill/pause/handover: no duplicate',
  timeoutMs: 240_000,
  async run(ctx) {
    const cluster = await startCluster(ctx, { nodes: 3 });
    await cluster.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    const producer = await new RawIdempotentProducer(cluster, TOPIC, { requestTimeoutMs: 1500 }).init();
    const produced = [];
    const acks = [];
    const counts = { rounds: 0, firstAnswered: 0, retriedDuplicates: 0, retries: 0 };
    const send = (partition, note) => {
      const index = produced.length;
      const rec = { key: Buffer.from(`k${index}`), value: Buffer.from(`v${index} ${note}`), headers: [] };
      produced.push(recordLine(rec));
      return { index, batch: producer.nextBatch(partition, [rec]) };
    };
    for (const fault of FAULTS) {
      for (const delayMs of DELAYS_MS) {
        const partition = counts.rounds % PARTITIONS;
        counts.rounds++;
        await cluster.waitForLeaders(TOPIC, PARTITIONS);
        let leaderId = await cluster.leaderOf(TOPIC, partition);
        const { index, batch } = send(partition, `${fault}+${delayMs}ms`);
        let restore = async () => {};
        let first;
        if (fault === 'handover') {
          // This round needs an answered first attempt. Leadership may move between the Metadata lookup and the send
          // (the balancer hands a partition back to its preferred replica ~2 s after a restarted node rejoins): a
          // NOT_LEADER_OR_FOLLOWER answer appended nothing, so look the leader up again and resend (bounded).
          for (let tries = 0; ; tries++) {
            first = await producer.attempt(leaderId, batch);
            if (first.failure || first.errorCode !== ERROR.NOT_LEADER_OR_FOLLOWER || tries === 4) break;
            await sleep(500);
            await cluster.waitForLeaders(TOPIC, PARTITIONS);
            leaderId = await cluster.leaderOf(TOPIC, partition);
          }
        }
        const leader = cluster.node(leaderId);
        if (fault !== 'handover') {
          first = await producer.attempt(leaderId, batch, {
            onSent: async () => {
              await sleep(delayMs);
              if (fault === 'kill9') {
                await leader.kill9();
                restore = () => leader.start();
              } else {
                leader.pause();
                restore = async () => {
                  await sleep(PAUSE_MS);
                  leader.resume();
                };
              }
            },
          });
        }
        if (fault === 'handover') {
          if (first.failure || first.errorCode !== 0) throw new Error(`handover round: the first attempt failed: ${JSON.stringify(first)}`);
          await sleep(delayMs);
          await leader.stop();
          restore = () => leader.start();
        }
        const answered = !first.failure && first.errorCode === 0;
        if (answered) counts.firstAnswered++;
        // The client saw a timeout / lost connection (or pretends the answer was lost): retry the same bytes.
        const [retry] = await Promise.all([producer.sendUntilAcked(batch, { timeoutMs: 60_000 }), restore()]);
        counts.retries += retry.attempts;
        if (answered) {
          if (retry.baseOffset !== first.baseOffset)
            throw new Error(`${fault}+${delayMs}ms: the retry of an acknowledged batch got offset ${retry.baseOffset}, the first answer said ${first.baseOffset}`);
          counts.retriedDuplicates++;
        }
        acks.push({ index, partition, offset: retry.baseOffset });
        ctx.log(`${fault}+${delayMs}ms p${partition}: leader ${leaderId}, first attempt ${answered ? `answered ${first.baseOffset}` : (first.failure ?? `error ${first.errorCode}`)}, retry -> ${retry.baseOffset} at node ${retry.leader}`);
        // The next sequence continues normally after the retried one (no OUT_OF_ORDER_SEQUENCE_NUMBER, no gap).
        const next = send(partition, 'after');
        const ok = await producer.sendUntilAcked(next.batch);
        acks.push({ index: next.index, partition, offset: ok.baseOffset });
      }
    }
    const stats = await healStopAndCheck(ctx, cluster, { topic: TOPIC, partitions: PARTITIONS, produced, acks });
    if (stats.storedRecords !== produced.length) throw new Error(`${stats.storedRecords} records stored for ${produced.length} batches sent`);
    return { ...counts, batches: produced.length, stored: stats.storedRecords };
  },
};
