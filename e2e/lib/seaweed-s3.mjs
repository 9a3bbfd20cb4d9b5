// A real S3 server without Docker: SeaweedFS (`weed server -s3`) bound to one address, with the S3 gateway on a
// chosen port and one identity, standing in for MinIO. The binary comes from scripts/install/seaweedfs.sh.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './paths.mjs';
import { S3ObjectStore } from '../../packages/snapshot/dist/src/index.js';
import { freePort, sleep } from './proc.mjs';

export const WEED_BIN = process.env.TRIBUTARY_WEED_BIN || join(cacheDir, 'seaweedfs/venv/bin/weed');
export const weedInstalled = () => existsSync(WEED_BIN);

/**
 * Starts SeaweedFS with every component bound to `ip`, S3 on `s3Port`, accepting `accessKeyId`/`secretAccessKey`.
 * Resolves once the S3 gateway answers. stop() kills it (SIGKILL: weed is slow to honour SIGTERM).
 */
export async function startSeaweedS3({ ip, s3Port, accessKeyId, secretAccessKey, dataDir, timeoutMs = 60_000 }) {
  mkdirSync(join(dataDir, 'data'), { recursive: true });
  const identities = join(dataDir, 'identities.json');
  writeFileSync(
    identities,
    JSON.stringify({ identities: [{ name: 'e2e', credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }] }),
  );
  const port = async () => freePort(ip);
  const args = [
    'server',
    `-dir=${join(dataDir, 'data')}`,
    `-ip=${ip}`,
    `-ip.bind=${ip}`,
    '-master.electionTimeout=1s',
    `-master.port=${await port()}`,
    `-master.port.grpc=${await port()}`,
    '-master.volumeSizeLimitMB=128',
    `-volume.port=${await port()}`,
    `-volume.port.grpc=${await port()}`,
    '-volume.max=16',
    `-filer.port=${await port()}`,
    `-filer.port.grpc=${await port()}`,
    '-s3',
    `-s3.port=${s3Port}`,
    `-s3.port.grpc=${await port()}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.config=${identities}`,
    '-metricsPort=0',
  ];
  const logFile = join(dataDir, 'weed.log');
  const log = openSync(logFile, 'a');
  const child = spawn(WEED_BIN, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  const endpoint = `http://${ip}:${s3Port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`weed exited early; see ${logFile}`);
    const answered = await fetch(endpoint, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    if (answered) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`SeaweedFS did not serve S3 within ${timeoutMs} ms; see ${logFile}`);
    }
    await sleep(200);
  }
  return {
    endpoint,
    logFile,
    /** What `mc mb --ignore-existing` does (with the caller's credentials); retried while the fresh filer settles. */
    async createBucket(bucket, credentials = { accessKeyId, secretAccessKey }) {
      const store = new S3ObjectStore({ bucket, endpoint, region: 'us-east-1', credentials });
      for (let attempt = 1; ; attempt++) {
        try {
          await store.ensureBucket();
          return;
        } catch (err) {
          if (attempt >= 20) throw err;
          await sleep(500);
        }
      }
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
  };
}
