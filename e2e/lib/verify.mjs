// Checks what consumers read against what producers had acknowledged.
import { recordLine } from './records.mjs';

/**
 * @param {object} p
 * @param {Array} p.records   the generated records (index = position)
 * @param {Array|null} p.acks  per-record acks from the producer ({index, partition, offset} or {index, error});
 *                             null when the producer reports no offsets (kcat): then every record counts as acknowledged
 *                             and must be read exactly once, in produce order (single partition).
 * @param {Array} p.consumed  [{partition, offset, line}] in the order each consumer read them (concatenate members in any order)
 * @param {boolean} [p.idempotent=true]  false: extra copies of a record (retries of a non-idempotent producer) are allowed
 *                             as long as the acknowledged copy is at its acknowledged offset
 * @param {boolean} [p.ordered=true]     acked records of one partition must have increasing offsets in produce order
 * @param {boolean} [p.requireAllAcked=true] every generated record must have been acknowledged
 * @returns {{ ok: boolean, errors: string[], stats: object }}
 */
export function verifyDelivery({ records, acks, consumed, idempotent = true, ordered = true, requireAllAcked = true }) {
  const errors = [];
  const err = (m) => {
    if (errors.length < 20) errors.push(m);
    else if (errors.length === 20) errors.push('... (more errors)');
  };
  const indexByLine = new Map();
  records.forEach((r, i) => indexByLine.set(recordLine(r), i));
  if (indexByLine.size !== records.length) throw new Error('generated records are not unique');

  // acked: index -> {partition, offset} (offset undefined when the producer does not report it)
  const acked = new Map();
  let failedAcks = 0;
  if (acks === null) records.forEach((_, i) => acked.set(i, {}));
  else
    for (const a of acks) {
      if (a.error !== undefined) failedAcks++;
      else if (acked.has(a.index)) err(`record ${a.index} acknowledged twice`);
      else acked.set(a.index, { partition: a.partition, offset: a.offset });
    }
  if (requireAllAcked && acked.size !== records.length) err(`${records.length - acked.size} of ${records.length} records not acknowledged (${failedAcks} failed)`);

  const seenPosition = new Set();
  const copies = new Map(); // index -> [{partition, offset, seq}]
  const lastOffset = new Map();
  consumed.forEach((c, seq) => {
    const pos = `${c.partition}/${c.offset}`;
    if (seenPosition.has(pos)) err(`offset ${pos} consumed twice`);
    seenPosition.add(pos);
    const last = lastOffset.get(c.partition);
    if (last !== undefined && c.offset <= last) err(`partition ${c.partition}: offset ${c.offset} read after ${last} (out of order)`);
    lastOffset.set(c.partition, c.offset);
    const index = indexByLine.get(c.line);
    if (index === undefined) {
      err(`record at ${pos} matches no produced record byte-for-byte: ${c.line.slice(0, 120)}`);
      return;
    }
    const list = copies.get(index) ?? [];
    list.push({ partition: c.partition, offset: c.offset, seq });
    copies.set(index, list);
  });

  let missing = 0;
  let duplicates = 0;
  let unackedPresent = 0;
  for (const [index, ack] of acked) {
    const list = copies.get(index) ?? [];
    if (list.length === 0) {
      missing++;
      err(`acknowledged record ${index}${ack.offset !== undefined ? ` (${ack.partition}/${ack.offset})` : ''} was not read back`);
      continue;
    }
    if (ack.offset !== undefined && !list.some((c) => c.partition === ack.partition && c.offset === ack.offset))
      err(`acknowledged record ${index} is not at its acknowledged position ${ack.partition}/${ack.offset} (found at ${list.map((c) => `${c.partition}/${c.offset}`).join(' ')})`);
    if (list.length > 1) {
      duplicates += list.length - 1;
      if (idempotent) err(`record ${index} read ${list.length} times`);
    }
  }
  for (const [index, list] of copies) if (!acked.has(index)) unackedPresent += list.length;
  if (requireAllAcked && unackedPresent > 0) err(`${unackedPresent} records read that were never acknowledged`);

  if (ordered) {
    // Within a partition, acknowledged records must appear in produce (index) order.
    const lastIndex = new Map();
    const firstCopies = [...copies.entries()]
      .filter(([i]) => acked.has(i))
      .map(([i, list]) => ({ index: i, ...list[0] }))
      .sort((a, b) => a.seq - b.seq);
    for (const c of firstCopies) {
      const prev = lastIndex.get(c.partition);
      if (prev !== undefined && c.index < prev) err(`partition ${c.partition}: record ${c.index} read after record ${prev} (produce order broken)`);
      lastIndex.set(c.partition, c.index);
    }
  }

  return {
    ok: errors.length === 0,
    errors,
    stats: { produced: records.length, acked: acked.size, failedAcks, consumed: consumed.length, missing, duplicates, unackedPresent },
  };
}

/** Throws with a readable message when verification failed; returns the stats otherwise. */
export function assertDelivery(params) {
  const result = verifyDelivery(params);
  if (!result.ok) throw new Error(`delivery check failed ${JSON.stringify(result.stats)}:\n  ${result.errors.join('\n  ')}`);
  return result.stats;
}
