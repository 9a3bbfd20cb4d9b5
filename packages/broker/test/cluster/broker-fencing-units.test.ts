// Broker fencing, in process: the metadata leader's session rule (broker-sessions.ts) on a simulated clock, and the
// metadata store's apply of fenceBroker / unfenceBroker (deterministic, survives a reopen, refuses stale unfences).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry, type RaftIndex, type Term } from '@tributary/raft';
import { BrokerSessions, type RegisteredBroker } from '../../src/cluster/broker-sessions.js';
import { encodeCommand, type MetadataCommand } from '../../src/cluster/metadata-commands.js';
import { MetadataStore } from '../../src/cluster/metadata-store.js';

const SESSION_MS = 9_000;
const STALL_MS = 3_000;
const unfenced = (...ids: number[]): RegisteredBroker[] => ids.map((nodeId) => ({ nodeId, fencedIndex: null, nodeHeardAtMs: undefined }));
const hb = (nodeId: number, metadataAppliedIndex = 100, shuttingDown = false) => ({ nodeId, metadataAppliedIndex, shuttingDown });

/** Drives `sessions` from `fromMs` to `toMs` in steps, with brokers `alive` heartbeating every 2 s; returns every decision. */
function run(sessions: BrokerSessions, brokers: () => RegisteredBroker[], alive: readonly number[], fromMs: number, toMs: number) {
  const out: { atMs: number; decision: ReturnType<BrokerSessions['decide']>[number] }[] = [];
  for (let now = fromMs; now <= toMs; now += 200) {
    if (now % 2_000 === 0) for (const id of alive) sessions.heartbeat(hb(id), now);
    for (const decision of sessions.decide(now, brokers())) out.push({ atMs: now, decision });
  }
  return out;
}

test('sessions: a broker silent past the session timeout is fenced, heartbeating ones never are', () => {
  const sessions = new BrokerSessions(SESSION_MS, STALL_MS);
  // Brokers 1 and 2 heartbeat throughout; 3 heartbeats until 10 s, then falls silent.
  let decisions = run(sessions, () => unfenced(1, 2, 3), [1, 2, 3], 0, 10_000);
  assert.deepEqual(decisions, []);
  decisions = run(sessions, () => unfenced(1, 2, 3), [1, 2], 10_200, 30_000);
  assert.ok(decisions.length > 0);
  assert.ok(decisions.every((d) => d.decision.kind === 'fence' && d.decision.nodeId === 3 && d.decision.reason === 'sessionExpired'));
  // Last heartbeat at 10 000: not fenced at 19 000 (= timeout), fenced at the first decision after.
  assert.equal(decisions[0]!.atMs, 19_200);
  assert.deepEqual(decisions[0]!.decision, { kind: 'fence', nodeId: 3, reason: 'sessionExpired', lastHeartbeatMs: 10_000 });
});

test('sessions: a new term starts every session afresh (no mass fencing at takeover), but a silent broker still expires', () => {
  const sessions = new BrokerSessions(SESSION_MS, STALL_MS);
  run(sessions, () => unfenced(1, 2, 3), [1, 2, 3], 0, 4_000);
  // Takeover at 60 s: the new leader heard nobody yet (its first heartbeats come within 2 s).
  sessions.restart();
  assert.deepEqual(sessions.decide(60_000, unfenced(1, 2, 3)), [], 'nobody fenced at takeover');
  const decisions = run(sessions, () => unfenced(1, 2, 3), [1, 2], 60_200, 80_000);
  assert.deepEqual(
    decisions.map((d) => [d.atMs, d.decision.nodeId]).slice(0, 1),
    [[69_200, 3]],
    'broker 3, never heard in this term, expires one session after takeover',
  );
  assert.equal((decisions[0]!.decision as { lastHeartbeatMs: number | null }).lastHeartbeatMs, null, 'not heard during this leadership');
});

