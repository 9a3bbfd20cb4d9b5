// The cluster checker (issue 5): from what the producer was told (acks), what consumers saw, and every replica's
// partition log files read after healing and a graceful stop, it proves
//   1. the replicas of each partition are byte-for-byte identical (same segment files, same bytes);
//   2. each partition's log is well formed (CRC-32C, record counts) and its offsets are dense from the start offset;
//   3. every acknowledged record is present exactly once, at the partition and offset its ack named;
//   4. no record that was not acknowledged is present twice (an unacknowledged write may land once or not at all);
//   5. every stored record is one that was produced (byte for byte), and, when `ordered`, records of a partition are
//      stored in produce order (what an idempotent producer guarantees);
//   6. consumers never saw a record that later vanished or changed: every (partition, offset) a consumer read holds,
//      in the final log, exactly the record the consumer saw.
// Pure: it takes data, not paths or processes (cluster.mjs reads the files); e2e/test/replica-check.test.mjs feeds it
// synthetic violations.
import { parseBatches } from './record-batch.mjs';
import { recordLine } from './records.mjs';

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Compares replicas of one partition; returns error strings (empty when all are identical). */
function compareReplicas(partition, byNode) {
  const errors = [];
  const entries = [...byNode.entries()];
  const present = entries.filter(([, segs]) => segs !== null);
  for (const [id, segs] of entries) if (segs === null) errors.push(`partition ${partition}: replica on node ${id} has no partition directory`);
  if (present.length < 2) return errors;
  const [refId, ref] = present[0];
  for (const [id, segs] of present.slice(1)) {
    const refNames = ref.map((s) => s.name).join(',');
    const names = segs.map((s) => s.name).join(',');
    if (refNames !== names) {
      errors.push(`partition ${partition}: node ${id} has segments [${names}], node ${refId} has [${refNames}]`);
      continue;
    }
    for (let i = 0; i < ref.length; i++) {
      const at = firstDifference(ref[i].bytes, segs[i].bytes);
      if (at >= 0)
        errors.push(`partition ${partition}: segment ${ref[i].name} differs between node ${refId} (${ref[i].bytes.length} bytes) and node ${id} (${segs[i].bytes.length} bytes) from byte ${at}`);
    }
  }
  return errors;
}

/** Parses one replica's segments into records [{offset, line}]; reports malformed bytes and offset gaps. */
function readReplica(partition, nodeId, segments, expectStartOffset) {
  const errors = [];
  const records = [];
  let next = expectStartOffset;
  for (const seg of segments) {
    const where = `partition ${partition} node ${nodeId} ${seg.name}`;
    const { batches, error } = parseBatches(seg.bytes);
    if (error) errors.push(`${where}: ${error}`);
    const segBase = Number(seg.name.slice(0, 20));
    if (batches.length > 0 && batches[0].baseOffset !== segBase) errors.push(`${where}: first batch at offset ${batches[0].baseOffset}, not the segment's base ${segBase}`);
    for (const b of batches) {
      if (b.baseOffset !== next) errors.push(`${where}: batch at offset ${b.baseOffset} follows offset ${next - 1} (offsets not dense)`);
      if (b.records.length !== b.lastOffset - b.baseOffset + 1) errors.push(`${where}: batch at ${b.baseOffset} holds ${b.records.length} records for offsets ${b.baseOffset}..${b.lastOffset}`);
      b.records.forEach((r, i) => {
        if (r.offset !== b.baseOffset + i) errors.push(`${where}: record ${i} of the batch at ${b.baseOffset} has offset ${r.offset}`);
        records.push({ offset: r.offset, line: recordLine(r) });
      });
      next = b.lastOffset + 1;
    }
  }
  return { records, endOffset: next, errors };
}

/**
 * @param {object} p
 * @param {string[]} p.produced        record lines (records.mjs recordLine) by producer index: every record sent
 * @param {Array} p.acks               [{index, partition, offset}] acknowledged, [{index, error}] failed (may be absent for records never answered)
 * @param {Array} [p.consumed]         [{partition, offset, line}] everything consumers read (any order, repeats allowed)
 * @param {Map} p.replicaLogs          partition -> Map nodeId -> [{name, bytes}] segment files (null: the replica has no directory)
 * @param {boolean} [p.ordered=true]   records of a partition must be stored in produce order
 * @param {number} [p.expectStartOffset=0]
 * @returns {{ ok: boolean, errors: string[], stats: object }}
 */
