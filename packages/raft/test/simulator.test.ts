import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../src/sim/simulator.js';

test('simulator: 300 random seeds with faults find no safety or liveness violation', () => {
  let faults = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const r = runSimulation({ seed });
    faults += r.faults;
    assert.deepEqual(r.violations, [], `seed ${seed} failed; replay with: npm run sim -w @tributary/raft -- --seed ${seed}`);
  }
  assert.ok(faults > 1000, `expected plenty of injected faults, got ${faults}`);
});

test('simulator: same seed gives the same run', () => {
  const lines = (seed: number) => { const out: string[] = []; runSimulation({ seed, trace: (l) => out.push(l) }); return out.join('\n'); };
  assert.equal(lines(42), lines(42));
  assert.notEqual(lines(42), lines(43));
});

test('simulator: the deliberately broken leader (commits previous-term entries by counting replicas) is caught within a few hundred seeds', () => {
  for (const from of [1, 1000, 2000]) {
    let caught: { seed: number; violation: string } | null = null;
    for (let seed = from; seed < from + 400 && caught === null; seed++) {
      const r = runSimulation({ seed, broken: true });
      if (r.violations.length > 0) caught = { seed, violation: r.violations[0]! };
    }
    assert.ok(caught !== null, `broken variant not caught in seeds ${from}..${from + 399}`);
    assert.match(caught.violation, /leader completeness|committed entry changed|state machine safety|acknowledged/);
  }
});
