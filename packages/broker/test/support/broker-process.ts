// Starts the real broker process (`bin/tributary.js dev`) on ephemeral ports with a temporary data dir and
// finds its bound addresses from the "listening" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/support -> packages/broker
export const BROKER_PACKAGE_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const BIN = join(BROKER_PACKAGE_DIR, 'bin', 'tributary.js');

export interface HostPort {
  host: string;
  port: number;
}

export interface BrokerProcess {
  readonly proc: ChildProcess;
  readonly kafka: HostPort;
  readonly http: HostPort;
  readonly dataDir: string;
  readonly output: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDataDir(prefix = 'trib-broker-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function parseHostPort(s: string): HostPort {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

export function runCli(args: string[], env: Record<string, string>, timeoutMs = 15000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`tributary ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export async function startBroker(options: { dataDir: string; env?: Record<string, string>; startTimeoutMs?: number }): Promise<BrokerProcess> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    TRIBUTARY_KAFKA_LISTEN: '127.0.0.1:0',
    TRIBUTARY_HTTP_LISTEN: '127.0.0.1:0',
    TRIBUTARY_DATA_DIR: options.dataDir,
    TRIBUTARY_LOG_LEVEL: 'info',
    ...options.env,
  };
  const proc = spawn(process.execPath, [BIN, 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const listening = new Promise<{ kafka: HostPort; http: HostPort }>((resolvePromise, reject) => {
    let pending = '';
    const timer = setTimeout(() => reject(new Error(`broker did not start in time; output:\n${output}`)), options.startTimeoutMs ?? 20000);
    proc.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      output += text;
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { event?: string; kafka?: string; http?: string };
          if (entry.event === 'listening' && entry.kafka && entry.http) {
            clearTimeout(timer);
            resolvePromise({ kafka: parseHostPort(entry.kafka), http: parseHostPort(entry.http) });
          }
        } catch {
          // not JSON: ignore
        }
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening; output:\n${output}`));
    });
  });
  const { kafka, http } = await listening;
  return {
    proc,
    kafka,
    http,
    dataDir: options.dataDir,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
