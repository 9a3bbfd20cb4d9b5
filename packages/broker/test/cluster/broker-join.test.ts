// Adding a broker to a running cluster (issue 5): three formation nodes, then node 4 started with two seeds (the
// nodes that do not lead the metadata group) in TRIBUTARY_PEERS and TRIBUTARY_METADATA_VOTERS=1,2,3. It joins the metadata group as a learner, registers its Kafka
// and cluster addresses, every broker's Metadata lists it, an RF 3 topic on four brokers uses it, kafkajs produces and
// consumes through it; node 4 and node 1 (whose TRIBUTARY_PEERS never named node 4) are killed and restarted and
// everything still holds: node 4 stays a member without joining again, node 1 reaches it from the catalogue alone
// (every partition's ISR, as its leader reports it, is whole again). Last, node 4's data directory is wiped: it joins
// again and catches up every replica it holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { runCli, tempDataDir } from '../support/broker-process.js';
import { nodeEnvironment, parseLocalClusterArgs } from '../../src/cluster/local-cluster.js';
import { ApiKey } from '@tributary/protocol';
import { clusterEnv, consumeValues, freeConsecutivePorts, freePorts, launchLocalCluster, metadata, metadataUntil, startClusterNode, withClient, type ClusterNodeProcess } from './cluster-support.js';

const TOPIC = 'joined';
const PARTITIONS = 4;
const CLUSTER_ID = 'Brokerjoincluster';

const brokerIds = (md: any): number[] => md.brokers.map((b: any) => b.nodeId).sort((a: number, b: number) => a - b);
const topicOf = (md: any): any => md.topics.find((t: any) => t.name === TOPIC);

test('cluster configuration: metadata voters and the joining node\'s cluster address are checked at start (exit 2)', async () => {
  const base = { TRIBUTARY_DATA_DIR: '/tmp/never-created', TRIBUTARY_NODE_ID: '4', TRIBUTARY_PEERS: '2@127.0.0.1:9999' };
  const tooMany = await runCli(['start'], { ...base, TRIBUTARY_METADATA_VOTERS: '1,2,3,5,6,7' });
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.stderr, /TRIBUTARY_METADATA_VOTERS: 6 voters; the metadata group has at most 5/);
  const unknownVoter = await runCli(['start'], { ...base, TRIBUTARY_METADATA_VOTERS: '1,2,4' });
  assert.equal(unknownVoter.code, 2);
  assert.match(unknownVoter.stderr, /TRIBUTARY_METADATA_VOTERS: voter\(s\) 1 missing from TRIBUTARY_PEERS/);
  const wildcard = await runCli(['start'], { ...base, TRIBUTARY_METADATA_VOTERS: '1,2,3', TRIBUTARY_CLUSTER_LISTEN: '0.0.0.0:9093' });
  assert.equal(wildcard.code, 2);
  assert.match(wildcard.stderr, /TRIBUTARY_CLUSTER_ADVERTISED_ADDRESS: required when joining a cluster with a wildcard TRIBUTARY_CLUSTER_LISTEN/);
});

