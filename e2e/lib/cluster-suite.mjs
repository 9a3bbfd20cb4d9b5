// What the cluster suites share: a LocalCluster inside the suite's work dir (killed at cleanup, logs kept with a
// failing suite's work dir), and the end of every run: heal, stop every node gracefully, read every replica's
// partition log and run the checker (replica-check.mjs).
import { LocalCluster } from './cluster.mjs';
import { assertCluster, checkCluster } from './replica-check.mjs';
import { SkipSuite, target } from './suite.mjs';

/** Starts an N-node cluster for a suite. Cluster suites check Tributary's own replica files: no Apache Kafka target. */
export async function startCluster(ctx, { nodes = 3, env = {} } = {}) {
  if (target !== 'tributary') throw new SkipSuite(`cluster suites read Tributary's replica files; target ${target} has none`);
  const cluster = new LocalCluster({ nodes, workDir: ctx.path('cluster'), logDir: ctx.logDir, env, log: (m) => ctx.log(m) });
  ctx.onCleanup(() => cluster.killAll());
  await cluster.start();
  return cluster;
}

/**
 * Heals the cluster, stops every node gracefully (each must exit 0), reads every replica of `topic` and checks
 * everything against the producer's acks and the consumers' rows. Returns the checker's stats.
 */
export async function healStopAndCheck(ctx, cluster, { topic, partitions, produced, acks, consumed = [], ordered = true, healTimeoutMs = 90_000 }) {
  const healStartedMs = Date.now();
  let leaders;
  try {
    leaders = await cluster.waitHealed(topic, partitions, { timeoutMs: healTimeoutMs });
  } catch (healError) {
    throw await postMortem(ctx, cluster, { topic, produced, acks, consumed, ordered, healError });
  }
  ctx.log(`healed in ${Date.now() - healStartedMs} ms`);
  const exits = await cluster.stopAll();
  const unclean = exits.filter((e) => e.code !== 0);
  if (unclean.length > 0) throw new Error(`graceful stop: ${unclean.map((e) => `node ${e.id} exited ${e.code ?? e.signal}`).join(', ')}`);
  const assignments = new Map([...leaders].map(([p, l]) => [p, l.replicas]));
  const replicaLogs = cluster.readReplicaLogs(topic, assignments);
  const stats = assertCluster({ produced, acks, consumed, replicaLogs, ordered });
  ctx.log(`checker: ${JSON.stringify({ ...stats, endOffsets: undefined })}`);
  return { ...stats, healMs: Date.now() - healStartedMs };
}

/**
 * The cluster did not heal: stop every node anyway and run the checker over whatever the replicas hold, so the
 * failure says what was lost or diverged, not only that something did not converge. Returns the error to throw.
 */
export async function postMortem(ctx, cluster, { topic, produced, acks, consumed = [], ordered = true, healError }) {
  const assignments = new Map([...(await cluster.leaders(topic))].map(([p, l]) => [p, l.replicas]));
  await cluster.stopAll();
  const r = checkCluster({ produced, acks, consumed, replicaLogs: cluster.readReplicaLogs(topic, assignments), ordered });
  ctx.log(`post-mortem checker (cluster not healed): ${JSON.stringify({ ...r.stats, endOffsets: undefined })}`);
  return new Error(`${healError.message}\npost-mortem checker after stopping every node: ${r.ok ? 'no violation in the replica files' : `\n  ${r.errors.join('\n  ')}`}`);
}
