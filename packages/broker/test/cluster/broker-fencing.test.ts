// Broker fencing end to end: three `start` processes with a short broker session (3 s, heartbeat 500 ms).
// (1) A follower broker SIGSTOPped past the session: the metadata leader fences it through the metadata log, and
//     every live broker's Metadata omits it — the same broker list and the same view of an RF 3 partition on each —
//     DescribeCluster v2 lists it as fenced, new topics are not placed on it; SIGCONT: unfenced and listed again.
// (2) kill -9 of a broker: fenced; its restart: unfenced.
// (3) kill -9 of the metadata leader: the new leader starts every session afresh and fences no healthy broker (only
//     the killed one, once its session lapses); it is unfenced after its restart.
// (4) SIGTERM: the broker fences itself through the log on the way out (controlled shutdown), long before a session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { clusterEnv, freePorts, httpPortOf, metadata, metadataUntil, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const SESSION_MS = 3_000;
const HEARTBEAT_MS = 500;
const TOPIC = 'fenced-view';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const brokerIds = (md: any): number[] => md.brokers.map((b: any) => b.nodeId as number).sort();
const partitionView = (md: any) => {
  const p = md.topics.find((t: any) => t.name === TOPIC)?.partitions[0];
  return p === undefined ? undefined : { replicas: [...p.replicaNodes].sort(), offline: [...p.offlineReplicas].sort() };
};

/** Lines of `msg` in a node's log naming `nodeId`. */
function logLines(n: ClusterNodeProcess, msg: string): any[] {
  return n
    .output()
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l));
}

