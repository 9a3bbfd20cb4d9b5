// Partition reassignment as pure functions: what the metadata record holds during a move (Kafka's shape), and the
// next single-server membership change the partition's Raft leader makes to reach the target.
//
// Record (metadata group): `replicas` is what Kafka reports during a move — the target first, then the replicas
// being removed (so the preferred leader is the target's first) — with `addingReplicas` (target − original) and
// `removingReplicas` (original − target). target = replicas − removing; original = replicas − adding. Every node in
// `replicas` hosts the partition's Raft group until the move completes, so no replica stops hosting while it may
// still be a member of the group's Raft configuration.

export interface ReassignmentRecord {
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

export function isReassigning(r: ReassignmentRecord): boolean {
  return r.addingReplicas.length > 0 || r.removingReplicas.length > 0;
}

/** The replica set a move ends with, in preference order. */
export function targetOf(r: ReassignmentRecord): number[] {
  return r.replicas.filter((n) => !r.removingReplicas.includes(n));
}

/**
 * A new target (Kafka's PartitionReassignmentReplicas): the base is the current `replicas` — during a move, the
 * union — so a replica of an interrupted move that the new target drops is removed like any other.
 */
export function startReassignment(current: ReassignmentRecord, target: readonly number[]): ReassignmentRecord {
  const removing = current.replicas.filter((n) => !target.includes(n));
  const adding = target.filter((n) => !current.replicas.includes(n));
  return { replicas: [...target, ...removing], addingReplicas: adding, removingReplicas: removing };
}

/**
 * Cancelling (`replicas: null`) goes back to the original replicas (replicas − adding), as Kafka does. Unlike Kafka
 * the adding replicas do not vanish at once: one may already be a Raft voter, so the cancel is recorded as a move
 * back (they become the removing replicas) that the leader drives like any other and that completes on its own.
 */
export function cancelReassignment(current: ReassignmentRecord): ReassignmentRecord {
  const original = current.replicas.filter((n) => !current.addingReplicas.includes(n));
  return { replicas: [...original, ...current.addingReplicas], addingReplicas: [], removingReplicas: [...current.addingReplicas] };
}

/** Why a target replica list is refused (Kafka's INVALID_REPLICA_ASSIGNMENT), or null when it is acceptable. */
export function invalidTarget(target: readonly number[], registeredBrokers: readonly number[]): string | null {
  if (target.length === 0) return 'the replica list is empty';
  if (new Set(target).size !== target.length) return `duplicate replica ids in ${JSON.stringify(target)}`;
  const unknown = target.find((n) => !registeredBrokers.includes(n));
  if (unknown !== undefined) return `broker ${unknown} is not a registered broker`;
  return null;
}

export interface RaftConf {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

export type ReassignmentStep =
  | { readonly kind: 'addLearner'; readonly nodeId: number }
  | { readonly kind: 'promote'; readonly nodeId: number }
  | { readonly kind: 'awaitCatchUp'; readonly nodeId: number }
  | { readonly kind: 'removeNode'; readonly nodeId: number }
  | { readonly kind: 'transferLeadership'; readonly to: number }
  | { readonly kind: 'complete' };

/**
 * The next step of the leader `selfId` towards a configuration of exactly `target` voters and no learners. One
 * single-server change at a time, in this order:
 * 1. a learner outside the target is removed (it holds no vote: nothing depends on it);
 * 2. a target replica outside the configuration joins as a learner (it starts empty and catches up by log or snapshot);
 * 3. a target learner is promoted once `caughtUp` says it holds what the group committed, else the move waits;
 * 4. only when every target replica votes, a voter outside the target is removed; if that is the leader itself, it
 *    first hands leadership to `transferTo` (a caught-up target voter), whose own driver carries on;
 * 5. then the move is complete.
 * So a removed replica always leaves a configuration whose target voters already hold the data.
 */
export function nextReassignmentStep(selfId: number, conf: RaftConf, target: readonly number[], caughtUp: (nodeId: number) => boolean, transferTo: number | null): ReassignmentStep | { readonly kind: 'blocked'; readonly reason: string } {
  const strayLearner = conf.learners.find((n) => !target.includes(n));
  if (strayLearner !== undefined) return { kind: 'removeNode', nodeId: strayLearner };
  const missing = target.find((n) => !conf.voters.includes(n) && !conf.learners.includes(n));
  if (missing !== undefined) return { kind: 'addLearner', nodeId: missing };
  const learner = target.find((n) => conf.learners.includes(n));
  if (learner !== undefined) return caughtUp(learner) ? { kind: 'promote', nodeId: learner } : { kind: 'awaitCatchUp', nodeId: learner };
  const leaving = conf.voters.filter((n) => !target.includes(n));
  const other = leaving.find((n) => n !== selfId);
  if (other !== undefined) return { kind: 'removeNode', nodeId: other };
  if (leaving.includes(selfId)) {
    return transferTo === null ? { kind: 'blocked', reason: 'no caught-up target voter to hand leadership to' } : { kind: 'transferLeadership', to: transferTo };
  }
  return { kind: 'complete' };
}