test('sessions: a stall of the leader itself (GC, SIGSTOP) gives sessions a fresh start instead of fencing everybody', () => {
  const sessions = new BrokerSessions(SESSION_MS, STALL_MS);
  run(sessions, () => unfenced(1, 2, 3), [1, 2, 3], 0, 4_000);
  // The leader's loop did not run from 4 s to 30 s: every session looks expired, but this process was the one asleep.
  assert.deepEqual(sessions.decide(30_000, unfenced(1, 2, 3)), []);
  const after = run(sessions, () => unfenced(1, 2, 3), [1, 2, 3], 30_200, 50_000);
  assert.deepEqual(after, [], 'brokers that resume heartbeating are never fenced');
  // Regular decisions: no fresh start, so a broker that stops is fenced on time.
  const silent = run(sessions, () => unfenced(1, 2, 3), [1, 2], 50_200, 62_000);
  assert.equal(silent[0]?.atMs, 59_200, "last heartbeat at 50 000, fenced just after 59 000");
});

test('sessions: a fenced broker is unfenced once it heartbeats having applied its fence entry', () => {
  const sessions = new BrokerSessions(SESSION_MS, STALL_MS);
  const brokers = [{ nodeId: 1, fencedIndex: null, nodeHeardAtMs: undefined }, { nodeId: 2, fencedIndex: 50, nodeHeardAtMs: undefined }];
  assert.deepEqual(sessions.decide(0, brokers), [], 'a fresh session alone never unfences');
  sessions.heartbeat(hb(2, 49), 1_000);
  assert.deepEqual(sessions.decide(1_000, brokers), [], 'behind its own fence entry: stays fenced');
  sessions.heartbeat(hb(2, 50), 2_000);
  assert.deepEqual(sessions.decide(2_000, brokers), [{ kind: 'unfence', nodeId: 2, metadataAppliedIndex: 50 }]);
  // A heartbeat from before a stall does not unfence either: the stall's fresh start is not a heartbeat.
  const stalled = new BrokerSessions(SESSION_MS, STALL_MS);
  stalled.heartbeat(hb(2, 80), 0);
  stalled.decide(0, [{ nodeId: 2, fencedIndex: null, nodeHeardAtMs: undefined }]);
  assert.deepEqual(stalled.decide(20_000, [{ nodeId: 2, fencedIndex: 50, nodeHeardAtMs: undefined }]), []);
});

test('sessions: controlled shutdown fences at once and stays fenced until the broker heartbeats as running again', () => {
  const sessions = new BrokerSessions(SESSION_MS, STALL_MS);
  sessions.heartbeat(hb(2, 70, true), 1_000);
  assert.deepEqual(sessions.decide(1_000, unfenced(2)), [{ kind: 'fence', nodeId: 2, reason: 'controlledShutdown', lastHeartbeatMs: 1_000 }]);
  assert.deepEqual(sessions.decide(1_200, [{ nodeId: 2, fencedIndex: 71, nodeHeardAtMs: undefined }]), []);
  // A stall does not revive a broker that left.
  assert.deepEqual(sessions.decide(30_000, [{ nodeId: 2, fencedIndex: 71, nodeHeardAtMs: undefined }]), []);
  sessions.heartbeat(hb(2, 75), 31_000); // restarted, caught up
  assert.deepEqual(sessions.decide(31_000, [{ nodeId: 2, fencedIndex: 71, nodeHeardAtMs: undefined }]), [{ kind: 'unfence', nodeId: 2, metadataAppliedIndex: 75 }]);
});