test('cluster: a fourth broker joins a running 3-node cluster, takes replicas, and stays a member across restarts of itself and of node 1', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDataDir('trib-join-cluster-');
  const clusterPorts = await freePorts(4);
  const dirs = [1, 2, 3, 4].map((id) => join(dir, `node-${id}`));
  dirs.forEach((d) => mkdirSync(d, { recursive: true }));
  // The formation nodes know only each other: their environments never mention node 4.
  const envOf = new Map<number, Record<string, string>>();
  for (const id of [1, 2, 3]) envOf.set(id, clusterEnv(id, dirs[id - 1]!, clusterPorts.slice(0, 3), CLUSTER_ID, { TRIBUTARY_DEFAULT_REPLICATION_FACTOR: '3' }));
  for (const id of [1, 2, 3]) assert.doesNotMatch(envOf.get(id)!['TRIBUTARY_PEERS']!, /\b4@/);
  const nodes = new Map<number, ClusterNodeProcess>();
  const restart = async (id: number): Promise<ClusterNodeProcess> => {
    const old = nodes.get(id)!;
    old.proc.kill('SIGKILL');
    await old.exited;
    const fresh = await startClusterNode(id, envOf.get(id)!, 60_000);
    nodes.set(id, fresh);
    return fresh;
  };
  const allListFour = async (what: string): Promise<void> => {
    for (const n of nodes.values()) {
      const md = await metadataUntil(n.kafkaPort, (m) => brokerIds(m).join() === '1,2,3,4', 30_000);
      assert.deepEqual(brokerIds(md), [1, 2, 3, 4], `${what}: broker ${n.id}'s Metadata lists all four`);
      const described = await withClient(n.kafkaPort, (c) => c.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 }));
      assert.deepEqual(described.brokers.map((b: any) => b.brokerId).sort(), [1, 2, 3, 4], `${what}: broker ${n.id}'s DescribeCluster lists all four`);
      assert.equal(described.brokers.find((b: any) => b.brokerId === 4).port, nodes.get(4)!.kafkaPort, `${what}: node 4's current Kafka port`);
    }
  };
  /** Every partition led, and its leader's ISR holds every replica (so the leader reaches each of them). */
  const healed = async (what: string): Promise<void> => {
    const deadline = Date.now() + 40_000;
    let why = '';
    while (Date.now() < deadline) {
      why = '';
      for (let p = 0; p < PARTITIONS && why === ''; p++) {
        const view = (await Promise.all([...nodes.values()].map(async (n) => ({ id: n.id, md: await metadata(n.kafkaPort, [TOPIC]).catch(() => null) }))))
          .map(({ id, md }) => ({ id, part: md === null ? undefined : topicOf(md)?.partitions.find((x: any) => x.partitionIndex === p) }))
          .find(({ id, part }) => part !== undefined && part.leaderId === id);
        if (view === undefined) why = `partition ${p} has no leader claiming it`;
        else if ([...view.part.isrNodes].sort().join() !== [...view.part.replicaNodes].sort().join()) why = `partition ${p}: leader ${view.id} reports ISR [${view.part.isrNodes}] of replicas [${view.part.replicaNodes}]`;
      }
      if (why === '') return;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.fail(`${what}: ${why}`);
  };
  try {
    const formed = await Promise.all([1, 2, 3].map((id) => startClusterNode(id, envOf.get(id)!)));
    for (const n of formed) nodes.set(n.id, n);
    for (const n of formed) assert.deepEqual(brokerIds(await metadataUntil(n.kafkaPort, (m) => m.brokers.length === 3)), [1, 2, 3]);
    // Node 4's seeds are the two nodes that do NOT lead the metadata group: the request is forwarded, and node 4 must
    // learn the leader's address (from the answer) before it can even answer the leader's appends.
    const controller = (await metadata(formed[0]!.kafkaPort)).controllerId as number;
    const seeds = [1, 2, 3].filter((id) => id !== controller);
    assert.equal(seeds.length, 2, `controller ${controller}`);
    envOf.set(4, {
      ...clusterEnv(4, dirs[3]!, clusterPorts, CLUSTER_ID, { TRIBUTARY_DEFAULT_REPLICATION_FACTOR: '3' }),
      TRIBUTARY_PEERS: seeds.map((id) => `${id}@127.0.0.1:${clusterPorts[id - 1]}`).join(','),
      // The voters the cluster was formed with; this node is not one of them, so it joins as a learner.
      TRIBUTARY_METADATA_VOTERS: '1,2,3',
    });

    const joiner = await startClusterNode(4, envOf.get(4)!, 60_000);
    nodes.set(4, joiner);
    assert.match(joiner.output(), /added to the metadata group as a learner/);
    await allListFour('after the join');
    const leaderLog = [...nodes.values()].map((n) => n.output()).join('\n');
    assert.match(leaderLog, /"msg":"added a metadata-group learner"/, 'the metadata leader added node 4 as a learner');

    const bootstrap = () => [...nodes.values()].map((n) => `127.0.0.1:${n.kafkaPort}`);
    const kafkaOf = (brokers: string[]) => new Kafka({ clientId: 'join-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
    // Through node 4 itself: a learner forwards the catalogue change to the metadata leader like any broker.
    const admin = kafkaOf([`127.0.0.1:${joiner.kafkaPort}`]).admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true }), true);
    } finally {
      await admin.disconnect();
    }
    const md = await metadataUntil(nodes.get(1)!.kafkaPort, (m) => topicOf(m)?.partitions.length === PARTITIONS);
    const replicas = topicOf(md).partitions.map((p: any) => p.replicaNodes as number[]);
    // 4 partitions x RF 3 over 4 brokers, consecutive replicas: every broker holds 3, and leads one preferred.
    assert.equal(replicas.filter((r: number[]) => r.includes(4)).length, 3, `node 4 holds 3 of the replicas: ${JSON.stringify(replicas)}`);
    assert.equal(replicas.filter((r: number[]) => r[0] === 4).length, 1, `node 4 is the preferred leader of one partition: ${JSON.stringify(replicas)}`);
    await healed('after creating the topic');

    const acked: string[] = [];
    const produce = async (round: string, count: number): Promise<void> => {
      const producer = kafkaOf(bootstrap()).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      try {
        for (let i = 0; i < count; i++) {
          const value = `${round}-${i}`;
          await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: `k${i}`, value }] });
          acked.push(value);
        }
      } finally {
        await producer.disconnect();
      }
    };
    const consumeAll = async (groupId: string, brokers: string[]): Promise<string[]> => {
      const consumer = kafkaOf(brokers).consumer({ groupId, sessionTimeout: 10_000 });
      await consumer.connect();
      try {
        return await consumeValues(consumer, TOPIC, acked.length, 60_000);
      } finally {
        await consumer.disconnect();
      }
    };
    await produce('joined', 40);
    assert.deepEqual((await consumeAll('join-check-1', [`127.0.0.1:${joiner.kafkaPort}`])).sort(), [...acked].sort(), 'every record read once through node 4');

    // Node 4 restarts: it is a member already (its Raft log names it), so it does not ask to join again.
    const joinerAgain = await restart(4);
    assert.doesNotMatch(joinerAgain.output(), /added to the metadata group as a learner/);
    await allListFour('after node 4 restarted');
    await healed('after node 4 restarted');

    // Node 1 restarts: its TRIBUTARY_PEERS lists 2 and 3 only; node 4's address comes from the catalogue.
    const one = await restart(1);
    assert.match(one.output(), /"peer":4,[^\n]*"msg":"peer cluster address learned"/);
    await allListFour('after node 1 restarted');
    await healed('after node 1 restarted');

    await produce('restarted', 40);
    assert.deepEqual((await consumeAll('join-check-2', [`127.0.0.1:${one.kafkaPort}`])).sort(), [...acked].sort(), 'every record read once through node 1');

    // Node 4 loses its disk: it starts as a non-member again, asks its seeds (which do not include the metadata
    // leader it first joined through), and every leader of its groups must re-probe it (peerRestartedEmpty also to
    // the nodes whose address it learns on the way), or it never catches up.
    nodes.get(4)!.proc.kill('SIGKILL');
    await nodes.get(4)!.exited;
    rmSync(dirs[3]!, { recursive: true, force: true });
    mkdirSync(dirs[3]!, { recursive: true });
    const wiped = await startClusterNode(4, envOf.get(4)!, 60_000);
    nodes.set(4, wiped);
    // still a learner in the leader's configuration, it may be replicated to before its seeds answer: either way
    assert.match(wiped.output(), /added to the metadata group as a learner|a metadata-group learner through replication before any answer/);
    await allListFour('after node 4 was wiped');
    await healed('after node 4 was wiped');
    assert.deepEqual((await consumeAll('join-check-3', [`127.0.0.1:${wiped.kafkaPort}`])).sort(), [...acked].sort(), 'every record read once through the wiped node 4');

    // A formation node wiped and started with a voter list that leaves it out would wait for a configuration entry
    // naming it as a learner that never comes: it is told it is a voter and exits 1 naming the variable. The node is
    // the metadata leader: its new process pings the others at once but leads nothing and never campaigns (it is no
    // voter in its own list), so the others must learn from the transport that it restarted, or they wait forever.
    const metadataLeader = (await metadata(nodes.get(4)!.kafkaPort)).controllerId as number;
    assert.ok([1, 2, 3].includes(metadataLeader), `the metadata leader is a formation node: ${metadataLeader}`);
    nodes.get(metadataLeader)!.proc.kill('SIGKILL');
    await nodes.get(metadataLeader)!.exited;
    rmSync(dirs[metadataLeader - 1]!, { recursive: true, force: true });
    mkdirSync(dirs[metadataLeader - 1]!, { recursive: true });
    const otherVoters = [1, 2, 3].filter((id) => id !== metadataLeader).join(',');
    // longer than the node's own 60 s join timeout, so a node that cannot join fails with its own reason
    await assert.rejects(
      startClusterNode(metadataLeader, { ...envOf.get(metadataLeader)!, TRIBUTARY_METADATA_VOTERS: otherVoters }, 75_000),
      /exited with 1[\s\S]*is a voter of the metadata group, but TRIBUTARY_METADATA_VOTERS does not list it/,
    );
  } finally {
    for (const n of nodes.values()) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exited));
    cleanup();
  }
});