test('broker fencing: SIGSTOP / kill -9 fence a broker on every live broker alike; a metadata leader restart fences no healthy one', { timeout: 240_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-fencing-'));
  const clusterPorts = await freePorts(3);
  const nodes = new Map<number, ClusterNodeProcess>();
  const env = (id: number) =>
    clusterEnv(id, join(root, `node-${id}`), clusterPorts, 'Fencingtestcluster', {
      TRIBUTARY_BROKER_SESSION_TIMEOUT_MS: String(SESSION_MS),
      TRIBUTARY_BROKER_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    });
  /** Every process started, killed ones included (their logs hold the decisions they made while leading). */
  const everStarted: ClusterNodeProcess[] = [];
  const start = async (id: number) => {
    const n = await startClusterNode(id, env(id));
    nodes.set(id, n);
    everStarted.push(n);
  };
  const kill9 = async (id: number) => {
    const n = nodes.get(id)!;
    n.proc.kill('SIGKILL');
    await n.exited;
    nodes.delete(id);
  };
  const port = (id: number) => nodes.get(id)!.kafkaPort;
  /** Every running broker's Metadata, once each lists exactly `expected` (bounded). */
  const everyBrokerLists = async (expected: number[], running: number[], timeoutMs: number) =>
    Promise.all(running.map(async (id) => ({ id, md: await metadataUntil(port(id), (m) => brokerIds(m).join() === expected.join(), timeoutMs) })));
  const leaderOfMetadata = async () => (await metadataUntil(port([...nodes.keys()][0]!), (m) => m.controllerId > 0)).controllerId as number;
  const fencedGauge = async (id: number) => {
    const text = await (await fetch(`http://127.0.0.1:${httpPortOf(nodes.get(id)!)}/metrics`)).text();
    return Number(/^tributary_brokers_fenced (\d+)$/m.exec(text)?.[1] ?? 'NaN');
  };
  const describeCluster = (id: number) =>
    withClient(port(id), (c) => c.request(ApiKey.DescribeCluster, 2, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: true }));
  const createTopic = (id: number, name: string, replicationFactor: number) =>
    withClient(port(id), (c) =>
      c.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: 3, replicationFactor, assignments: [], configs: [] }], timeoutMs: 15000, validateOnly: false }),
    ).then((r: any) => r.topics[0]);
  /** Every "fenced broker: heartbeat session expired" decision logged so far, as node ids, per process. */
  const fencesByProcess = () => new Map(everStarted.map((n) => [n, logLines(n, 'fenced broker: heartbeat session expired').map((l) => l.nodeId as number)]));
  const sessionFences = () => [...fencesByProcess().values()].flat();

  try {
    await Promise.all([1, 2, 3].map(start));
    await everyBrokerLists([1, 2, 3], [1, 2, 3], 20_000);
    assert.equal((await createTopic(1, TOPIC, 3)).errorCode, ErrorCode.NONE);
    await metadataUntil(port(1), (m) => partitionView(m)?.replicas.length === 3);

    // (1) SIGSTOP a broker that is not the metadata leader, well past the session.
    const metadataLeader = await leaderOfMetadata();
    const paused = [1, 2, 3].find((id) => id !== metadataLeader)!;
    const live = [1, 2, 3].filter((id) => id !== paused);
    nodes.get(paused)!.proc.kill('SIGSTOP');
    const pausedAtMs = Date.now();
    const views = await everyBrokerLists(live, live, 20_000);
    const fencedAfterMs = Date.now() - pausedAtMs;
    console.log(`broker ${paused} SIGSTOPped: omitted by every live broker's Metadata ${fencedAfterMs} ms later (session ${SESSION_MS} ms, heartbeat ${HEARTBEAT_MS} ms)`);
    for (const { id, md } of views) assert.deepEqual(brokerIds(md), live, `broker ${id} omits the paused broker`);
    // Not fenced before its session lapsed: its last heartbeat was at most one interval before the pause.
    assert.ok(fencedAfterMs >= SESSION_MS - HEARTBEAT_MS, `fenced ${fencedAfterMs} ms after the pause, before the session of ${SESSION_MS} ms`);
    // Every live broker answers the same: the broker list and the partition's offline replicas (replicated state).
    const sameView = await Promise.all(live.map(async (id) => ({ brokers: brokerIds(await metadata(port(id))), partition: partitionView(await metadata(port(id), [TOPIC])) })));
    assert.deepEqual(sameView[0], sameView[1]);
    assert.deepEqual(sameView[0]!.partition!.offline, [paused], 'the fenced broker is an offline replica on every broker');
    for (const id of live) {
      const described = await describeCluster(id);
      assert.deepEqual(
        described.brokers.map((b: any) => [b.brokerId, b.isFenced]).sort(),
        [1, 2, 3].map((b) => [b, b === paused]),
        'DescribeCluster v2 with includeFencedBrokers marks the fenced broker',
      );
      assert.equal(await fencedGauge(id), 1);
    }
    assert.deepEqual([...new Set(sessionFences())], [paused], 'only the paused broker was fenced');
    // New topics are not placed on a fenced broker (Kafka's rule): RF 3 is impossible, RF 2 avoids it.
    const rf3 = await createTopic(live[0]!, 'while-fenced-rf3', 3);
    assert.equal(rf3.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR, rf3.errorMessage);
    assert.equal((await createTopic(live[0]!, 'while-fenced-rf2', 2)).errorCode, ErrorCode.NONE);
    const placed = await metadataUntil(port(live[0]!), (m) => (m.topics.find((t: any) => t.name === 'while-fenced-rf2')?.partitions.length ?? 0) === 3, 10_000);
    const replicasUsed = new Set<number>(placed.topics.find((t: any) => t.name === 'while-fenced-rf2').partitions.flatMap((p: any) => p.replicaNodes));
    assert.ok(!replicasUsed.has(paused), `no replica on the fenced broker (used ${[...replicasUsed]})`);

    // SIGCONT: it heartbeats again, catches up with the fence entry, is unfenced and listed by everyone (itself too).
    nodes.get(paused)!.proc.kill('SIGCONT');
    await everyBrokerLists([1, 2, 3], [1, 2, 3], 20_000);
    assert.ok([...nodes.values()].some((n) => logLines(n, 'unfenced broker: heartbeating and caught up with metadata').some((l) => l.nodeId === paused)));
    for (const id of [1, 2, 3]) assert.equal(await fencedGauge(id), 0);

    // (2) kill -9 of a broker that is not the metadata leader: fenced; restarted: unfenced.
    const killed = [1, 2, 3].find((id) => id !== metadataLeader && id !== paused)!;
    const survivors = [1, 2, 3].filter((id) => id !== killed);
    await kill9(killed);
    await everyBrokerLists(survivors, survivors, 20_000);
    await start(killed);
    await everyBrokerLists([1, 2, 3], [1, 2, 3], 20_000);
    assert.deepEqual([...new Set(sessionFences())].sort(), [paused, killed].sort());

    // (3) kill -9 of the metadata leader: the new leader must not fence the healthy brokers at takeover.
    const oldLeader = await leaderOfMetadata();
    const healthy = [1, 2, 3].filter((id) => id !== oldLeader);
    const fencesBefore = fencesByProcess();
    await kill9(oldLeader);
    const newLeader = (await metadataUntil(port(healthy[0]!), (m) => m.controllerId > 0 && m.controllerId !== oldLeader, 20_000)).controllerId as number;
    assert.ok(healthy.includes(newLeader));
    // Watch both healthy brokers through two sessions after the takeover: they are listed throughout.
    const watchUntil = Date.now() + 2 * SESSION_MS;
    while (Date.now() < watchUntil) {
      for (const id of healthy) {
        const listed = brokerIds(await metadata(port(id)));
        for (const h of healthy) assert.ok(listed.includes(h), `healthy broker ${h} missing from broker ${id}'s Metadata after the metadata leader restarted`);
      }
      await sleep(100);
    }
    await everyBrokerLists(healthy, healthy, 20_000); // the killed leader itself is fenced once its session lapses
    const newFences = [...fencesByProcess()].flatMap(([n, fences]) => fences.slice(fencesBefore.get(n)?.length ?? 0));
    assert.deepEqual([...new Set(newFences)], [oldLeader], `the new metadata leader fenced only the dead one (fenced: ${newFences})`);
    await start(oldLeader);
    await everyBrokerLists([1, 2, 3], [1, 2, 3], 20_000);

    // (4) SIGTERM: a controlled shutdown fences the broker through the log at once (no session wait).
    const stopping = [1, 2, 3].find((id) => id !== newLeader)!;
    const others = [1, 2, 3].filter((id) => id !== stopping);
    const n = nodes.get(stopping)!;
    n.proc.kill('SIGTERM');
    assert.equal(await n.exited, 0);
    nodes.delete(stopping);
    assert.equal(logLines(n, 'broker fenced in the metadata group for controlled shutdown').length, 1, n.output().slice(-3000));
    // Well within a session (3 s): it was the fence, not an expiry.
    for (const id of others) assert.deepEqual(brokerIds(await metadataUntil(port(id), (m) => brokerIds(m).join() === others.join(), 1_000)), others, `broker ${id} stopped listing the broker that shut down`);
  } finally {
    for (const n of nodes.values()) {
      n.proc.kill('SIGCONT');
      n.proc.kill('SIGKILL');
    }
    await Promise.all([...nodes.values()].map((n) => n.exited));
    rmSync(root, { recursive: true, force: true });
  }
});
