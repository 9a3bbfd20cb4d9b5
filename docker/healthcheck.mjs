// Container health check: exit 0 when this node's /health answers 200, else 1.
// The HTTP address comes from the same variables the broker reads (TRIBUTARY_HTTP_LISTEN), through the broker's
// own config parser, so the check follows the configuration instead of assuming port 9644.
import { loadConfig } from '../packages/broker/dist/src/config.js';

const TIMEOUT_MS = 2000;

const loaded = loadConfig('start');
if (!loaded.ok) {
  process.stderr.write(`healthcheck: invalid configuration: ${loaded.errors.join('; ')}\n`);
  process.exit(1);
}
const { host, port } = loaded.config.httpListen;
// A wildcard listener is reached on loopback from inside the container.
const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
try {
  const res = await fetch(`http://${target}:${port}/health`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
