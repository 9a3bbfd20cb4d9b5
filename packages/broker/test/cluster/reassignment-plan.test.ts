// The reassignment plan (pure): Kafka's record shape during a move and on cancel, target validation, and the order of
// single-server membership changes — above all that no replica leaves before every target replica votes, and a
// learner votes only once caught up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelReassignment, invalidTarget, isReassigning, nextReassignmentStep, startReassignment, targetOf, type RaftConf } from '../../src/cluster/reassignment-plan.js';

const idle = (replicas: number[]) => ({ replicas, addingReplicas: [], removingReplicas: [] });

test('startReassignment: target first then leaving replicas; adding and removing as Kafka reports them', () => {
  const r = startReassignment(idle([1, 2, 3]), [2, 3, 4]);
  assert.deepEqual(r, { replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] });
  assert.deepEqual(targetOf(r), [2, 3, 4]);
  assert.ok(isReassigning(r));
  // a new target during a move starts from the union: a replica the new target drops is removed like any other
  assert.deepEqual(startReassignment(r, [4, 5, 6]), { replicas: [4, 5, 6, 2, 3, 1], addingReplicas: [5, 6], removingReplicas: [2, 3, 1] });
  // replication factor changes are moves too
  assert.deepEqual(startReassignment(idle([1, 2, 3]), [1, 2]), { replicas: [1, 2, 3], addingReplicas: [], removingReplicas: [3] });
});

test('cancelReassignment: back to replicas minus adding; the adding replicas become the removing ones', () => {
  const moving = startReassignment(idle([1, 2, 3]), [4, 2, 3]);
  const back = cancelReassignment(moving);
  assert.deepEqual(targetOf(back), [2, 3, 1]);
  assert.deepEqual(back.removingReplicas, [4]);
  assert.deepEqual(back.addingReplicas, []);
});

test('invalidTarget: empty, duplicate and unknown brokers are refused', () => {
  assert.equal(invalidTarget([2, 3, 4], [1, 2, 3, 4]), null);
  assert.match(invalidTarget([], [1])!, /empty/);
  assert.match(invalidTarget([2, 2], [1, 2])!, /duplicate/);
  assert.match(invalidTarget([2, 9], [1, 2])!, /broker 9/);
});

/** Runs the plan to its end from `conf`, the leader being `leader`; `caughtUp` decides promotions. */
function run(leader: number, start: RaftConf, target: number[], caughtUp: (n: number) => boolean) {
  let conf = { voters: [...start.voters], learners: [...start.learners] };
  const steps: string[] = [];
  for (let i = 0; i < 20; i++) {
    const transferTo = conf.voters.find((n) => n !== leader && target.includes(n)) ?? null;
    const step = nextReassignmentStep(leader, conf, target, caughtUp, transferTo);
    steps.push(step.kind === 'transferLeadership' ? `transfer ${step.to}` : 'nodeId' in step ? `${step.kind} ${step.nodeId}` : step.kind);
    switch (step.kind) {
      case 'addLearner': conf = { voters: conf.voters, learners: [...conf.learners, step.nodeId] }; break;
      case 'promote': conf = { voters: [...conf.voters, step.nodeId], learners: conf.learners.filter((n) => n !== step.nodeId) }; break;
      case 'removeNode': conf = { voters: conf.voters.filter((n) => n !== step.nodeId), learners: conf.learners.filter((n) => n !== step.nodeId) }; break;
      case 'transferLeadership': leader = step.to; break;
      default: return { steps, conf };
    }
  }
  return { steps, conf };
}

test('nextReassignmentStep: learner, promote when caught up, remove others, hand leadership over, then remove the old leader', () => {
  const r = run(1, { voters: [1, 2, 3], learners: [] }, [2, 3, 4], () => true);
  assert.deepEqual(r.steps, ['addLearner 4', 'promote 4', 'transfer 2', 'removeNode 1', 'complete']);
  assert.deepEqual([...r.conf.voters].sort(), [2, 3, 4]);
  const all = run(1, { voters: [1, 2, 3], learners: [] }, [4, 5, 6], () => true);
  // every new replica starts catching up at once; the promotions follow one at a time
  assert.deepEqual(all.steps, ['addLearner 4', 'addLearner 5', 'addLearner 6', 'promote 4', 'promote 5', 'promote 6', 'removeNode 2', 'removeNode 3', 'transfer 4', 'removeNode 1', 'complete']);
});

test('nextReassignmentStep: nothing is removed and nobody promoted while a target learner has not caught up', () => {
  const r = run(1, { voters: [1, 2, 3], learners: [] }, [2, 3, 4], () => false);
  assert.deepEqual(r.steps.slice(0, 2), ['addLearner 4', 'awaitCatchUp 4']);
  assert.deepEqual(r.conf, { voters: [1, 2, 3], learners: [4] });
  // a stray learner (a cancelled move's new replica) leaves at once: it holds no vote
  const cancel = nextReassignmentStep(2, { voters: [1, 2, 3], learners: [4] }, [1, 2, 3], () => false, null);
  assert.deepEqual(cancel, { kind: 'removeNode', nodeId: 4 });
  // the leader leaving with no caught-up target voter to hand over to waits
  assert.equal(nextReassignmentStep(1, { voters: [1, 2, 3], learners: [] }, [2, 3], () => true, null).kind, 'blocked');
});
