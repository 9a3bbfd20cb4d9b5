import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from '../src/semaphore.js';

test('Semaphore: capacity, FIFO hand-off to waiters, run() releases on throw, over-release is an error', async () => {
  const slots = new Semaphore(2);
  assert.equal(slots.tryAcquire(), true);
  assert.equal(slots.tryAcquire(), true);
  assert.equal(slots.tryAcquire(), false);
  const order: number[] = [];
  const first = slots.acquire().then(() => order.push(1));
  const second = slots.acquire().then(() => order.push(2));
  slots.release();
  await first;
  assert.equal(slots.inUse, 2, 'the slot passed straight to the waiter');
  slots.release();
  await second;
  assert.deepEqual(order, [1, 2]);
  slots.release();
  slots.release();
  assert.equal(slots.inUse, 0);
  await assert.rejects(slots.run(async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(slots.inUse, 0);
  assert.throws(() => slots.release(), /released more often/);
  assert.throws(() => new Semaphore(0), RangeError);
});
