// The suites, in the order run.mjs runs them. Each module in e2e/suites/ default-exports
// { name, timeoutMs, description, run(ctx) -> counts }.
export const SUITES = [
  'kafkajs',
  'kcat',
  'confluent-kafka',
  'kafka-python',
  'java',
  'franz-go',
  'java-client-compatibility',
  'confluent-kafka-group-cooperative',
  'java-group',
  'kill9-durability',
  'cluster-seed-scenario',
  'cluster-produce-retry',
  'cluster-fault-loop',
  'cluster-fault-loop-5',
  'cluster-startup-window',
  'compose-coherence',
  'minio-testcontainers',
  'operations-guide',
  'cluster-snapshot-bootstrap',
  'cluster-reassign',
];

export async function loadSuite(name) {
  if (!SUITES.includes(name)) throw new Error(`unknown suite "${name}"; known: ${SUITES.join(', ')}`);
  const mod = await import(`../suites/${name}.mjs`);
  return mod.default;
}
