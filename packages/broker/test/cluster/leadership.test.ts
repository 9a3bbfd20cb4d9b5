// Issue 5, partition leadership seen by clients: three `start --experimental-cluster` processes.
// 1. Leader epochs are Raft terms everywhere: Fetch and ListOffsets check currentLeaderEpoch (FENCED / UNKNOWN),
//    ListOffsets names the epoch of the offset it returns, OffsetForLeaderEpoch answers the end offset of an epoch
//    from the batches' epochs, Fetch v12 answers divergingEpoch; the ISR shrinks when a follower dies and
//    min.insync.replicas refuses acks=all (NOT_ENOUGH_REPLICAS) but not acks=1; the ISR grows back after a restart;
//    DescribeCluster lists every broker and the metadata leader as controller.
// 2. Preferred leaders: the Java LeaderElectionCommand (ElectLeaders PREFERRED) moves every leader to its first
//    replica; UNCLEAN is answered ELECTION_NOT_NEEDED; after a restart of every broker the automatic balancer
//    brings the leaders back to the preferred replicas (spread evenly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { tempDataDir } from '../support/broker-process.js';
import { batchOf } from '../support/batches.js';
import { brokersListed, clusterEnv, freePorts, httpPortOf, metadata, metadataUntil, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const LAG_MS = 1500;
const SESSION_MS = 2000;
const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../..');
const javaLib = join(repoRoot, '.cache', 'java', 'lib');

function produce(port: number, topic: string, partition: number, acks: number, value: string): Promise<any> {
  const records = Buffer.from(batchOf([{ key: null, value: Buffer.from(value) }]));
  return withClient(port, (c) =>
    c
      .request(ApiKey.Produce, 9, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] })
      .then((r) => r.responses[0].partitionResponses[0]),
  );
}

function fetchOne(port: number, topic: string, partition: number, opts: { fetchOffset?: number; currentLeaderEpoch?: number; lastFetchedEpoch?: number }): Promise<any> {
  return withClient(port, async (c) => {
    const r = await c.request(ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: opts.currentLeaderEpoch ?? -1, fetchOffset: opts.fetchOffset ?? 0, lastFetchedEpoch: opts.lastFetchedEpoch ?? -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    return r.responses[0].partitions[0];
  });
}

function listOffsets(port: number, topic: string, partition: number, timestamp: number, currentLeaderEpoch = -1): Promise<any> {
  return withClient(port, async (c) => {
    const r = await c.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch, timestamp }] }] });
    return r.topics[0].partitions[0];
  });
}

function offsetForLeaderEpoch(port: number, topic: string, partition: number, leaderEpoch: number, currentLeaderEpoch = -1): Promise<any> {
  return withClient(port, async (c) => {
    const r = await c.request(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }] });
    return r.topics[0].partitions[0];
  });
}

function partitionOf(md: any, topic: string, partition: number): any {
  return md.topics.find((t: any) => t.name === topic)?.partitions.find((p: any) => p.partitionIndex === partition);
}

async function createTopic(port: number, name: string, partitions: number, configs: { name: string; value: string }[] = []): Promise<void> {
  const created = await withClient(port, (c) =>
    c.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: partitions, replicationFactor: 3, assignments: [], configs }], timeoutMs: 15000, validateOnly: false }),
  );
  assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
}

interface Cluster {
  nodes: Map<number, ClusterNodeProcess>;
  port: (id: number) => number;
  start: (id: number, overrides?: Record<string, string>) => Promise<void>;
  kill: (id: number) => Promise<void>;
  stopAll: () => Promise<void>;
  cleanup: () => void;
}

