// What a suite gets to work with, and how it reports.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from './broker.mjs';
import { ApacheKafkaTarget } from './apache-kafka-target.mjs';

/** TRIBUTARY_E2E_TARGET=apache-kafka runs the suites against a real Apache Kafka instead (to check the suites themselves). */
export const target = process.env.TRIBUTARY_E2E_TARGET ?? 'tributary';

/** Thrown by a suite whose check does not apply here (only where the issue allows skipping). */
export class SkipSuite extends Error {}

export class SuiteContext {
  constructor(name) {
    this.name = name;
    this.workDir = mkdtempSync(join(process.env.TRIBUTARY_E2E_TMP ?? tmpdir(), `tributary-e2e-${name}-`));
    this.logDir = join(this.workDir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
    this.brokers = [];
    this.cleanups = [];
    this.counts = {};
    this.startedMs = Date.now();
  }

  log(message) {
    const s = ((Date.now() - this.startedMs) / 1000).toFixed(1);
    process.stderr.write(`  [${this.name} +${s}s] ${message}\n`);
  }

  path(name) {
    return join(this.workDir, name);
  }

  /** A broker on fresh free ports with a data dir inside this suite's work dir (stopped at the end). */
  async startBroker({ name = 'broker', env = {} } = {}) {
    const opts = { dataDir: join(this.workDir, `${name}-data`), logDir: this.logDir, name, env };
    const broker = target === 'apache-kafka' ? new ApacheKafkaTarget(opts) : new Broker(opts);
    this.brokers.push(broker);
    await broker.start();
    this.log(`${name} serving on ${broker.bootstrap} (data ${broker.dataDir})`);
    return broker;
  }

  onCleanup(fn) {
    this.cleanups.push(fn);
  }

  async cleanup({ keep }) {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        this.log(`cleanup: ${e.message}`);
      }
    }
    for (const b of this.brokers) await b.stop().catch(() => b.kill9());
    if (!keep) rmSync(this.workDir, { recursive: true, force: true });
  }
}