test('sessions: a live broker of an older version (heard on the Raft transport, never heartbeating) is not fenced', () => {
  const sessions = new BrokerSessions(SESSION_MS, STALL_MS);
  const brokers = (nowMs: number, heardAtMs: number | undefined): RegisteredBroker[] => [
    { nodeId: 1, fencedIndex: null, nodeHeardAtMs: nowMs },
    { nodeId: 2, fencedIndex: null, nodeHeardAtMs: heardAtMs },
  ];
  for (let now = 0; now <= 30_000; now += 200) {
    if (now % 2_000 === 0) sessions.heartbeat(hb(1), now);
    assert.deepEqual(sessions.decide(now, brokers(now, now)), [], `at ${now} ms`);
  }
  // Once its node falls silent too, it is fenced like any other.
  let fencedAtMs: number | undefined;
  for (let now = 30_200; now <= 45_000 && fencedAtMs === undefined; now += 200) {
    if (now % 2_000 === 0) sessions.heartbeat(hb(1), now);
    const decided = sessions.decide(now, brokers(now, 30_000));
    if (decided.length > 0) {
      assert.deepEqual(decided.map((d) => d.nodeId), [2]);
      fencedAtMs = now;
    }
  }
  assert.equal(fencedAtMs, 39_200, 'fenced one session after its node was last heard');
  // A broker that heartbeated once runs a version that heartbeats: transport traffic alone no longer keeps it.
  const upgraded = new BrokerSessions(SESSION_MS, STALL_MS);
  upgraded.heartbeat(hb(2), 0);
  const fencedUpgraded: number[] = [];
  for (let now = 0; now <= 9_200; now += 200) {
    if (now % 2_000 === 0) upgraded.heartbeat(hb(1), now);
    fencedUpgraded.push(...upgraded.decide(now, brokers(now, now)).map((d) => d.nodeId));
  }
  assert.deepEqual(fencedUpgraded, [2]);
});

test('MetadataStore: fenceBroker / unfenceBroker apply deterministically, survive a reopen, refuse stale unfences', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-fencing-unit-'));
  try {
    const path = join(dir, 'meta.sqlite');
    let index = 0;
    const entry = (c: MetadataCommand): Entry => ({ index: ++index as RaftIndex, term: 1 as Term, type: EntryType.Normal, data: encodeCommand(c) });
    const fence = (nodeId: number, reason: 'sessionExpired' | 'controlledShutdown' = 'sessionExpired'): MetadataCommand => ({ kind: 'fenceBroker', nodeId, reason, decidedAtMs: 1_000 + index, lastHeartbeatMs: 500 });
    const unfence = (nodeId: number, metadataAppliedIndex: number): MetadataCommand => ({ kind: 'unfenceBroker', nodeId, decidedAtMs: 2_000, metadataAppliedIndex });
    let store = new MetadataStore(path);
    store.apply([
      entry({ kind: 'registerBroker', broker: { nodeId: 1, host: 'h', port: 1 } }),
      entry({ kind: 'registerBroker', broker: { nodeId: 2, host: 'h', port: 2 } }),
      entry(fence(9)), // 3: not registered
      entry(fence(2)), // 4
      entry(fence(2, 'controlledShutdown')), // 5: already fenced, the first fence stands
    ]);
    assert.equal(store.takeResult(3)?.ok, false);
    assert.deepEqual([...store.fencedBrokers().values()], [{ nodeId: 2, fencedIndex: 4, fencedMs: 1_003, reason: 'sessionExpired' }]);
    assert.equal(store.isFenced(1), false);
    store.apply([entry(unfence(2, 3))]); // 6: decided on a heartbeat from before the fence entry
    assert.equal(store.takeResult(6)?.ok, false);
    assert.ok(store.isFenced(2), 'a stale unfence changes nothing');
    // Registration again (a restart) leaves the fence: the broker's heartbeats unfence it once caught up.
    store.apply([entry({ kind: 'registerBroker', broker: { nodeId: 2, host: 'h', port: 22 } })]);
    assert.ok(store.isFenced(2));
    store.close();
    store = new MetadataStore(path);
    assert.deepEqual([...store.fencedBrokers().keys()], [2], 'the fenced set is in SQLite');
    store.apply([entry(unfence(2, 4)), entry(unfence(1, 8))]); // 8, 9
    assert.equal(store.takeResult(8)?.ok, true);
    assert.equal(store.isFenced(2), false);
    assert.equal(store.takeResult(9)?.ok, true, 'unfencing an unfenced broker is a no-op');
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