async function startCluster(prefix: string, clusterId: string, overrides: Record<string, string>): Promise<Cluster> {
  const { dir, cleanup } = tempDataDir(prefix);
  const clusterPorts = await freePorts(3);
  const dirs = [1, 2, 3].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  const nodes = new Map<number, ClusterNodeProcess>();
  const start = async (id: number, env = overrides): Promise<void> => {
    nodes.set(id, await startClusterNode(id, clusterEnv(id, dirs[id - 1]!, clusterPorts, clusterId, env)));
  };
  const kill = async (id: number): Promise<void> => {
    const n = nodes.get(id)!;
    n.proc.kill('SIGKILL');
    await n.exited;
    nodes.delete(id);
  };
  await Promise.all([1, 2, 3].map((id) => start(id)));
  // Formed as e2e's LocalCluster.start defines it: every node lists every broker (a node serves once its own
  // registration is applied on the metadata leader; its copy of the others' may still be on the way).
  await Promise.all([1, 2, 3].map((id) => brokersListed(nodes.get(id)!.kafkaPort, [1, 2, 3])));
  return {
    nodes,
    port: (id) => nodes.get(id)!.kafkaPort,
    start,
    kill,
    stopAll: async () => {
      for (const id of [...nodes.keys()]) await kill(id);
    },
    cleanup,
  };
}