test('tributary cluster --nodes 3 --joining-nodes 1: node 4 joins as a metadata learner; every broker lists four', { timeout: 90_000 }, async () => {
  const options = parseLocalClusterArgs(['--nodes', '3', '--joining-nodes', '1', '--cluster-base-port', '30000']);
  assert.ok(typeof options !== 'string', String(options));
  const env4 = nodeEnvironment(options, 4, 'cid');
  assert.equal(env4['TRIBUTARY_METADATA_VOTERS'], '1,2,3');
  assert.equal(env4['TRIBUTARY_PEERS'], '1@127.0.0.1:30000,2@127.0.0.1:30001,3@127.0.0.1:30002');
  assert.equal(env4['TRIBUTARY_CLUSTER_LISTEN'], '127.0.0.1:30003');
  assert.equal(nodeEnvironment(options, 2, 'cid')['TRIBUTARY_METADATA_VOTERS'], undefined, 'formation nodes default to themselves and their peers');
  assert.match(String(parseLocalClusterArgs(['--nodes', '3', '--joining-nodes', '17'])), /--joining-nodes: expected an integer in 0\.\.16/);

  const { dir, cleanup } = tempDataDir('trib-local-join-');
  const base = await freeConsecutivePorts(4);
  const { proc, exited, output, bootstrapServers } = launchLocalCluster(['--nodes', '3', '--joining-nodes', '1', '--data-dir', dir, '--kafka-base-port', '0', '--http-base-port', '0', '--cluster-base-port', String(base)]);
  try {
    const servers = await bootstrapServers(75_000);
    assert.match(output(), /4 node\(s\) serving \(1 joined as metadata learners\)/);
    assert.equal(servers.length, 4);
    for (const server of servers) {
      const md = await metadataUntil(Number(server.split(':')[1]), (m) => m.brokers.length === 4, 20_000);
      assert.deepEqual(brokerIds(md), [1, 2, 3, 4], `${server} lists four brokers`);
    }
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    for (const id of [1, 2, 3, 4]) assert.ok(!existsSync(join(dir, `node-${id}`, 'ports.json')), 'every node shut down');
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    cleanup();
  }
});
