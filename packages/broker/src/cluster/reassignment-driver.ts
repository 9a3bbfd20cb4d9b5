// Drives partition reassignments on the partition's Raft leader (issue 5): for every partition this node leads whose
// metadata record has a move in progress, one single-server membership change at a time towards the target
// (reassignment-plan.ts: learners first, promoted only once caught up, removals last, leadership handed over first
// when the leader itself leaves), then `completeReassignment` in the metadata group, after which the removed
// replicas stop hosting the group and delete its data (cluster-partitions.ts).
//
// Stateless between steps: each pass reads the metadata record and the group's current configuration (which lives
// in the Raft log), so a new leader, or this node after a restart, resumes where the move stands.
import type { Logger } from 'pino';
import { nodeId as toNodeId, Role, type ConfChange, type RaftGroupId, type RaftNode } from '@tributary/raft';
import type { ClusterNode, ControlRequest } from './cluster-node.js';
import { TRANSFER_TARGET_HEARD_MS, type HostedReplicas } from './leadership-service.js';
import type { RaftPartition } from './raft-partition.js';
import { isReassigning, nextReassignmentStep, targetOf, type ReassignmentStep } from './reassignment-plan.js';
import { sleep } from './sleep.js';

/** How often the driver looks at the partitions this node leads (also after every metadata apply). */
const PASS_INTERVAL_MS = 300;
/** How long one catch-up check waits for a learner to reach the commit index sampled when it began. */
const CATCH_UP_WAIT_MS = 2_000;
const POLL_MS = 50;
/** Longest wait for one membership change or metadata write before the next pass retries. */
const STEP_TIMEOUT_MS = 10_000;
/**
 * A leadership hand-over is not asked again sooner than this: asking restarts Raft's transfer timer, and proposals
 * are refused while a transfer runs, so asking every pass would block produce if the target never took over (Raft
 * aborts a transfer after an election timeout, 1 s here).
 */
const TRANSFER_RETRY_MS = 3_000;
/** Control request asking a replica how far its partition state is applied. */
const REPLICA_STATE = 'reassignmentReplicaState';

interface ReplicaStateRequest extends ControlRequest {
  readonly control: typeof REPLICA_STATE;
  readonly raftGroup: number;
}

/** A replica's answer: its partition state's Raft position, and false while it restores from the object store. */
export interface ReplicaState {
  readonly hosted: boolean;
  readonly appliedIndex: number;
  readonly caughtUp: boolean;
}


function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => onTimeout)]);
}

export class ReassignmentDriver {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Raft groups with a step under way here (one at a time per group). */
  private readonly inFlight = new Set<number>();
  /** When this node last asked Raft to hand a group's leadership over (see TRANSFER_RETRY_MS). */
  private readonly transferAskedAtMs = new Map<number, number>();

