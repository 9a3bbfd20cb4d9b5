// Issue 7: the snapshot and bootstrap scenario (lib/snapshot-bootstrap-scenario.mjs) against a real MinIO started
// through testcontainers (@testcontainers/minio), with the MinIO image docker/compose.yaml pins. Skipped, with the
// reason, where no Docker engine is reachable. TRIBUTARY_E2E_MINIO_STANDIN=seaweedfs runs the same scenario against
// SeaweedFS instead (no Docker needed), to check the scenario itself.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SkipSuite } from '../lib/suite.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { freePort } from '../lib/proc.mjs';
import { loadCompose } from '../lib/compose.mjs';
import { startSeaweedS3, weedInstalled, WEED_BIN } from '../lib/seaweed-s3.mjs';
import { runSnapshotBootstrapScenario } from '../lib/snapshot-bootstrap-scenario.mjs';

const CREDENTIALS = { accessKeyId: 'tributary', secretAccessKey: 'tributary-secret' };
const BUCKET = 'tributary-e2e';

/** Where Docker would be found without asking testcontainers (used only to word the reason when it cannot load). */
function dockerEndpointHint() {
  if (process.env.DOCKER_HOST) return `DOCKER_HOST=${process.env.DOCKER_HOST}`;
  return ['/var/run/docker.sock', join(process.env.HOME ?? '/root', '.docker/run/docker.sock')].find((p) => existsSync(p)) ?? null;
}

async function withSeaweedFs(ctx) {
  if (!weedInstalled()) throw new SkipSuite(`TRIBUTARY_E2E_MINIO_STANDIN=seaweedfs but SeaweedFS is not installed at ${WEED_BIN}`);
  const dataDir = ctx.path('seaweedfs');
  mkdirSync(dataDir, { recursive: true });
  const s3 = await startSeaweedS3({ ip: '127.0.0.1', s3Port: await freePort(), ...CREDENTIALS, dataDir });
  ctx.onCleanup(() => s3.stop());
  return runSnapshotBootstrapScenario(ctx, { endpoint: s3.endpoint, bucket: BUCKET, ...CREDENTIALS });
}

export default {
  name: 'minio-testcontainers',
  description: 'snapshot + wiped-node bootstrap against real MinIO (testcontainers); skipped without a Docker engine',
  timeoutMs: 420_000,
  async run(ctx) {
    if (process.env.TRIBUTARY_E2E_MINIO_STANDIN === 'seaweedfs') return withSeaweedFs(ctx);
    let testcontainers;
    let minio;
    try {
      testcontainers = await import('testcontainers');
      minio = await import('@testcontainers/minio');
    } catch (err) {
      // Pinned to testcontainers 11 (loads on Node 20); 12 needs Node >= 22.22 (its HTTP client uses zlib's zstd).
      const reason = `testcontainers cannot load on Node ${process.version}: ${String(err?.message ?? err).split('\n')[0]}`;
      if (dockerEndpointHint() === null) throw new SkipSuite(`no Docker engine (no DOCKER_HOST, no docker.sock); also ${reason}`);
      throw new Error(`a Docker engine is present (${dockerEndpointHint()}) but ${reason}`);
    }
    try {
      await testcontainers.getContainerRuntimeClient();
    } catch (err) {
      throw new SkipSuite(`no Docker engine (${String(err?.message ?? err).split('\n')[0]})`);
    }
    const image = loadCompose(join(repoRoot, 'docker/compose.yaml')).services.minio.image;
    ctx.log(`starting ${image} through testcontainers`);
    const container = await new minio.MinioContainer(image).withUsername(CREDENTIALS.accessKeyId).withPassword(CREDENTIALS.secretAccessKey).start();
    ctx.onCleanup(() => container.stop());
    return runSnapshotBootstrapScenario(ctx, { endpoint: container.getConnectionUrl(), bucket: BUCKET, ...CREDENTIALS });
  },
};