export function checkCluster({ produced, acks, consumed = [], replicaLogs, ordered = true, expectStartOffset = 0 }) {
  const errors = [];
  const MAX_ERRORS = 40;
  let suppressed = 0;
  const err = (m) => (errors.length < MAX_ERRORS ? errors.push(m) : suppressed++);

  const indexByLine = new Map();
  produced.forEach((line, i) => {
    if (indexByLine.has(line)) throw new Error(`produced records ${indexByLine.get(line)} and ${i} are identical: the checker needs unique records`);
    indexByLine.set(line, i);
  });

  // 1-2: replicas identical, logs well formed and dense. The lowest-numbered replica with a copy is the reference.
  const stored = new Map(); // "p/o" -> line
  const copiesOf = new Map(); // producer index -> [{partition, offset}]
  let storedRecords = 0;
  let replicaCopies = 0;
  let storedBytes = 0;
  const endOffsets = {};
  for (const [partition, byNode] of [...replicaLogs.entries()].sort((a, b) => a[0] - b[0])) {
    for (const e of compareReplicas(partition, byNode)) err(e);
    let reference = null;
    for (const [id, segs] of [...byNode.entries()].sort((a, b) => a[0] - b[0])) {
      if (segs === null) continue;
      replicaCopies++;
      const r = readReplica(partition, id, segs, expectStartOffset);
      for (const e of r.errors) err(e);
      if (reference === null) {
        reference = r;
        storedBytes += segs.reduce((s, x) => s + x.bytes.length, 0);
      }
    }
    if (reference === null) continue;
    endOffsets[partition] = reference.endOffset;
    let lastIndex = -1;
    for (const rec of reference.records) {
      storedRecords++;
      stored.set(`${partition}/${rec.offset}`, rec.line);
      const index = indexByLine.get(rec.line);
      if (index === undefined) {
        err(`partition ${partition} offset ${rec.offset}: a record nobody produced: ${rec.line.slice(0, 100)}`);
        continue;
      }
      const list = copiesOf.get(index) ?? [];
      list.push({ partition, offset: rec.offset });
      copiesOf.set(index, list);
      if (ordered && index < lastIndex) err(`partition ${partition} offset ${rec.offset}: record ${index} stored after record ${lastIndex} (produce order broken)`);
      lastIndex = Math.max(lastIndex, index);
    }
  }

  // 3-4: acknowledged exactly once where the ack said; unacknowledged at most once.
  const acked = new Map();
  let failedAcks = 0;
  for (const a of acks) {
    if (a.error !== undefined) {
      failedAcks++;
      continue;
    }
    if (acked.has(a.index)) err(`record ${a.index} acknowledged twice`);
    acked.set(a.index, a);
  }
  let lost = 0;
  let duplicated = 0;
  for (const [index, a] of acked) {
    const list = copiesOf.get(index) ?? [];
    if (list.length === 0) {
      lost++;
      err(`acknowledged record ${index} (${a.partition}/${a.offset}) is on no replica`);
    } else if (list.length > 1) {
      duplicated++;
      err(`acknowledged record ${index} is stored ${list.length} times: ${list.map((c) => `${c.partition}/${c.offset}`).join(' ')}`);
    } else if (list[0].partition !== a.partition || list[0].offset !== a.offset) {
      err(`acknowledged record ${index} is at ${list[0].partition}/${list[0].offset}, its ack said ${a.partition}/${a.offset}`);
    }
  }
  let unackedStored = 0;
  for (const [index, list] of copiesOf) {
    if (acked.has(index)) continue;
    unackedStored++;
    if (list.length > 1) {
      duplicated++;
      err(`unacknowledged record ${index} is stored ${list.length} times: ${list.map((c) => `${c.partition}/${c.offset}`).join(' ')}`);
    }
  }

  // 6: what consumers saw is still there, unchanged.
  const consumedPositions = new Set();
  let consumedAcked = 0;
  for (const c of consumed) {
    const pos = `${c.partition}/${c.offset}`;
    const now = stored.get(pos);
    if (now === undefined) err(`a consumer read ${pos} but no replica holds that offset now (the record vanished): ${c.line.slice(0, 80)}`);
    else if (now !== c.line) err(`a consumer read ${pos} as ${c.line.slice(0, 60)}… but it now holds ${now.slice(0, 60)}… (the record changed)`);
    if (!consumedPositions.has(pos)) {
      consumedPositions.add(pos);
      const index = indexByLine.get(c.line);
      if (index !== undefined && acked.has(index)) consumedAcked++;
    }
  }
  if (suppressed > 0) errors.push(`... and ${suppressed} more errors`);

  return {
    ok: errors.length === 0,
    errors,
    stats: {
      partitions: replicaLogs.size,
      replicaCopies,
      storedRecords,
      storedBytes,
      acked: acked.size,
      failedAcks,
      unanswered: produced.length - acked.size - failedAcks,
      lost,
      duplicated,
      unackedStored,
      consumedRows: consumed.length,
      consumedDistinct: consumedPositions.size,
      consumedAcked,
      endOffsets,
    },
  };
}

/** checkCluster, throwing a readable error when it fails; returns the stats. */
export function assertCluster(params) {
  const r = checkCluster(params);
  if (!r.ok) throw new Error(`cluster check failed ${JSON.stringify({ ...r.stats, endOffsets: undefined })}:\n  ${r.errors.join('\n  ')}`);
  return r.stats;
}