test('leader epochs are Raft terms in Fetch/ListOffsets/OffsetForLeaderEpoch; ISR and min.insync.replicas; DescribeCluster', { timeout: 120_000 }, async () => {
  // A broker session close to the lag time: the killed broker is fenced (dropped from every broker list) soon too.
  const cluster = await startCluster('trib-epochs-', 'Leaderepochstestcluster', {
    TRIBUTARY_REPLICA_LAG_TIME_MS: String(LAG_MS),
    TRIBUTARY_BROKER_SESSION_TIMEOUT_MS: String(SESSION_MS),
    TRIBUTARY_BROKER_HEARTBEAT_INTERVAL_MS: '300',
  });
  const { port } = cluster;
  const TOPIC = 'epochs';
  try {
    // DescribeCluster: the cluster view on any broker.
    const described = await withClient(port(2), (c) => c.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 }));
    assert.equal(described.errorCode, ErrorCode.NONE);
    assert.deepEqual(described.brokers.map((b: any) => b.brokerId).sort(), [1, 2, 3]);
    const md0 = await metadata(port(2));
    assert.equal(described.controllerId, md0.controllerId, 'controller = metadata leader, as Metadata reports it');
    assert.equal(described.clusterId, md0.clusterId);
    for (const b of described.brokers) assert.equal(b.port, port(b.brokerId), `broker ${b.brokerId} advertises its own Kafka port`);

    await createTopic(port(1), TOPIC, 1, [{ name: 'min.insync.replicas', value: '3' }]);
    let md = await metadataUntil(port(1), (m) => (partitionOf(m, TOPIC, 0)?.leaderId ?? -1) > 0, 20_000);
    const leader = partitionOf(md, TOPIC, 0).leaderId as number;
    // ISR as the leader sees it: all three once they have answered.
    md = await metadataUntil(port(leader), (m) => partitionOf(m, TOPIC, 0)?.isrNodes.length === 3, 10_000);
    const first = partitionOf(md, TOPIC, 0);
    assert.deepEqual([...first.isrNodes].sort(), [1, 2, 3]);
    const epoch1 = first.leaderEpoch as number;
    assert.ok(epoch1 >= 1);
    for (let i = 0; i < 3; i++) assert.equal((await produce(port(leader), TOPIC, 0, -1, `e1-${i}`)).errorCode, ErrorCode.NONE);

    // currentLeaderEpoch checks (Fetch, ListOffsets): older = fenced, newer = unknown, equal = served.
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    assert.equal((await fetchOne(port(leader), TOPIC, 0, { currentLeaderEpoch: epoch1 - 1 })).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    const unknown = await fetchOne(port(leader), TOPIC, 0, { currentLeaderEpoch: epoch1 + 1 });
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.deepEqual(unknown.currentLeader, { leaderId: leader, leaderEpoch: epoch1 }, 'the error names the leader and epoch this replica knows');
    const served = await fetchOne(port(leader), TOPIC, 0, { currentLeaderEpoch: epoch1 });
    assert.equal(served.errorCode, ErrorCode.NONE);
    assert.equal(served.highWatermark, 3);
    assert.equal(served.records.readInt32BE(12), epoch1, 'stored batches carry the Raft term as partitionLeaderEpoch');
    assert.equal((await listOffsets(port(leader), TOPIC, 0, -1, epoch1 - 1)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    const latest1 = await listOffsets(port(leader), TOPIC, 0, -1, epoch1);
    assert.deepEqual([latest1.errorCode, latest1.offset, latest1.leaderEpoch], [ErrorCode.NONE, 3, epoch1]);
    assert.equal((await listOffsets(port(follower), TOPIC, 0, -1)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'ListOffsets is answered by the leader');
    const oflFollower = await offsetForLeaderEpoch(port(follower), TOPIC, 0, epoch1);
    assert.equal(oflFollower.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);

    // kill -9 the leader: a new leader with a newer epoch; with min.insync.replicas=3 and a dead follower, acks=all
    // is refused once the ISR has shrunk, acks=1 is not.
    await cluster.kill(leader);
    const survivor = follower;
    md = await metadataUntil(port(survivor), (m) => {
      const p = partitionOf(m, TOPIC, 0);
      return p !== undefined && p.leaderId > 0 && p.leaderId !== leader;
    }, 20_000);
    const leader2 = partitionOf(md, TOPIC, 0).leaderId as number;
    md = await metadataUntil(port(leader2), (m) => partitionOf(m, TOPIC, 0)?.isrNodes.length === 2, 15_000);
    const second = partitionOf(md, TOPIC, 0);
    assert.deepEqual([...second.isrNodes].sort(), [1, 2, 3].filter((id) => id !== leader), 'the dead replica left the ISR');
    const epoch2 = second.leaderEpoch as number;
    assert.deepEqual(second.offlineReplicas, [leader]);
    // Metadata and DescribeCluster list unfenced brokers only (a client stops connecting to the dead one) once the
    // metadata leader has fenced it (its session lapsed).
    const liveIds = [1, 2, 3].filter((id) => id !== leader);
    md = await metadataUntil(port(leader2), (m) => m.brokers.length === 2, 10_000);
    assert.deepEqual(md.brokers.map((b: any) => b.nodeId).sort(), liveIds);
    const describedAfter = await withClient(port(leader2), (c) => c.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 }));
    assert.deepEqual(describedAfter.brokers.map((b: any) => b.brokerId).sort(), liveIds);
    // A follower cannot see its peers' progress, but it knows the dead broker is not in sync.
    const otherSurvivor = [1, 2, 3].find((id) => id !== leader && id !== leader2)!;
    const followerView = partitionOf(await metadataUntil(port(otherSurvivor), (m) => partitionOf(m, TOPIC, 0)?.offlineReplicas.length === 1, 10_000), TOPIC, 0);
    assert.deepEqual([followerView.leaderId, followerView.offlineReplicas, [...followerView.isrNodes].sort()], [leader2, [leader], [leader2, otherSurvivor].sort()]);
    assert.ok(epoch2 > epoch1, 'a new leader has a newer epoch (Raft term)');
    // The new leader's metrics count the partition as under-replicated and under min.insync.replicas.
    const metricsText = await (await fetch(`http://127.0.0.1:${httpPortOf(cluster.nodes.get(leader2)!)}/metrics`)).text();
    assert.match(metricsText, /^tributary_partitions_led 1$/m);
    assert.match(metricsText, /^tributary_partitions_under_replicated 1$/m);
    assert.match(metricsText, /^tributary_partitions_under_min_isr 1$/m);
    const refused = await produce(port(leader2), TOPIC, 0, -1, 'refused');
    assert.equal(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS, refused.errorMessage);
    const one = await produce(port(leader2), TOPIC, 0, 1, 'e2-acks1');
    assert.equal(one.errorCode, ErrorCode.NONE);
    assert.equal(one.baseOffset, 3, 'the refused batch was never proposed');

    // OffsetForLeaderEpoch from the batches' epochs: epoch1 ends where epoch2's first batch starts; epoch2 at the log end.
    const ofl1 = await offsetForLeaderEpoch(port(leader2), TOPIC, 0, epoch1, epoch2);
    assert.deepEqual([ofl1.errorCode, ofl1.leaderEpoch, ofl1.endOffset], [ErrorCode.NONE, epoch1, 3]);
    // acks=1 is answered once the entry is durable in the leader's WAL, before it commits and is applied to the log
    // that OffsetForLeaderEpoch reads: the end offset reaches 4 once the entry is applied (a majority of 2 is up).
    let ofl2 = await offsetForLeaderEpoch(port(leader2), TOPIC, 0, epoch2);
    for (const deadline = Date.now() + 10_000; ofl2.endOffset !== 4 && Date.now() < deadline; ofl2 = await offsetForLeaderEpoch(port(leader2), TOPIC, 0, epoch2)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual([ofl2.errorCode, ofl2.leaderEpoch, ofl2.endOffset], [ErrorCode.NONE, epoch2, 4]);
    const oflNewer = await offsetForLeaderEpoch(port(leader2), TOPIC, 0, epoch2 + 5);
    assert.deepEqual([oflNewer.leaderEpoch, oflNewer.endOffset], [-1, -1], 'an epoch newer than any known: undefined');
    assert.equal((await offsetForLeaderEpoch(port(leader2), TOPIC, 0, epoch1, epoch1)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    // ListOffsets names the epoch of the batch at the offset (the current epoch at the log end).
    const earliest = await listOffsets(port(leader2), TOPIC, 0, -2);
    assert.deepEqual([earliest.offset, earliest.leaderEpoch], [0, epoch1]);
    const latest2 = await listOffsets(port(leader2), TOPIC, 0, -1);
    assert.deepEqual([latest2.offset, latest2.leaderEpoch], [4, epoch2]);
    // Fetch v12: a fetcher that claims epoch1 data up to offset 4 has diverged at 3; one that is consistent gets data.
    const diverged = await fetchOne(port(leader2), TOPIC, 0, { fetchOffset: 4, lastFetchedEpoch: epoch1, currentLeaderEpoch: epoch2 });
    assert.equal(diverged.errorCode, ErrorCode.NONE);
    assert.deepEqual(diverged.divergingEpoch, { epoch: epoch1, endOffset: 3 });
    assert.equal(diverged.records.length, 0);
    const consistent = await fetchOne(port(leader2), TOPIC, 0, { fetchOffset: 3, lastFetchedEpoch: epoch1, currentLeaderEpoch: epoch2 });
    assert.deepEqual(consistent.divergingEpoch, { epoch: -1, endOffset: -1 });
    assert.ok(consistent.records.length > 0);

    // The killed node restarts and catches up: back in the ISR, acks=all is accepted again.
    await cluster.start(leader);
    md = await metadataUntil(port(leader2), (m) => partitionOf(m, TOPIC, 0)?.isrNodes.length === 3 && m.brokers.length === 3, 20_000);
    assert.equal(partitionOf(md, TOPIC, 0).isrNodes.length, 3, 'the restarted replica is back in the ISR');
    assert.deepEqual(md.brokers.map((b: any) => b.nodeId).sort(), [1, 2, 3], 'the restarted broker is listed again (unfenced)');
    const healthy = await (await fetch(`http://127.0.0.1:${httpPortOf(cluster.nodes.get(leader2)!)}/metrics`)).text();
    assert.match(healthy, /^tributary_partitions_under_replicated 0$/m);
    assert.match(healthy, /^tributary_partitions_under_min_isr 0$/m);
    const accepted = await produce(port(leader2), TOPIC, 0, -1, 'e2-all');
    assert.equal(accepted.errorCode, ErrorCode.NONE, accepted.errorMessage);
    assert.equal(accepted.baseOffset, 4);

    // An idle partition whose follower dies: its match index still equals the leader's log end, so only liveness
    // (not heard from within the lag time) takes it out of the ISR.
    const idleFollower = [1, 2, 3].find((id) => id !== leader2 && cluster.nodes.has(id))!;
    await cluster.kill(idleFollower);
    const killedAtMs = Date.now();
    md = await metadataUntil(port(leader2), (m) => partitionOf(m, TOPIC, 0)?.isrNodes.length === 2, 15_000);
    console.log(`an idle partition's killed follower left the ISR ${Date.now() - killedAtMs} ms after kill -9 (lag time ${LAG_MS} ms)`);
    assert.ok(!partitionOf(md, TOPIC, 0).isrNodes.includes(idleFollower), 'a silent follower leaves the ISR');
    assert.equal((await produce(port(leader2), TOPIC, 0, -1, 'refused-again')).errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
  } finally {
    await cluster.stopAll();
    cluster.cleanup();
  }
});

function runJava(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const proc = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${javaLib}/*`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

const javaAvailable = existsSync(javaLib) && readdirSync(javaLib).some((f) => f.startsWith('kafka-tools-'));

test('preferred leaders: Java LeaderElectionCommand (ElectLeaders), UNCLEAN refused, the balancer after a restart of every broker', { timeout: 240_000, skip: javaAvailable ? false : `Kafka tools jars missing in ${javaLib}` }, async () => {
  const PARTITIONS = 6;
  const TOPIC = 'preferred';
  // Balancer off in this first phase, so only ElectLeaders moves leaders.
  const cluster = await startCluster('trib-preferred-', 'Preferredleadertestcluster', { TRIBUTARY_LEADER_BALANCE_INTERVAL_MS: '0' });
  try {
    await createTopic(cluster.port(1), TOPIC, PARTITIONS);
    const allLed = (m: any): boolean => {
      const t = m.topics.find((x: any) => x.name === TOPIC);
      return t !== undefined && t.partitions.length === PARTITIONS && t.partitions.every((p: any) => p.leaderId > 0);
    };
    const onPreferred = (m: any): boolean => allLed(m) && m.topics.find((x: any) => x.name === TOPIC).partitions.every((p: any) => p.leaderId === p.replicaNodes[0]);
    await metadataUntil(cluster.port(1), allLed, 20_000);
    // A new partition's preferred replica campaigns first, so leaders usually start on it (logged, not asserted:
    // a replica that hosts the group late leaves the election to the timers). To give ElectLeaders work for sure,
    // broker 1 shuts down gracefully (hands its leaderships over) and comes back with the balancer still off.
    const initial = (await metadata(cluster.port(1))).topics.find((x: any) => x.name === TOPIC).partitions;
    console.log(`leaders on their preferred replica after creation: ${initial.filter((p: any) => p.leaderId === p.replicaNodes[0]).length}/${PARTITIONS}`);
    const node1 = cluster.nodes.get(1)!;
    node1.proc.kill('SIGTERM');
    assert.equal(await node1.exited, 0);
    cluster.nodes.delete(1);
    await cluster.start(1);
    const before = await metadataUntil(cluster.port(1), allLed, 20_000);
    const misplaced = before.topics.find((x: any) => x.name === TOPIC).partitions.filter((p: any) => p.leaderId !== p.replicaNodes[0]).length;
    assert.ok(misplaced >= PARTITIONS / 3, `broker 1's preferred partitions are led elsewhere (${misplaced} misplaced)`);

    const run = await runJava(['org.apache.kafka.tools.LeaderElectionCommand', '--bootstrap-server', `127.0.0.1:${cluster.port(2)}`, '--election-type', 'PREFERRED', '--all-topic-partitions'], 120_000);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Successfully completed leader election \(PREFERRED\) for partitions/, run.output);
    const after = await metadataUntil(cluster.port(1), onPreferred, 15_000);
    assert.ok(onPreferred(after), `every leader is its preferred replica after ElectLeaders (${misplaced} moved)`);

    // A second election has nothing to do; UNCLEAN is not possible under Raft and answered ELECTION_NOT_NEEDED.
    const again = await withClient(cluster.port(3), (c) => c.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0, 1] }], timeoutMs: 10000 }));
    assert.deepEqual(again.replicaElectionResults[0].partitionResult.map((r: any) => r.errorCode), [ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.ELECTION_NOT_NEEDED]);
    const unclean = await withClient(cluster.port(3), (c) => c.request(ApiKey.ElectLeaders, 2, { electionType: 1, topicPartitions: [{ topic: TOPIC, partitions: [0] }, { topic: 'nope', partitions: [0] }], timeoutMs: 10000 }));
    assert.equal(unclean.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED);
    assert.equal(unclean.replicaElectionResults[1].partitionResult[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // Restart every broker with the balancer on: elections after the restart pick leaders at random; the balancer
    // moves them back to the preferred replicas, so each broker leads PARTITIONS / 3.
    await cluster.stopAll();
    const balancing = { TRIBUTARY_LEADER_BALANCE_INTERVAL_MS: '1000' };
    await Promise.all([1, 2, 3].map((id) => cluster.start(id, balancing)));
    const restartedAtMs = Date.now();
    const elected = await metadataUntil(cluster.port(2), allLed, 20_000);
    const offPreferred = elected.topics.find((x: any) => x.name === TOPIC).partitions.filter((p: any) => p.leaderId !== p.replicaNodes[0]).length;
    const balanced = await metadataUntil(cluster.port(2), onPreferred, 60_000);
    console.log(`after the restart: ${offPreferred}/${PARTITIONS} leaders off their preferred replica once elected; all on it ${Date.now() - restartedAtMs} ms after every broker served`);
    assert.ok(onPreferred(balanced), 'the balancer moved every leader back to its preferred replica');
    const ledBy = new Map<number, number>();
    for (const p of balanced.topics.find((x: any) => x.name === TOPIC).partitions) ledBy.set(p.leaderId, (ledBy.get(p.leaderId) ?? 0) + 1);
    assert.deepEqual([...ledBy.values()], [PARTITIONS / 3, PARTITIONS / 3, PARTITIONS / 3], 'leaders spread evenly');
    // Every broker agrees (leaders as each replica sees them).
    for (const id of [1, 3]) assert.ok(onPreferred(await metadataUntil(cluster.port(id), onPreferred, 10_000)), `broker ${id} sees the preferred leaders`);
    // Metrics: each broker leads 2 partitions, none off its preferred replica; the balancer's moves are counted.
    let balanceMoves = 0;
    for (const id of [1, 2, 3]) {
      const text = await (await fetch(`http://127.0.0.1:${httpPortOf(cluster.nodes.get(id)!)}/metrics`)).text();
      assert.match(text, new RegExp(`^tributary_partitions_led ${PARTITIONS / 3}$`, 'm'));
      assert.match(text, /^tributary_partitions_not_on_preferred_leader 0$/m);
      balanceMoves += Number(/^tributary_leadership_transfers_total\{reason="balance"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    }
    assert.ok(balanceMoves > 0, 'the balancer moved leadership after the restart');
  } finally {
    await cluster.stopAll();
    cluster.cleanup();
  }
});

test('a Java consumer validates its position with OffsetForLeaderEpoch across a leader change and reads every record once', { timeout: 180_000, skip: javaAvailable ? false : `Kafka tools jars missing in ${javaLib}` }, async () => {
  const TOPIC = 'validated';
  const cluster = await startCluster('trib-validate-', 'Positionvalidationcluster', {});
  const { port } = cluster;
  let consumer: ReturnType<typeof spawn> | undefined;
  try {
    await createTopic(port(1), TOPIC, 1);
    let md = await metadataUntil(port(1), (m) => (partitionOf(m, TOPIC, 0)?.leaderId ?? -1) > 0, 20_000);
    const leader = partitionOf(md, TOPIC, 0).leaderId as number;
    for (let i = 0; i < 20; i++) assert.equal((await produce(port(leader), TOPIC, 0, -1, `v-${i}`)).errorCode, ErrorCode.NONE);

    // assign() + earliest, no consumer group: the position and its epoch live in the client only.
    const bootstrap = [1, 2, 3].map((id) => `127.0.0.1:${port(id)}`).join(',');
    consumer = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${javaLib}/*`, 'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server', bootstrap, '--topic', TOPIC, '--partition', '0', '--offset', 'earliest', '--max-messages', '40', '--timeout-ms', '90000',
      '--consumer-property', 'metadata.max.age.ms=1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    consumer.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    consumer.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => consumer!.on('exit', (code) => r(code)));
    const values = (): string[] => stdout.split('\n').filter((l) => l.startsWith('v-'));
    const deadline = Date.now() + 60_000;
    while (values().length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(values().length, 20, `the consumer read the first 20 records; stderr:\n${stderr}`);

    // kill -9 the leader; the consumer's next metadata names a newer epoch, so it validates its position (offset 20,
    // epoch of record 19) with OffsetForLeaderEpoch at the new leader before fetching again.
    await cluster.kill(leader);
    const survivor = [1, 2, 3].find((id) => id !== leader)!;
    md = await metadataUntil(port(survivor), (m) => {
      const p = partitionOf(m, TOPIC, 0);
      return p !== undefined && p.leaderId > 0 && p.leaderId !== leader;
    }, 20_000);
    const leader2 = partitionOf(md, TOPIC, 0).leaderId as number;
    for (let i = 20; i < 40; i++) assert.equal((await produce(port(leader2), TOPIC, 0, -1, `v-${i}`)).errorCode, ErrorCode.NONE);

    const code = await exited;
    consumer = undefined;
    assert.equal(code, 0, `console consumer exit; stderr:\n${stderr}`);
    assert.deepEqual(values(), [...Array(40).keys()].map((i) => `v-${i}`), 'every record once, in order (no truncation was detected)');
    assert.doesNotMatch(stderr, /[Tt]runcation detected/);
  } finally {
    consumer?.kill('SIGKILL');
    await cluster.stopAll();
    cluster.cleanup();
  }
});

test('a graceful shutdown with the balancer on: no leadership comes back to the leaving broker; it gets its partitions back after restart', { timeout: 120_000 }, async () => {
  const PARTITIONS = 6;
  const TOPIC = 'rolling';
  // An aggressive balancer (every 300 ms) on every broker: without the "leaving" announcement the peers would hand
  // broker 1's preferred partitions straight back to it while it shuts down.
  const balancing = { TRIBUTARY_LEADER_BALANCE_INTERVAL_MS: '300' };
  const cluster = await startCluster('trib-rolling-', 'Rollingrestartcluster', balancing);
  try {
    await createTopic(cluster.port(2), TOPIC, PARTITIONS);
    const onPreferred = (m: any): boolean => {
      const t = m.topics.find((x: any) => x.name === TOPIC);
      return t !== undefined && t.partitions.length === PARTITIONS && t.partitions.every((p: any) => p.leaderId > 0 && p.leaderId === p.replicaNodes[0]);
    };
    assert.ok(onPreferred(await metadataUntil(cluster.port(2), onPreferred, 20_000)), 'leaders start on their preferred replicas');

    const node1 = cluster.nodes.get(1)!;
    const peersOutputAt = new Map([2, 3].map((id) => [id, cluster.nodes.get(id)!.output().length]));
    node1.proc.kill('SIGTERM');
    assert.equal(await node1.exited, 0);
    cluster.nodes.delete(1);
    // Several balancing passes after broker 1 is gone: none may try to hand it a partition.
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of [2, 3]) {
      const since = cluster.nodes.get(id)!.output().slice(peersOutputAt.get(id));
      assert.doesNotMatch(since, /moving partition leadership to preferred replicas/, `broker ${id} moved no leadership to the leaving broker`);
      assert.match(since, /peer is shutting down/);
    }
    const handover = node1.output().split('\n').find((l) => l.includes('leadership transferred away for shutdown'));
    assert.ok(handover, node1.output());
    const { led, stillLeading } = JSON.parse(handover!) as { led: number; stillLeading: number };
    assert.ok(led >= PARTITIONS / 3, `broker 1 led its preferred partitions (${led})`);
    assert.equal(stillLeading, 0, 'nothing was handed back to the leaving broker');

    await cluster.start(1);
    const back = await metadataUntil(cluster.port(1), onPreferred, 30_000);
    assert.ok(onPreferred(back), 'after its restart broker 1 leads its preferred partitions again');
  } finally {
    await cluster.stopAll();
    cluster.cleanup();
  }
});
