#!/usr/bin/env node
// CPU cost of moving bytes over loopback TCP between two Node processes (the kernel work under every Raft Append
// and acknowledgement on one machine): the sender writes --total-mb in frames of --frame-bytes, the receiver counts
// them; prints MB/s and each side's CPU (process.cpuUsage, user + system) per KiB moved.
// usage: node bench/loopback-tcp.mjs [--frame-bytes 16384,65536,1048576] [--total-mb 500]
import net from 'node:net';
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';

if (process.argv[2] === '--receiver') {
  const server = net.createServer((sock) => {
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    sock.on('data', (chunk) => { bytes += chunk.length; });
    sock.on('end', () => {
      const cpu = process.cpuUsage(cpu0);
      process.send({ bytes, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
} else {
  const { values } = parseArgs({ options: { 'frame-bytes': { type: 'string', default: '16384,65536,1048576' }, 'total-mb': { type: 'string', default: '500' } } });
  const totalBytes = Number(values['total-mb']) * 1e6;
  for (const frameBytes of values['frame-bytes'].split(',').map(Number)) {
    const receiver = fork(new URL(import.meta.url).pathname, ['--receiver']);
    const { port } = await new Promise((resolve) => receiver.once('message', resolve));
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    await new Promise((resolve) => sock.once('connect', resolve));
    const frame = Buffer.alloc(frameBytes, 1);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let sent = 0;
    while (sent < totalBytes) {
      if (!sock.write(frame)) await new Promise((resolve) => sock.once('drain', resolve));
      sent += frameBytes;
    }
    sock.end();
    const received = await new Promise((resolve) => receiver.once('message', resolve));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const kib = sent / 1024;
    console.log(`frame ${String(frameBytes).padStart(8)} B | ${(sent / 1e6 / seconds).toFixed(0)} MB/s | sender ${((cpu.user + cpu.system) / kib).toFixed(3)} us/KiB | receiver ${((received.cpuMs * 1000) / kib).toFixed(3)} us/KiB | received ${received.bytes === sent ? 'all' : `${received.bytes} of ${sent}`} bytes`);
  }
}
