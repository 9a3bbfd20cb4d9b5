// A node that is still joining its cluster must not drop clients. In cluster mode a broker binds its Kafka port
// before it joins the metadata group (it registers the bound address), and only registers its request handlers after
// the join. A request that arrives in between must wait and be answered once the node serves, as Apache Kafka does (its
// acceptors start only when the broker is ready; the kernel holds the connection meanwhile). Here: node 1 of 3 starts
// alone (its peers are down, so its join waits), a client connects and sends ApiVersions, then nodes 2 and 3 start;
// the client must get its ApiVersions answer, not a closed connection.
import { LocalCluster } from '../lib/cluster.mjs';
import { WireConnection } from '../lib/kafka-wire.mjs';
import { SkipSuite, target } from '../lib/suite.mjs';
import { sleep } from '../lib/proc.mjs';

const API_VERSIONS = 18;

export default {
  name: 'cluster-startup-window',
  description: 'a request sent to a node that is still joining its cluster is answered once it serves, not dropped',
  timeoutMs: 120_000,
  async run(ctx) {
    if (target !== 'tributary') throw new SkipSuite('checks a Tributary cluster start');
    const cluster = new LocalCluster({ nodes: 3, workDir: ctx.path('cluster'), logDir: ctx.logDir, log: (m) => ctx.log(m) });
    ctx.onCleanup(() => cluster.killAll());
    await cluster.prepare();
    const first = cluster.node(1);
    const firstStarted = first.start(90_000);
    firstStarted.catch(() => {});
    let conn = null;
    const deadline = Date.now() + 30_000;
    while (conn === null) {
      conn = await WireConnection.connect('127.0.0.1', first.kafkaPort, { timeoutMs: 1000 }).catch(() => null);
      if (conn === null) {
        if (Date.now() > deadline) throw new Error('node 1 never accepted a connection');
        await sleep(100);
      }
    }
    ctx.log('node 1 accepts connections while its peers are down; sending ApiVersions v0');
    const answer = conn.request(API_VERSIONS, 0, Buffer.alloc(0), 60_000).then(
      (r) => ({ errorCode: r.int16(), apis: r.int32() }),
      (e) => ({ failure: e.message }),
    );
    await sleep(1500);
    await Promise.all([cluster.node(2).start(90_000), cluster.node(3).start(90_000), firstStarted]);
    const r = await answer;
    conn.close();
    if (r.failure) throw new Error(`ApiVersions sent while node 1 was joining got no answer: ${r.failure}`);
    if (r.errorCode !== 0 || r.apis <= 0) throw new Error(`ApiVersions answered error ${r.errorCode} with ${r.apis} APIs`);
    return { apis: r.apis };
  },
};
