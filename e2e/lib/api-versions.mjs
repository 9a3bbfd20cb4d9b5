// Asks a broker which APIs it advertises (ApiVersions v0 over a raw socket; v0 needs no flexible encoding).
import { connect } from 'node:net';

/** Resolves with Map<apiKey, {minVersion, maxVersion}>. */
export function fetchApiVersions(host, port, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`ApiVersions: no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const clientId = Buffer.from('e2e-probe');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2); // v0
    body.writeInt32BE(7, 4); // correlation id
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    socket.once('connect', () => socket.write(Buffer.concat([size, body])));
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        if (buf.readInt32BE(4) !== 7) throw new Error('ApiVersions: wrong correlation id');
        const errorCode = buf.readInt16BE(8);
        if (errorCode !== 0) throw new Error(`ApiVersions: error code ${errorCode}`);
        const n = buf.readInt32BE(10);
        const apis = new Map();
        for (let i = 0; i < n; i++) {
          const at = 14 + i * 6;
          apis.set(buf.readInt16BE(at), { minVersion: buf.readInt16BE(at + 2), maxVersion: buf.readInt16BE(at + 4) });
        }
        resolve(apis);
      } catch (e) {
        reject(e);
      }
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
