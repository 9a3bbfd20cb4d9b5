// Drives real-client consumer-group members (separate processes printing `EVENT {json}` lines) through phases:
// wait for a stable assignment (every partition owned by exactly one live member), produce, wait until everything
// was processed, check every record was processed exactly once and each partition by one member only.
import { existsSync, writeFileSync } from 'node:fs';
import { readConsumed } from './records.mjs';
import { run, sleep } from './proc.mjs';

export class GroupMember {
  /** @param {{ name: string, command: [string, string[], object?], outFile: string, stopFile: string, logFile: string }} o */
  constructor(o) {
    Object.assign(this, o);
    this.assignment = null; // latest reported partitions (null until the first report)
    this.processed = 0;
    this.closed = false;
    this.rowsSeen = 0; // rows of outFile already attributed to earlier phases
    this.events = [];
    const [cmd, args, opts] = o.command;
    this.proc = run(cmd, args, { ...opts, logFile: o.logFile, onLine: (line) => this.onLine(line) });
    this.proc.exited.then(() => {
      this.closed = true;
    });
  }

  onLine(line) {
    if (!line.startsWith('EVENT ')) return;
    let e;
    try {
      e = JSON.parse(line.slice(6));
    } catch {
      return;
    }
    this.events.push({ atMs: Date.now(), ...e });
    if (e.kind === 'assignment' || e.kind === 'lost') this.assignment = e.partitions;
    if (e.kind === 'progress' || e.kind === 'closed') this.processed = e.count;
  }

  /** Asks the member to commit, leave the group and exit; waits for it. */
  async stop(timeoutMs = 30_000) {
    writeFileSync(this.stopFile, 'stop\n');
    const { code } = await this.proc.wait(timeoutMs, `member ${this.name}`);
    if (code !== 0) throw new Error(`member ${this.name} exited with code ${code}\n${this.proc.tail()}`);
  }

  kill9() {
    this.proc.child.kill('SIGKILL');
    return this.proc.exited;
  }
}

/** Waits until the live members' assignments are disjoint, cover 0..partitions-1 and each is non-empty, for `stableMs`. */
export async function waitForStableAssignment(members, partitions, { timeoutMs = 60_000, stableMs = 1500 } = {}) {
  const startedMs = Date.now();
  let stableSinceMs = null;
  let last = '';
  while (Date.now() - startedMs < timeoutMs) {
    const live = members.filter((m) => !m.closed);
    for (const m of members) if (m.closed && !m.expectedExit) throw new Error(`member ${m.name} exited unexpectedly\n${m.proc.tail()}`);
    const owners = new Map();
    let ok = live.length > 0;
    for (const m of live) {
      if (!m.assignment || m.assignment.length === 0) ok = false;
      for (const p of m.assignment ?? []) {
        if (owners.has(p)) ok = false;
        owners.set(p, m.name);
      }
    }
    for (let p = 0; p < partitions; p++) if (!owners.has(p)) ok = false;
    last = live.map((m) => `${m.name}=[${m.assignment ?? ''}]`).join(' ');
    if (ok) {
      stableSinceMs ??= Date.now();
      if (Date.now() - stableSinceMs >= stableMs) return { ms: stableSinceMs - startedMs, stableForMs: Date.now() - stableSinceMs, owners, description: last };
    } else stableSinceMs = null;
    await sleep(100);
  }
  throw new Error(`no stable assignment of ${partitions} partitions within ${timeoutMs} ms; last: ${last}`);
}

/** Waits until members together processed `total` records (cumulative counts), then a little longer to catch extras. */
export async function waitForProcessed(members, total, { timeoutMs = 60_000, settleMs = 1000 } = {}) {
  const startedMs = Date.now();
  const sum = () => members.reduce((s, m) => s + m.processed, 0);
  while (sum() < total) {
    if (Date.now() - startedMs > timeoutMs) throw new Error(`members processed ${sum()} of ${total} records within ${timeoutMs} ms`);
    for (const m of members) if (m.closed && !m.expectedExit) throw new Error(`member ${m.name} exited unexpectedly\n${m.proc.tail()}`);
    await sleep(100);
  }
  await sleep(settleMs);
  return Date.now() - startedMs;
}

/**
 * Reads the rows each member wrote since the last call, and checks that every partition's new rows came from one member
 * which (at the time) owned it. Returns the rows, concatenated member by member.
 */
export async function collectPhase(members, owners) {
  const rows = [];
  const readerOf = new Map();
  for (const m of members) {
    if (!existsSync(m.outFile)) continue;
    const all = await readConsumed(m.outFile);
    const fresh = all.slice(m.rowsSeen);
    m.rowsSeen = all.length;
    for (const r of fresh) {
      const prev = readerOf.get(r.partition);
      if (prev !== undefined && prev !== m.name) throw new Error(`partition ${r.partition} was read by both ${prev} and ${m.name} in one phase`);
      readerOf.set(r.partition, m.name);
      if (owners && owners.get(r.partition) !== m.name)
        throw new Error(`partition ${r.partition} read by ${m.name} but assigned to ${owners.get(r.partition)}`);
    }
    rows.push(...fresh);
  }
  return rows;
}
