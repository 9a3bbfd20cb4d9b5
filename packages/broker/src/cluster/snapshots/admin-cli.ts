// `tributary snapshots list|trigger [--http host:port] [--raft-group N] [--json]`: calls a broker's HTTP admin
// endpoints (admin-http.ts) and prints the answer as a table (or the JSON as received with --json).
// Exit codes: 0 done, 1 the broker answered with an error (or a snapshot failed), 2 bad usage.
import { DEFAULTS } from '../../config.js';
import type { GroupReport, TriggerOutcome } from './snapshot-service.js';
import { SNAPSHOTS_PATH, TRIGGER_PATH } from './admin-http.js';

export const SNAPSHOTS_USAGE = 'usage: tributary snapshots list|trigger [--http host:port] [--raft-group N] [--json]';
const REQUEST_TIMEOUT_MS = 10 * 60 * 1000;

export interface SnapshotsCliOptions {
  readonly action: 'list' | 'trigger';
  readonly http: string;
  readonly raftGroup: number | undefined;
  readonly json: boolean;
}

/** Parses the arguments after `snapshots`; a string is the reason they are bad. */
export function parseSnapshotsArgs(args: readonly string[]): SnapshotsCliOptions | string {
  const action = args[0];
  if (action !== 'list' && action !== 'trigger') return `expected "list" or "trigger"\n${SNAPSHOTS_USAGE}`;
  let http: string = DEFAULTS.httpListen;
  let raftGroup: number | undefined;
  let json = false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') {
      json = true;
      continue;
    }
    const v = args[i + 1];
    if (v === undefined) return `${a} needs a value\n${SNAPSHOTS_USAGE}`;
    i++;
    if (a === '--http') {
      if (!/^[^\s/]+:\d{1,5}$/.test(v)) return `--http: expected host:port, got "${v}"`;
      http = v;
    } else if (a === '--raft-group') {
      if (!/^\d+$/.test(v)) return `--raft-group: expected a Raft group id, got "${v}"`;
      raftGroup = Number(v);
    } else {
      return `unknown option ${a}\n${SNAPSHOTS_USAGE}`;
    }
  }
  return { action, http, raftGroup, json };
}

interface ListBody {
  nodeId: number;
  writer: string;
  store: string;
  loopRunning: boolean;
  caughtUp: boolean;
  groups: GroupReport[];
}

function formatList(body: ListBody, onlyGroup: number | undefined): string {
  const lines = [`node ${body.nodeId}  writer ${body.writer}  store ${body.store}  loop ${body.loopRunning ? 'running' : 'stopped'}  ${body.caughtUp ? 'caught up' : 'restoring'}`];
  lines.push('raft_group  kind      applied  last_snapshot  age_s  entries_since  failures  raft_log         snapshots (index-term)');
  for (const g of body.groups) {
    if (onlyGroup !== undefined && g.raftGroup !== onlyGroup) continue;
    const span = g.raftLog === null ? '-' : `${g.raftLog.firstIndex}..${g.raftLog.lastIndex}`;
    const snaps = g.snapshots === null ? `(store unavailable: ${g.listError ?? 'unknown'})` : g.snapshots.map((s) => `${s.index}-${s.term}`).join(' ') || '-';
    lines.push(
      [String(g.raftGroup).padEnd(10), g.kind.padEnd(8), String(g.appliedIndex).padStart(7), String(g.lastSnapshotIndex).padStart(14), (g.lastSnapshotAgeMs / 1000).toFixed(0).padStart(6), String(g.entriesSinceSnapshot).padStart(14), String(g.consecutiveFailures).padStart(9), ` ${span.padEnd(16)}`, snaps].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

function formatTrigger(outcomes: TriggerOutcome[]): string {
  return `${outcomes
    .map((o) =>
      o.status === 'created'
        ? `raft group ${o.raftGroup}: snapshot at index ${o.index} (term ${o.term}), ${o.bytesUploaded} bytes uploaded`
        : o.status === 'nothing-new'
          ? `raft group ${o.raftGroup}: nothing new since the snapshot at index ${o.lastSnapshotIndex}`
          : `raft group ${o.raftGroup}: FAILED: ${o.error}`,
    )
    .join('\n')}\n`;
}

export async function runSnapshotsCli(options: SnapshotsCliOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const base = `http://${options.http}`;
  const url =
    options.action === 'list'
      ? `${base}${SNAPSHOTS_PATH}`
      : `${base}${TRIGGER_PATH}${options.raftGroup === undefined ? '' : `?raftGroup=${options.raftGroup}`}`;
  let response: Response;
  try {
    response = await fetch(url, { method: options.action === 'list' ? 'GET' : 'POST', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    err.write(`tributary snapshots: cannot reach ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}\n`);
    return 1;
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    err.write(`tributary snapshots: ${url} answered ${response.status} with non-JSON: ${text.slice(0, 200)}\n`);
    return 1;
  }
  if (options.json) out.write(`${JSON.stringify(body, null, 2)}\n`);
  if (response.status !== 200 && !(options.action === 'trigger' && response.status === 500 && Array.isArray((body as { outcomes?: unknown }).outcomes))) {
    err.write(`tributary snapshots: ${response.status}: ${(body as { error?: string }).error ?? text}\n`);
    return 1;
  }
  if (options.action === 'list') {
    if (!options.json) out.write(formatList(body as ListBody, options.raftGroup));
    return 0;
  }
  const outcomes = (body as { outcomes: TriggerOutcome[] }).outcomes;
  if (!options.json) out.write(formatTrigger(outcomes));
  return outcomes.some((o) => o.status === 'failed') ? 1 : 0;
}
