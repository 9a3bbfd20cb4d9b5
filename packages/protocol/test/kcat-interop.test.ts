// Real frames from librdkafka (kcat): flexible ApiVersions v3 (header v2 request, header v0 response),
// Metadata, Produce, ListOffsets and Fetch against the codec-only responder. Skipped when kcat is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { decodeRecordBatch, apiKeyName } from '../src/index.js';
import { startResponder } from './responder.js';

const kcatAvailable = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;

function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kcat', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kcat ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

test('kcat (librdkafka) lists metadata, produces and consumes against responses encoded by this package', { skip: !kcatAvailable && 'kcat not installed' }, async () => {
  const { server, port, seen, log, errors } = await startResponder();
  try {
    const broker = `127.0.0.1:${port}`;
    const metadata = JSON.parse(await kcat(['-b', broker, '-L', '-J', '-t', 'alpha'])) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
    };
    assert.deepEqual(metadata.brokers.map((b) => b.id), [0]);
    assert.deepEqual(metadata.topics.map((t) => [t.topic, t.partitions.map((p) => [p.partition, p.leader])]), [['alpha', [[0, 0]]]]);

    await kcat(['-b', broker, '-P', '-t', 'alpha', '-p', '0', '-K', ':', '-X', 'linger.ms=0'], 'k1:hello\nk2:world\n');
    // simple consumer (no group): ListOffsets + Fetch, exits at the end of the partition
    const consumed = await kcat(['-b', broker, '-C', '-t', 'alpha', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k:%s\n']);
    assert.deepEqual(consumed.trim().split('\n'), ['0 k1:hello', '1 k2:world']);
  } finally {
    server.close();
  }
  assert.deepEqual(errors, []);
  const values = log.flatMap((batch) => decodeRecordBatch(batch).records.map((r) => `${r.key?.toString()}:${r.value?.toString()}`));
  assert.deepEqual(values, ['k1:hello', 'k2:world']);
  const versions = new Map(seen.map((s) => [apiKeyName(s.apiKey), s.apiVersion]));
  assert.equal(versions.get('ApiVersions'), 3, 'librdkafka 2.x uses the flexible ApiVersions v3');
  assert.ok((versions.get('Produce') ?? 0) >= 3);
  assert.ok((versions.get('Fetch') ?? 0) >= 4);
});
