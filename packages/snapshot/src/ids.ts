/**
 * Branded identifiers. A Raft index is not a Kafka offset: the snapshot package only ever deals in Raft
 * positions (index + term) and group ids, never in Kafka offsets.
 */

export type RaftIndex = number & { readonly __brand: 'RaftIndex' };
export type RaftTerm = number & { readonly __brand: 'RaftTerm' };
/** Identifies one Raft group (the metadata group or one partition), e.g. "metadata" or "orders-3". */
export type RaftGroupId = string & { readonly __brand: 'RaftGroupId' };
/** Identifies the cluster whose snapshots share one bucket/prefix. */
export type ClusterId = string & { readonly __brand: 'ClusterId' };

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function assertNonNegativeSafeInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

export function raftIndex(n: number): RaftIndex {
  assertNonNegativeSafeInteger(n, 'Raft index');
  return n as RaftIndex;
}

export function raftTerm(n: number): RaftTerm {
  assertNonNegativeSafeInteger(n, 'Raft term');
  return n as RaftTerm;
}

/** Group and cluster ids become object-key path segments, so they are restricted to a safe alphabet. */
export function raftGroupId(id: string): RaftGroupId {
  if (!SAFE_NAME.test(id) || id === '.' || id === '..') {
    throw new RangeError(`Raft group id must match ${SAFE_NAME.source}, got ${JSON.stringify(id)}`);
  }
  return id as RaftGroupId;
}

export function clusterId(id: string): ClusterId {
  if (!SAFE_NAME.test(id) || id === '.' || id === '..') {
    throw new RangeError(`cluster id must match ${SAFE_NAME.source}, got ${JSON.stringify(id)}`);
  }
  return id as ClusterId;
}

/** A piece's content id is also a key segment: hex digests or other safe names. */
export function assertContentId(id: string): void {
  if (!SAFE_NAME.test(id) || id === '.' || id === '..') {
    throw new RangeError(`content id must match ${SAFE_NAME.source}, got ${JSON.stringify(id)}`);
  }
}
