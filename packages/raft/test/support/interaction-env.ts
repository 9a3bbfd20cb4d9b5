// A deterministic, synchronous cluster driven by text commands (in the style of etcd's datadriven interaction tests).
// Messages are queued per destination and only move on `stabilize` / `deliver`; partitions and crashes drop them.
import { RaftNode } from '../../src/core/raft.js';
import { MemoryStorage, bootstrapState } from '../../src/storage/storage.js';
import { EntryType, MessageType, type Message, type NodeId, type Snapshot, type SnapshotMeta } from '../../src/core/types.js';
import { decodeConf } from '../../src/core/conf.js';

const TYPE_NAMES: Record<number, string> = {
  [MessageType.Append]: 'App', [MessageType.AppendResponse]: 'AppResp', [MessageType.Heartbeat]: 'Heartbeat',
  [MessageType.HeartbeatResponse]: 'HeartbeatResp', [MessageType.Vote]: 'Vote', [MessageType.VoteResponse]: 'VoteResp',
  [MessageType.PreVote]: 'PreVote', [MessageType.PreVoteResponse]: 'PreVoteResp', [MessageType.InstallSnapshot]: 'Snap',
  [MessageType.TimeoutNow]: 'TimeoutNow',
};

interface EnvNode { id: NodeId; raft: RaftNode | null; storage: MemoryStorage; applied: string[]; snapshot: Snapshot | null; preVote: boolean; checkQuorum: boolean; maxMsgBytes: number }

export class InteractionEnv {
  private nodes = new Map<number, EnvNode>();
  private inbox: Message[] = [];
  private side = new Map<number, number>();

