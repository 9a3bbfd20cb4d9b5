// docker/compose.yaml and docker/Dockerfile describe a coherent cluster, and the checker notices each way of
// breaking one (so the compose-coherence suite's static half cannot pass vacuously).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeProblems, imageEnvironment, loadCompose, serviceEnvironment } from '../lib/compose.mjs';
import { repoRoot } from '../lib/paths.mjs';
import { CONFIG_VARIABLES } from '../../packages/broker/dist/src/config.js';

const composePath = join(repoRoot, 'docker/compose.yaml');
const imageEnv = imageEnvironment(readFileSync(join(repoRoot, 'docker/Dockerfile'), 'utf8'));
const fresh = () => loadCompose(composePath);

test('the image sets where data lives and listens on all interfaces', () => {
  assert.equal(imageEnv.TRIBUTARY_DATA_DIR, '/var/lib/tributary');
  assert.equal(imageEnv.TRIBUTARY_KAFKA_LISTEN, '0.0.0.0:9092');
  assert.equal(imageEnv.PATH, undefined, 'only broker variables are kept');
  assert.deepEqual(imageEnvironment('FROM a AS build\nENV TRIBUTARY_LOG_LEVEL=debug\nFROM b\nENV X=1 \\\n  TRIBUTARY_NODE_ID=4\n'), { TRIBUTARY_NODE_ID: '4' });
});

test('docker/compose.yaml is coherent', () => {
  const compose = fresh();
  assert.deepEqual(composeProblems(compose, imageEnv, CONFIG_VARIABLES), []);
  assert.equal(serviceEnvironment(compose.services['broker-2']).TRIBUTARY_NODE_ID, '2', 'merge keys resolved');
});

test('each way of breaking the file is reported', () => {
  const cases = [
    [(c) => (c.services['broker-2'].environment.TRIBUTARY_S3_BUCKET = 'other'), /broker-2: TRIBUTARY_S3_BUCKET other is not the bucket/],
    [(c) => (c.services['broker-1'].environment.TRIBUTARY_ADVERTISED_ADDRESS = 'broker-1:9092'), /broker-1: advertises broker-1:9092, but host clients reach it at 127.0.0.1:11092/],
    [(c) => (c.services['broker-3'].environment.TRIBUTARY_PEERS = '1@broker-1:9093'), /broker-3: TRIBUTARY_PEERS is 1@broker-1:9093, expected/],
    [(c) => (c.services['broker-3'].environment.TRIBUTARY_PEERS = '1@broker-1:9093,2@broker-2:9094'), /broker-3: TRIBUTARY_PEERS/],
    [(c) => (c.services['broker-1'].environment.AWS_SECRET_ACCESS_KEY = 'wrong'), /broker-1: AWS_\* credentials differ/],
    [(c) => (c.services['broker-1'].environment.TRIBUTARY_S3_ENDPOINT = 'http://localhost:9000'), /broker-1: TRIBUTARY_S3_ENDPOINT/],
    [(c) => (c.services['broker-2'].environment.TRIBUTARY_SNAPHSOT_ENABLED = 'false'), /TRIBUTARY_SNAPHSOT_ENABLED is not a variable the broker reads/],
    [(c) => (c.services['broker-2'].environment.KAFKA_HEAP_OPTS = '-Xmx1g'), /KAFKA_HEAP_OPTS is not a TRIBUTARY_\* or AWS_\* variable/],
    [(c) => (c.services['broker-1'].ports = ['127.0.0.1:11644:9644']), /broker-1: Kafka port 9092 is not published/],
    [(c) => (c.services['broker-3'].volumes = ['broker-1-data:/var/lib/tributary']), /broker-1-data is shared with another broker/],
    [(c) => (c.services['broker-3'].volumes = ['/tmp/x:/var/lib/tributary']), /\/tmp\/x is not a named volume/],
    [(c) => (c.services['broker-2'].environment.TRIBUTARY_NODE_ID = '1'), /node ids are not unique/],
    [(c) => delete c.services['broker-1'].depends_on, /broker-1: must depend on minio-init/],
    [(c) => delete c.services.minio.healthcheck, /minio: no healthcheck/],
    [(c) => (c.services['minio-init'].environment.MC_HOST_minio = 'http://tributary:nope@minio:9000'), /credentials are not MinIO's/],
    [(c) => (c.services['minio-init'].entrypoint = ['mc', 'mb', 'minio/elsewhere']), /is not the bucket minio-init creates \(elsewhere\)/],
    [(c) => (c.services['broker-2'].environment.TRIBUTARY_CLUSTER_ID = 'other'), /do not share one TRIBUTARY_CLUSTER_ID/],
  ];
  for (const [breakIt, expected] of cases) {
    const compose = fresh();
    breakIt(compose);
    const problems = composeProblems(compose, imageEnv, CONFIG_VARIABLES);
    assert.ok(problems.some((p) => expected.test(p)), `${expected} not among: ${problems.join(' | ') || '(no problems)'}`);
  }
});
