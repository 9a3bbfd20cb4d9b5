import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TimerQueue } from '../../src/consumer-groups/timer-queue.js';

test('timers pop in deadline order; re-arming replaces, cancelling removes', () => {
  const q = new TimerQueue();
  q.arm('a', 30);
  q.arm('b', 10);
  q.arm('c', 20);
  q.arm('a', 5); // replaces 30
  q.cancel('c');
  assert.equal(q.nextDeadlineMs(), 5);
  assert.deepEqual(q.popDue(15), ['a', 'b']);
  assert.deepEqual(q.popDue(100), []);
  assert.equal(q.nextDeadlineMs(), null);
  assert.equal(q.size, 0);
});

test('matches a reference model under random arm/cancel/pop sequences', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('arm' as const), key: fc.integer({ min: 0, max: 9 }), at: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({ kind: fc.constant('cancel' as const), key: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ kind: fc.constant('pop' as const), at: fc.integer({ min: 0, max: 1000 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const q = new TimerQueue();
      const model = new Map<string, number>();
      for (const o of ops) {
        if (o.kind === 'arm') {
          q.arm(String(o.key), o.at);
          model.set(String(o.key), o.at);
        } else if (o.kind === 'cancel') {
          q.cancel(String(o.key));
          model.delete(String(o.key));
        } else {
          const due = [...model].filter(([, at]) => at <= o.at).sort((x, y) => x[1] - y[1]);
          const popped = q.popDue(o.at);
          assert.deepEqual(new Set(popped), new Set(due.map(([k]) => k)));
          const deadlines = popped.map((k) => model.get(k)!);
          assert.deepEqual(deadlines, [...deadlines].sort((x, y) => x - y));
          for (const k of popped) model.delete(k);
        }
        const min = model.size === 0 ? null : Math.min(...model.values());
        assert.equal(q.nextDeadlineMs(), min);
      }
    }),
    { numRuns: 200 },
  );
});
