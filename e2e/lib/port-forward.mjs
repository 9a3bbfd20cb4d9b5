// What Docker's port publishing does for a container: a TCP listener on the host that relays each connection to
// the container's address. The compose-coherence suite uses it so host clients reach broker processes exactly the
// way compose.yaml says they would (through the published ports and the advertised addresses).
import { connect, createServer } from 'node:net';

/** Listens on host:port (port 0 = any free port) and relays to target; resolves with the bound port and close(). */
export async function forwardPort({ host, port }, target) {
  const sockets = new Set();
  const server = createServer((inbound) => {
    const outbound = connect(target);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    // A refused or reset side closes the other, as a container that is down does for a published port.
    inbound.once('error', () => outbound.destroy());
    outbound.once('error', () => inbound.destroy());
    inbound.once('close', () => outbound.destroy());
    outbound.once('close', () => inbound.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
