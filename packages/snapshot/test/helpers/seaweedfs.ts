/**
 * Starts a real SeaweedFS (master + volume + filer + S3 gateway in one `weed server` process) on loopback
 * with ephemeral ports, for integration tests and the benchmark. The binary comes from
 * scripts/install/seaweedfs.sh (.cache/seaweedfs/venv/bin/weed) or TRIBUTARY_WEED_BIN.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEED_INSTALL_HINT = 'SeaweedFS not installed: run `bash scripts/install/seaweedfs.sh` (CI does)';

export function findWeed(): string | null {
  const fromEnv = process.env.TRIBUTARY_WEED_BIN;
  if (fromEnv !== undefined && fromEnv !== '' && existsSync(fromEnv)) return fromEnv;
  // this file: <repo>/packages/snapshot/dist/test/helpers/seaweedfs.js (or bench/…): look upwards for .cache
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 8; i++) {
    for (const layout of ['venv', 'target']) {
      const candidate = join(dir, '.cache', 'seaweedfs', layout, 'bin', 'weed');
      if (existsSync(candidate)) return candidate;
    }
    dir = join(dir, '..');
  }
  return null;
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export class SeaweedServer {
  readonly accessKeyId = 'tributary-test';
  readonly secretAccessKey = 'tributary-test-secret';
  private child: ChildProcess | null = null;

  private constructor(
    private readonly weed: string,
    readonly dataDir: string,
    private readonly ports: number[],
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.ports[0]}`;
  }

  static async start(weed: string, dataDir: string): Promise<SeaweedServer> {
    await mkdir(join(dataDir, 'data'), { recursive: true });
    const server = new SeaweedServer(weed, dataDir, await freePorts(8));
    await writeFile(
      join(dataDir, 'identities.json'),
      JSON.stringify({
        identities: [
          {
            name: 'tributary',
            credentials: [{ accessKey: server.accessKeyId, secretKey: server.secretAccessKey }],
            actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
          },
        ],
      }),
    );
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const [s3, s3Grpc, master, masterGrpc, volume, volumeGrpc, filer, filerGrpc] = this.ports as [number, number, number, number, number, number, number, number];
    const args = [
      'server',
      `-dir=${join(this.dataDir, 'data')}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      // A restarted single master otherwise waits ~15 s (default 10 s election timeout) before it serves.
      '-master.electionTimeout=1s',
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      '-master.volumeSizeLimitMB=128',
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      '-volume.max=16',
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      `-s3.config=${join(this.dataDir, 'identities.json')}`,
      '-metricsPort=0',
    ];
    const log = openSync(join(this.dataDir, 'weed.log'), 'a');
    this.child = spawn(this.weed, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const child = this.child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`weed exited early (code ${code}); see ${join(this.dataDir, 'weed.log')}`))),
    );
    exited.catch(() => {});
    // Readiness: the S3 gateway answers HTTP (any status). Bounded by a deadline, not a sleep.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await Promise.race([
        fetch(this.endpoint, { method: 'GET' }).then(
          () => true,
          () => false,
        ),
        exited,
      ]);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`SeaweedFS did not become ready; see ${join(this.dataDir, 'weed.log')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Kills the process (an abrupt S3 outage); its data directory is kept for restart(). */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // SIGKILL: weed takes ~5 s to honour SIGTERM, and a crash is the harsher outage anyway.
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts again on the same ports and data directory. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }
}
