#!/usr/bin/env node
// O_DSYNC write cost on this disk: appending to a growing file (each write changes the size: a journal commit on
// ext4) against overwriting a file zero-filled and fsynced beforehand. Prints mean µs per write.
// usage: node bench/dsync-write.mjs [--writes 1500] [--bytes 16384] [--processes 1]   (run in the directory to test)
import { closeSync, constants, fsyncSync, openSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { writes: { type: 'string', default: '1500' }, bytes: { type: 'string', default: '16384' }, processes: { type: 'string', default: '1' }, mode: { type: 'string' } } });
const writes = Number(values.writes);
const bytes = Number(values.bytes);

function measure(mode) {
  const path = `dsync-write-${process.pid}.tmp`;
  const buf = Buffer.alloc(bytes, 7);
  if (mode === 'overwrite') writeFileSync(path, Buffer.alloc(writes * bytes));
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | (mode === 'append' ? constants.O_TRUNC : 0) | constants.O_DSYNC);
  try {
    if (mode === 'overwrite') fsyncSync(fd);
    const start = process.hrtime.bigint();
    for (let i = 0; i < writes; i++) writeSync(fd, buf, 0, bytes, i * bytes);
    return Number(process.hrtime.bigint() - start) / 1000 / writes;
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}

if (values.mode !== undefined) {
  process.send?.(measure(values.mode));
} else {
  for (const mode of ['append', 'overwrite']) {
    const children = Array.from({ length: Number(values.processes) }, () => new Promise((resolve, reject) => {
      const child = fork(new URL(import.meta.url).pathname, ['--mode', mode, '--writes', String(writes), '--bytes', String(bytes)]);
      child.once('message', resolve);
      child.once('error', reject);
    }));
    const perWriteUs = await Promise.all(children);
    console.log(`${mode}: ${perWriteUs.map((us) => us.toFixed(0)).join(', ')} µs per ${bytes}-byte O_DSYNC write (${values.processes} process(es) at once)`);
  }
}
