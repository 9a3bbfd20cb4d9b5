// Child-process helpers: spawn with captured output, wait for a line, wait for exit with a time bound.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port that was free a moment ago on 127.0.0.1 (used to restart a broker on the port it had). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns a program. stdout and stderr are appended to `logFile` (when given) and kept in memory (last 200 lines).
 * `onLine(line, stream)` sees every output line.
 */
export function run(command, args, { env, cwd, logFile, onLine, stdin = 'ignore' } = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: [stdin, 'pipe', 'pipe'] });
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const tail = [];
  const listeners = new Set();
  if (onLine) listeners.add(onLine);
  for (const stream of ['stdout', 'stderr']) {
    let pending = '';
    child[stream].on('data', (chunk) => {
      log?.write(chunk);
      pending += chunk.toString('utf8');
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        tail.push(`[${stream}] ${line}`);
        if (tail.length > 200) tail.shift();
        for (const l of listeners) l(line, stream);
      }
    });
  }
  const exited = new Promise((resolve) => {
    child.on('error', (e) => {
      tail.push(`[spawn] ${e.message}`);
      resolve({ code: 127, signal: null, error: e });
    });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  // Close the log once both pipes are drained.
  let open = 2;
  const done = () => {
    if (--open === 0) log?.end();
  };
  child.stdout.on('end', done);
  child.stderr.on('end', done);
  return {
    child,
    pid: child.pid,
    exited,
    tail: () => tail.join('\n'),
    addLineListener: (l) => listeners.add(l),
    removeLineListener: (l) => listeners.delete(l),
    /** Resolves with the first output line for which `predicate` returns a truthy value (that value). */
    waitForLine(predicate, timeoutMs, what = 'line') {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${command}\n${tail.slice(-30).join('\n')}`));
        }, timeoutMs);
        const listener = (line, stream) => {
          const v = predicate(line, stream);
          if (v) {
            cleanup();
            resolve(v);
          }
        };
        const onExit = ({ code, signal }) => {
          cleanup();
          reject(new Error(`${command} exited (code ${code}, signal ${signal}) before ${what}\n${tail.slice(-30).join('\n')}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(listener);
          exited.then(() => {}); // keep the promise observed
        };
        listeners.add(listener);
        exited.then((r) => {
          if (listeners.has(listener)) onExit(r);
        });
      });
    },
    /** Waits for exit; kills (SIGKILL) and rejects after timeoutMs. */
    async wait(timeoutMs, what = command) {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${what} did not finish within ${timeoutMs} ms\n${tail.slice(-30).join('\n')}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs a program to completion and throws (with its output tail) unless it exits 0. */
export async function runOk(command, args, opts = {}, timeoutMs = 120_000) {
  const p = run(command, args, opts);
  const { code, signal } = await p.wait(timeoutMs, `${command} ${args.slice(0, 3).join(' ')}`);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (code ${code}, signal ${signal})\n${p.tail().split('\n').slice(-40).join('\n')}`);
  return p;
}

/**
 * SIGTERM (graceful shutdown), SIGKILL if `proc` (from run) is still alive after timeoutMs. Resolves once it is gone,
 * with its exit status, or { code: null, signal: 'SIGKILL', timedOut: true } when it had to be killed.
 */
export async function terminate(proc, timeoutMs) {
  proc.child.kill('SIGTERM');
  let timer;
  const result = await Promise.race([
    proc.exited,
    new Promise((resolve) => {
      timer = setTimeout(() => {
        proc.child.kill('SIGKILL');
        resolve({ code: null, signal: 'SIGKILL', timedOut: true });
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  await proc.exited;
  return result;
}