  run(cmd: string, args: string[]): string[] {
    const out: string[] = [];
    const kv = new Map<string, string>();
    const pos: string[] = [];
    for (const a of args) { const i = a.indexOf('='); if (i > 0) kv.set(a.slice(0, i), a.slice(i + 1)); else pos.push(a); }
    const list = (s: string | undefined) => (s === undefined || s === '()' ? [] : s.replace(/[()]/g, '').split(',').filter(Boolean).map(Number));
    const node = (s: string) => { const n = this.nodes.get(Number(s)); if (n === undefined) throw new Error(`no node ${s}`); return n; };
    switch (cmd) {
      case 'add-nodes': {
        const count = Number(pos[0]);
        const voters = list(kv.get('voters')) as NodeId[];
        const learners = list(kv.get('learners')) as NodeId[];
        for (let i = 0; i < count; i++) {
          const id = (this.nodes.size + 1) as NodeId;
          const member = voters.includes(id) || learners.includes(id);
          const n: EnvNode = { id, raft: null, storage: new MemoryStorage(bootstrapState(member ? voters : [], member ? learners : [])), applied: [], snapshot: null, preVote: kv.get('prevote') !== 'false', checkQuorum: kv.get('checkquorum') !== 'false', maxMsgBytes: Number(kv.get('maxmsgbytes') ?? 1 << 20) };
          this.nodes.set(id, n);
          this.boot(n);
        }
        out.push(...this.status());
        break;
      }
      case 'campaign': node(pos[0]!).raft!.campaignNow(); out.push(...this.stabilize([]), ...[]); break;
      case 'campaign-only': node(pos[0]!).raft!.campaignNow(); break;
      case 'tick': {
        const ids = pos.length > 1 ? pos.slice(1) : [...this.nodes.keys()].map(String);
        for (let i = 0; i < Number(pos[0]); i++) for (const id of ids) { const r = this.nodes.get(Number(id))!.raft; r?.tick(); }
        break;
      }
      case 'propose': {
        const r = node(pos[0]!).raft!.propose(Buffer.from(pos[1]!));
        out.push(r.ok ? `proposed at ${r.index}/${r.term}` : `rejected: ${r.reason}`);
        break;
      }
      case 'propose-conf-change': {
        const r = node(pos[0]!).raft!.proposeConfChange({ type: pos[1] as 'addVoter', nodeId: Number(pos[2]) as NodeId });
        out.push(r.ok ? `proposed at ${r.index}/${r.term}` : `rejected: ${r.reason}${r.message ? ` (${r.message})` : ''}`);
        break;
      }
      case 'transfer-leadership': out.push(node(pos[0]!).raft!.transferLeadership(Number(pos[1]) as NodeId) ? 'transferring' : 'refused'); break;
      case 'read-index': { const r = node(pos[0]!).raft!.readIndex(Number(pos[1])); out.push(r.ok ? 'read pending' : `refused: ${r.reason}`); break; }
      case 'compact': {
        const n = node(pos[0]!);
        const idx = Number(pos[1]);
        const meta = n.raft!.compact(idx);
        if (meta !== null) { n.snapshot = { meta, data: Buffer.from(n.applied.slice(0, idx).join(',')) }; n.storage.compact(n.snapshot); n.storage.sync(); }
        out.push(`compacted ${pos[0]} to ${n.raft!.firstIndex - 1}`);
        break;
      }
      case 'partition': {
        this.side.clear();
        pos.forEach((set, i) => { for (const id of list(set)) this.side.set(id, i + 1); });
        break;
      }
      case 'heal': this.side.clear(); break;
      case 'crash': { const n = node(pos[0]!); n.raft = null; n.storage.crash(); this.inbox = this.inbox.filter((m) => m.to !== n.id); break; }
      case 'restart': { this.boot(node(pos[0]!)); break; }
      case 'drop-all': this.inbox = []; break;
      case 'stabilize': out.push(...this.stabilize(pos.map(Number))); break;
      case 'process-ready': out.push(...this.processReady(node(pos[0]!))); break;
      case 'deliver': {
        const to = Number(pos[0]);
        const keep: Message[] = [];
        const now = this.inbox.filter((m) => m.to === to);
        this.inbox = this.inbox.filter((m) => m.to !== to);
        for (const m of now) {
          const target = this.nodes.get(m.to);
          if (target?.raft == null) continue;
          out.push(this.describe(m));
          target.raft.step(m);
        }
        this.inbox.push(...keep);
        break;
      }
      case 'status': out.push(...this.status()); break;
      case 'log': { const n = node(pos[0]!); if (n.raft === null) { out.push('down'); break; } const r = n.raft; const items: string[] = []; for (let i = r.firstIndex; i <= r.lastIndex; i++) { const e = r.log.entry(i)!; items.push(`${i}/${e.term}${e.type === EntryType.ConfChange ? ' conf' + JSON.stringify(decodeConf(e.data).voters) : e.data.length ? ' ' + Buffer.from(e.data).toString() : ''}`); } out.push(`first ${r.firstIndex} commit ${r.commitIndex}: ${items.join(', ') || '(empty)'}`); break; }
      case 'applied': for (const n of this.nodes.values()) out.push(`${n.id}: ${n.applied.filter(Boolean).join(' ') || '(none)'}`); break;
      default: throw new Error(`unknown command ${cmd}`);
    }
    return out;
  }

  private boot(n: EnvNode): void {
    const snap = n.storage.loadSnapshot();
    n.snapshot = snap;
    n.applied = snap === null ? [] : Buffer.from(snap.data).toString().split(',');
    n.raft = new RaftNode({ id: n.id, electionTicks: 10, heartbeatTicks: 1, preVote: n.preVote, checkQuorum: n.checkQuorum, random: () => (n.id % 10) / 10, maxMsgBytes: n.maxMsgBytes,
      snapshotData: (meta: SnapshotMeta) => (n.snapshot !== null && n.snapshot.meta.index === meta.index ? n.snapshot.data : null) }, n.storage.load());
  }

  private status(): string[] {
    return [...this.nodes.values()].map((n) => {
      const r = n.raft;
      if (r === null) return `${n.id}: down`;
      return `${n.id}: ${r.role} term=${r.term} leader=${r.leaderId} commit=${r.commitIndex} last=${r.lastIndex} voters=${r.conf.voters.join(',')}${r.conf.learners.length ? ` learners=${r.conf.learners.join(',')}` : ''}`;
    });
  }

