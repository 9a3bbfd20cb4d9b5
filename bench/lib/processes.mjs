// Child-process helpers for the bench: run a tool with a hard time limit, and start/stop a Tributary broker.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const javaLibDir = join(repoRoot, '.cache', 'java', 'lib');
const quietLog4jConfig = join(repoRoot, 'bench', 'java', 'log4j2.properties');

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Tool processes still running, so an interrupted bench can kill them instead of leaving orphans. */
const liveTools = new Set();

/** SIGKILLs every tool started by runTool that is still running. */
export function killRunningTools() {
  for (const child of liveTools) child.kill('SIGKILL');
}

/**
 * Runs a command to completion, capturing stdout/stderr. Kills it (SIGKILL) after timeoutMs.
 * Resolves { code, signal, stdout, stderr, elapsedMs, timedOut }; never rejects for a non-zero exit.
 */
export function runTool(command, args, { timeoutMs, env, cwd = repoRoot } = {}) {
  return new Promise((resolveRun, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    liveTools.add(child);
    child.once('exit', () => liveTools.delete(child));
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
  });
}

/** Runs a Kafka Java tool class (from kafka-tools) with a small heap and quiet logging. */
export function runJavaTool(mainClass, args, { timeoutMs, heap = '512m' }) {
  return runTool(
    'java',
    [`-Xmx${heap}`, `-Dlog4j2.configurationFile=${quietLog4jConfig}`, '-cp', `${javaLibDir}/*`, mainClass, ...args],
    { timeoutMs },
  );
}

function tail(file, lines = 30) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)';
}

/**
 * Starts `node packages/broker/bin/tributary.js dev` on 127.0.0.1 with ephemeral ports and its own data dir.
 * Waits for the ports.json the broker writes once it serves. `cpuProfileDir` adds --cpu-prof (written at clean exit).
 * Resolves { bootstrap, pid, logFile, stop() }.
 */
export async function startTributary({ dataDir, env = {}, cpuProfileDir, startTimeoutMs = 60_000 }) {
  const bin = join(repoRoot, 'packages', 'broker', 'bin', 'tributary.js');
  const cli = join(repoRoot, 'packages', 'broker', 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} missing: build first (npx turbo run build)`);
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, '..', 'tributary.log');
  const logFd = openSync(logFile, 'a');
  const nodeArgs = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, bin, 'dev'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TRIBUTARY_KAFKA_LISTEN: '127.0.0.1:0',
      TRIBUTARY_HTTP_LISTEN: '127.0.0.1:0',
      TRIBUTARY_DATA_DIR: dataDir,
      TRIBUTARY_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  let exited = false;
  const exitedPromise = new Promise((r) => child.once('exit', () => { exited = true; r(); }));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exitedPromise;
    clearTimeout(killTimer);
  };
  const portsFile = join(dataDir, 'ports.json');
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Tributary exited during start; see ${logFile}:\n${tail(logFile)}`);
    if (existsSync(portsFile)) {
      try {
        const ports = JSON.parse(readFileSync(portsFile, 'utf8'));
        // The broker's 'listening' log line names the effective fsync policy.
        const fsyncPolicy = /"fsyncPolicy":"(\w+)"/.exec(readFileSync(logFile, 'utf8'))?.[1] ?? null;
        return { bootstrap: ports.kafka, pid: child.pid, logFile, fsyncPolicy, stop };
      } catch {
        // half-written: retry
      }
    }
    await delay(100);
  }
  await stop();
  throw new Error(`Tributary did not serve within ${startTimeoutMs} ms; see ${logFile}:\n${tail(logFile)}`);
}

