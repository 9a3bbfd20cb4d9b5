// The same start/kill9/stop/restart surface as Broker, backed by a real Apache Kafka (scripts/apache-kafka.mjs).
// Used with TRIBUTARY_E2E_TARGET=apache-kafka to check that a suite itself is right (it must pass against Kafka too).
import { join } from 'node:path';
import { repoRoot } from './paths.mjs';

export class ApacheKafkaTarget {
  constructor({ dataDir, logDir, name = 'apache-kafka' }) {
    this.dataDir = dataDir;
    this.logDir = logDir;
    this.name = name;
    this.host = '127.0.0.1';
    this.kafka = null;
    this.kafkaPort = 0;
    this.controllerPort = 0;
  }

  get bootstrap() {
    return `${this.host}:${this.kafkaPort}`;
  }

  get logFile() {
    return join(this.dataDir, 'kafka.log');
  }

  async start() {
    const { startApacheKafka } = await import(join(repoRoot, 'scripts/apache-kafka.mjs'));
    const opts = { dir: this.dataDir, heap: '768m' };
    if (this.kafkaPort !== 0) Object.assign(opts, { port: this.kafkaPort, controllerPort: this.controllerPort });
    this.kafka = await startApacheKafka(opts);
    this.kafkaPort = this.kafka.port;
    this.controllerPort = this.kafka.controllerPort;
    return this;
  }

  async kill9() {
    if (!this.kafka) return;
    const pid = this.kafka.pid;
    process.kill(pid, 'SIGKILL');
    for (;;) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        break;
      }
    }
    this.kafka = null;
  }

  async stop() {
    if (!this.kafka) return null;
    await this.kafka.stop();
    this.kafka = null;
    return { code: 0 };
  }

  async restart() {
    await this.stop();
    return this.start();
  }

  tail() {
    return `(see ${this.logFile})`;
  }
}
