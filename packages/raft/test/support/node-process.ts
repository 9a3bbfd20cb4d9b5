// Spawns and drives raft-node processes (dist/src/bin/raft-node.js) over their line protocol.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const NODE_BIN = fileURLToPath(new URL('../../src/bin/raft-node.js', import.meta.url));

export class NodeProcess {
  child: ChildProcess;
  port = 0;
  private listeners: ((line: string) => void)[] = [];
  readonly lines: string[] = [];
  readonly exited: Promise<void>;
  constructor(readonly id: number, dir: string, extra: string[] = []) {
    this.child = spawn(process.execPath, [NODE_BIN, '--id', String(id), '--dir', dir, ...extra], { stdio: ['pipe', 'pipe', 'inherit'] });
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (line) => {
      this.lines.push(line);
      for (const l of this.listeners.slice()) l(line);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }
  send(line: string): void { this.child.stdin!.write(`${line}\n`); }
  /** Resolves with the first line (already seen or future) matching `re`. */
  waitFor(re: RegExp, timeoutMs: number, fromLine = 0): Promise<RegExpMatchArray> {
    for (let i = fromLine; i < this.lines.length; i++) { const m = this.lines[i]!.match(re); if (m) return Promise.resolve(m); }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.listeners = this.listeners.filter((l) => l !== on); reject(new Error(`node ${this.id}: timed out waiting for ${re}`)); }, timeoutMs);
      const on = (line: string) => {
        const m = line.match(re);
        if (m) { clearTimeout(timer); this.listeners = this.listeners.filter((l) => l !== on); resolve(m); }
      };
      this.listeners.push(on);
    });
  }
  async start(): Promise<number> { this.port = Number((await this.waitFor(/^listening (\d+)$/, 10_000))[1]); return this.port; }
  kill9(): void { this.child.kill('SIGKILL'); }
}

export function sendPeers(nodes: NodeProcess[]): void {
  const ports: Record<string, number> = {};
  for (const n of nodes) ports[String(n.id)] = n.port;
  for (const n of nodes) n.send(`peers ${JSON.stringify(ports)}`);
}