  constructor(
    private readonly node: ClusterNode,
    private readonly replicas: HostedReplicas,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.node.onControl(REPLICA_STATE, (_from, request) => Promise.resolve(this.replicaState((request as ReplicaStateRequest).raftGroup)));
    this.timer = setInterval(() => this.pass(), PASS_INTERVAL_MS);
    this.timer.unref();
    this.node.store.onApplied(() => this.pass());
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private replicaState(raftGroup: number): ReplicaState {
    for (const p of this.replicas.hostedReplicas()) {
      if (p.raftGroup === raftGroup) return { hosted: true, appliedIndex: p.appliedPosition().raftIndex, caughtUp: p.isCaughtUp() };
    }
    return { hosted: false, appliedIndex: 0, caughtUp: false };
  }

  private pass(): void {
    if (this.stopped) return;
    for (const p of this.replicas.hostedReplicas()) {
      if (this.inFlight.has(p.raftGroup)) continue;
      const raft = this.node.host.group(p.raftGroup as RaftGroupId);
      if (raft?.role !== Role.Leader) continue;
      const record = this.node.store.getTopic(p.topic)?.assignments[p.partition];
      if (record === undefined || record.raftGroup !== p.raftGroup || !isReassigning(record)) continue;
      this.inFlight.add(p.raftGroup);
      void this.drive(p, raft, targetOf(record))
        .catch((err: unknown) => this.logger.warn({ err, topic: p.topic, partition: p.partition }, 'reassignment step failed; retrying'))
        .finally(() => this.inFlight.delete(p.raftGroup));
    }
  }

  /** One step of one partition's move. */
  private async drive(p: RaftPartition, raft: RaftNode, target: readonly number[]): Promise<void> {
    const self = this.node.selfId as number;
    const conf = { voters: [...raft.conf.voters] as number[], learners: [...raft.conf.learners] as number[] };
    // The plan asks about a learner's catch-up only when promoting it is the next step, so the (waiting) check runs
    // only then: not before a stray learner's removal or another target replica's addition.
    let step = nextReassignmentStep(self, conf, target, () => false, this.transferTarget(raft, target));
    if (step.kind === 'awaitCatchUp') {
      const caughtUp = await this.isCaughtUp(p, raft, step.nodeId);
      if (this.stopped || raft.role !== Role.Leader) return;
      if (caughtUp) step = { kind: 'promote', nodeId: step.nodeId };
    }
    const log = { topic: p.topic, partition: p.partition, raftGroup: p.raftGroup, target, voters: conf.voters, learners: conf.learners };
    switch (step.kind) {
      case 'awaitCatchUp':
        return;
      case 'blocked':
        this.logger.debug({ ...log, reason: step.reason }, 'reassignment waiting');
        return;
      case 'transferLeadership': {
        const askedAtMs = this.transferAskedAtMs.get(p.raftGroup);
        if (askedAtMs !== undefined && Date.now() - askedAtMs < TRANSFER_RETRY_MS) return;
        this.transferAskedAtMs.set(p.raftGroup, Date.now());
        this.logger.info({ ...log, to: step.to }, 'reassignment: this leader leaves the partition; handing leadership over first');
        this.node.host.transferLeadership(p.raftGroup as RaftGroupId, toNodeId(step.to));
        return;
      }
      case 'complete':
        return this.complete(p, raft, target, log);
      default:
        return this.changeConf(p, step, log);
    }
  }

  private async changeConf(p: RaftPartition, step: Exclude<ReassignmentStep, { kind: 'complete' | 'awaitCatchUp' | 'transferLeadership' }>, log: object): Promise<void> {
    const change: ConfChange =
      step.kind === 'addLearner' ? { type: 'addLearner', nodeId: toNodeId(step.nodeId) }
      : step.kind === 'promote' ? { type: 'addVoter', nodeId: toNodeId(step.nodeId) }
      : { type: 'removeNode', nodeId: toNodeId(step.nodeId) };
    const r = await withTimeout(this.node.host.proposeConfChange(p.raftGroup as RaftGroupId, change), STEP_TIMEOUT_MS, null);
    if (r === null) this.logger.warn({ ...log, change }, 'reassignment: membership change not committed in time; retrying');
    else if (!r.ok) this.logger.info({ ...log, change, reason: r.reason }, 'reassignment: membership change not accepted now; retrying');
    else this.logger.info({ ...log, change, raftIndex: r.index }, 'reassignment: membership change committed');
  }

  /**
   * The configuration is the target: record the end of the move. Only once this leader has committed an entry of
   * its own term, so every configuration entry before it (an earlier leader's too) is committed.
   */
  private async complete(p: RaftPartition, raft: RaftNode, target: readonly number[], log: object): Promise<void> {
    if (raft.log.term(raft.commitIndex) !== raft.term) return;
    const r = await this.node.propose({ kind: 'completeReassignment', topic: p.topic, partition: p.partition, raftGroup: p.raftGroup, target }, STEP_TIMEOUT_MS);
    this.transferAskedAtMs.delete(p.raftGroup);
    if (r.kind === 'applied' && r.result.ok) this.logger.info(log, 'reassignment complete');
    else this.logger.info({ ...log, outcome: r.kind === 'applied' ? r.result : r.reason }, 'reassignment completion not recorded; retrying');
  }

  /**
   * Caught up = holds everything the group had committed when the check began: its Raft match index reached that
   * commit index, and its own partition state has applied it and is not restoring from the object store (asked over
   * the control channel), so the data is really there before it may vote and before any old replica is removed.
   */
  private async isCaughtUp(p: RaftPartition, raft: RaftNode, learner: number): Promise<boolean> {
    const required = raft.commitIndex as number;
    const deadline = Date.now() + CATCH_UP_WAIT_MS;
    for (;;) {
      const pr = raft.progress().get(toNodeId(learner));
      if (pr !== undefined && pr.state === 'replicate' && pr.match >= required) break;
      if (Date.now() > deadline || this.stopped || raft.role !== Role.Leader) return false;
      await sleep(POLL_MS);
    }
    while (!this.stopped && raft.role === Role.Leader) {
      const request: ReplicaStateRequest = { control: REPLICA_STATE, raftGroup: p.raftGroup };
      const state = (await this.node.requestControl(learner, request, CATCH_UP_WAIT_MS)) as ReplicaState | null;
      if (state !== null && state.hosted && state.caughtUp && state.appliedIndex >= required) return true;
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
    return false;
  }

  /** The live target voter (other than this node) with the highest match, to hand leadership to; null if none. */
  private transferTarget(raft: RaftNode, target: readonly number[]): number | null {
    let best: number | null = null;
    let bestMatch = -1;
    for (const [peer, pr] of raft.progress()) {
      if (peer === this.node.selfId || !target.includes(peer) || !raft.conf.voters.includes(peer)) continue;
      const heard = this.node.peerHeardAtMs(peer);
      if (heard === undefined || Date.now() - heard > TRANSFER_TARGET_HEARD_MS) continue;
      if (pr.match > bestMatch) {
        best = peer;
        bestMatch = pr.match;
      }
    }
    return best;
  }
}
