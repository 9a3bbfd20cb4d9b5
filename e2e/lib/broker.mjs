// Starts a real Tributary broker process (`tributary dev`) on free loopback ports with its own data dir,
// waits until it serves, and can SIGKILL it and restart it on the same ports and data dir.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, run, terminate } from './proc.mjs';
import { waitUntilServing } from './serving.mjs';
import { repoRoot } from './paths.mjs';

const CLI = join(repoRoot, 'packages/broker/bin/tributary.js');
const HOST = '127.0.0.1';

export class Broker {
  /** @param {{ dataDir: string, logDir: string, name?: string, env?: Record<string,string> }} opts */
  constructor({ dataDir, logDir, name = 'broker', env = {} }) {
    this.dataDir = dataDir;
    this.logDir = logDir;
    this.name = name;
    this.env = env;
    this.host = HOST;
    this.kafkaPort = 0;
    this.httpPort = 0;
    this.clusterPort = 0;
    this.proc = null;
    this.starts = 0;
  }

  get bootstrap() {
    return `${this.host}:${this.kafkaPort}`;
  }

  get logFile() {
    return join(this.logDir, `${this.name}.log`);
  }

  /** Starts the process (first time on fresh free ports, later on the same ones) and waits until it serves Kafka. */
  async start(timeoutMs = 30_000) {
    if (this.proc) throw new Error(`${this.name} already running`);
    if (!existsSync(join(repoRoot, 'packages/broker/dist/src/cli.js')))
      throw new Error('broker is not built: run `npx turbo run build` (or `npm test`) first');
    mkdirSync(this.dataDir, { recursive: true });
    if (this.kafkaPort === 0) {
      this.kafkaPort = await freePort();
      this.httpPort = await freePort();
      this.clusterPort = await freePort();
    }
    const env = {
      TRIBUTARY_KAFKA_LISTEN: `${HOST}:${this.kafkaPort}`,
      TRIBUTARY_HTTP_LISTEN: `${HOST}:${this.httpPort}`,
      TRIBUTARY_CLUSTER_LISTEN: `${HOST}:${this.clusterPort}`,
      TRIBUTARY_DATA_DIR: this.dataDir,
      TRIBUTARY_LOG_LEVEL: 'info',
      ...this.env,
    };
    this.starts++;
    const proc = run(process.execPath, [CLI, 'dev'], { env, cwd: repoRoot, logFile: this.logFile });
    this.proc = proc;
    proc.exited.then(() => {
      if (this.proc === proc) this.proc = null;
    });
    await waitUntilServing(proc, { host: HOST, kafkaPort: this.kafkaPort, httpPort: this.httpPort, timeoutMs, what: this.name, stillCurrent: () => this.proc === proc });
    return this;
  }

  /** SIGKILL: no flush, no shutdown hooks. Resolves once the process is gone. */
  async kill9() {
    const proc = this.proc;
    if (!proc) return;
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.proc = null;
  }

  /** SIGTERM (graceful shutdown), SIGKILL after timeoutMs. Returns the exit status. */
  async stop(timeoutMs = 15_000) {
    const proc = this.proc;
    if (!proc) return null;
    const result = await terminate(proc, timeoutMs);
    this.proc = null;
    return result;
  }

  async restart(timeoutMs = 30_000) {
    await this.stop();
    return this.start(timeoutMs);
  }

  tail() {
    return this.proc ? this.proc.tail() : `(${this.name} not running; log: ${this.logFile})`;
  }
}

export async function startBroker(opts) {
  const broker = new Broker(opts);
  await broker.start();
  return broker;
}