  private describe(m: Message): string {
    let s = `${m.from}->${m.to} ${TYPE_NAMES[m.type]} term=${m.term}`;
    if (m.type === MessageType.Append) s += ` prev=${m.index}/${m.logTerm} commit=${m.commit}${m.entries.length ? ` entries=[${m.entries.map((e) => `${e.index}/${e.term}`).join(' ')}]` : ''}`;
    if (m.type === MessageType.AppendResponse) s += m.reject ? ` reject=${m.index} hint=${m.rejectHint}` : ` index=${m.index}`;
    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) s += ` last=${m.index}/${m.logTerm}`;
    if (m.type === MessageType.VoteResponse || m.type === MessageType.PreVoteResponse) s += m.reject ? ' rejected' : ' granted';
    if (m.type === MessageType.InstallSnapshot) s += ` snapshot=${m.snapshot!.meta.index}/${m.snapshot!.meta.term}`;
    return s;
  }

  private processReady(n: EnvNode): string[] {
    const out: string[] = [];
    if (n.raft === null || !n.raft.hasReady()) return out;
    const rd = n.raft.ready();

        if (rd.softState !== null) out.push(`${n.id} becomes ${rd.softState.role} at term ${n.raft.term}`);
        if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
        if (rd.snapshot !== null) { n.storage.applySnapshot(rd.snapshot); n.snapshot = rd.snapshot; n.applied = Buffer.from(rd.snapshot.data).toString().split(','); out.push(`${n.id} installs snapshot ${rd.snapshot.meta.index}/${rd.snapshot.meta.term}`); }
        if (rd.entries.length > 0) n.storage.append(rd.entries);
        n.storage.sync();
        for (const e of rd.committedEntries) n.applied[e.index - 1] = e.type === EntryType.ConfChange ? `conf${JSON.stringify(decodeConf(e.data).voters)}` : Buffer.from(e.data).toString();
        if (rd.committedEntries.length > 0) out.push(`${n.id} applies up to ${rd.committedEntries[rd.committedEntries.length - 1]!.index}`);
        for (const rs of rd.readStates) out.push(`${n.id} read ${rs.context} ready at index ${rs.index}`);
        for (const m of rd.messages) this.inbox.push(m);
    n.raft.advance(rd);
    return out;
  }

  /** Process readies and deliver messages until nothing moves; prints delivered messages (heartbeats omitted) and role changes. */
  private stabilize(only: number[]): string[] {
    const out: string[] = [];
    const active = (id: number) => only.length === 0 || only.includes(id);
    for (let rounds = 0; rounds < 1000; rounds++) {
      let moved = false;
      for (const n of this.nodes.values()) {
        if (n.raft === null || !active(n.id) || !n.raft.hasReady()) continue;
        moved = true;
        out.push(...this.processReady(n));
      }
      const pending = this.inbox;
      this.inbox = [];
      for (const m of pending) {
        const to = this.nodes.get(m.to);
        if (!active(m.from) && !active(m.to)) { this.inbox.push(m); continue; }
        if (to?.raft === null || to === undefined) continue;
        if ((this.side.get(m.from) ?? 0) !== (this.side.get(m.to) ?? 0)) { if (m.type !== MessageType.Heartbeat && m.type !== MessageType.HeartbeatResponse) out.push(`dropped ${this.describe(m)}`); continue; }
        moved = true;
        if (m.type !== MessageType.Heartbeat && m.type !== MessageType.HeartbeatResponse) out.push(this.describe(m));
        to.raft.step(m);
      }
      if (!moved) break;
    }
    return out;
  }
}

/** Parses a datadriven file: blocks of `command args\n----\nexpected\n\n`. */
export function parseScenario(text: string): { line: number; cmd: string; args: string[]; expected: string[] }[] {
  const lines = text.split('\n');
  const cases: { line: number; cmd: string; args: string[]; expected: string[] }[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!.trim();
    if (l === '' || l.startsWith('#')) { i++; continue; }
    const [cmd, ...args] = l.split(/\s+/);
    const start = i + 1;
    if (lines[i + 1]?.trim() !== '----') throw new Error(`line ${start}: expected ---- after command`);
    i += 2;
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') { expected.push(lines[i]!); i++; }
    cases.push({ line: start, cmd: cmd!, args, expected });
  }
  return cases;
}
