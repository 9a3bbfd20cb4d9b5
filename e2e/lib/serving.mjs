// When a Tributary process the harness started serves Kafka: shared by broker.mjs (one `tributary dev`) and
// cluster.mjs (`tributary start` nodes), so both wait the same way.
import { connect } from 'node:net';
import { sleep } from './proc.mjs';

export function tcpAccepts(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function httpReady(host, port) {
  try {
    const res = await fetch(`http://${host}:${port}/ready`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** True when a broker log line (pino JSON) announces the Kafka listener's bound address: {"event":"listening","kafka":"host:port"}. */
export function isListeningLine(line, kafkaPort) {
  if (!line.startsWith('{')) return false;
  let obj;
  try {
    obj = JSON.parse(line);
  } catch {
    return false;
  }
  return obj.event === 'listening' && typeof obj.kafka === 'string' && obj.kafka.endsWith(`:${kafkaPort}`);
}

/**
 * Resolves once `proc` (from proc.mjs's run) serves Kafka on `kafkaPort`. Two signals, whichever comes first: the
 * listening log line, or /ready answering 200 and the Kafka port accepting (polled: the line is at info level, a
 * quieter level hides it, and its wording may change). The poll stops when `stillCurrent()` turns false (the caller
 * lost or replaced the process); then the line decides. Throws after `timeoutMs`, or when the process announced its
 * listener but refuses connections.
 */
export async function waitUntilServing(proc, { host, kafkaPort, httpPort, timeoutMs, what, stillCurrent }) {
  const byLine = proc.waitForLine((line) => isListeningLine(line, kafkaPort), timeoutMs, `${what}'s listening line or /ready`);
  byLine.catch(() => {});
  const deadline = Date.now() + timeoutMs;
  let polledReady = false;
  const byPoll = (async () => {
    while (Date.now() < deadline && stillCurrent()) {
      if ((await httpReady(host, httpPort)) && (await tcpAccepts(host, kafkaPort))) {
        polledReady = true;
        return;
      }
      await sleep(100);
    }
  })();
  await Promise.race([byLine, byPoll.then(() => (polledReady ? undefined : byLine))]);
  if (!(await tcpAccepts(host, kafkaPort))) {
    // The line came first: the socket must accept right after.
    throw new Error(`${what} announced ${host}:${kafkaPort} but refuses connections\n${proc.tail()}`);
  }
}
