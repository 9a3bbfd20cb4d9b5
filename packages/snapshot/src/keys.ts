/**
 * The whole object-key layout lives here and nowhere else.
 *
 *   snapshots/<cluster>/<raftGroup>/<index, zero-padded to 20>-<term>.snap   framed "rest" payload (format.ts)
 *   manifests/<cluster>/<raftGroup>/<index, zero-padded to 20>-<term>.json   commit point: lists the .snap and pieces
 *   segments/<cluster>/<raftGroup>/<content id>                              immutable pieces, uploaded once
 *
 * Index is zero-padded to 20 digits (enough for 2^64) so lexical order equals numeric order; the parser
 * below still sorts numerically, never as text.
 */
import type { ClusterId, RaftGroupId, RaftIndex, RaftTerm } from './ids.js';
import { assertContentId, clusterId, raftIndex, raftTerm } from './ids.js';

export const INDEX_DIGITS = 20;

export interface SnapshotPosition {
  readonly index: RaftIndex;
  readonly term: RaftTerm;
}

function positionName(position: SnapshotPosition): string {
  return `${String(position.index).padStart(INDEX_DIGITS, '0')}-${position.term}`;
}

export function snapshotPrefix(cluster: ClusterId, group: RaftGroupId): string {
  return `snapshots/${cluster}/${group}/`;
}

export function manifestPrefix(cluster: ClusterId, group: RaftGroupId): string {
  return `manifests/${cluster}/${group}/`;
}

export function piecePrefix(cluster: ClusterId, group: RaftGroupId): string {
  return `segments/${cluster}/${group}/`;
}

export function snapshotKey(cluster: ClusterId, group: RaftGroupId, position: SnapshotPosition): string {
  return `${snapshotPrefix(cluster, group)}${positionName(position)}.snap`;
}

export function manifestKey(cluster: ClusterId, group: RaftGroupId, position: SnapshotPosition): string {
  return `${manifestPrefix(cluster, group)}${positionName(position)}.json`;
}

export function pieceKey(cluster: ClusterId, group: RaftGroupId, contentId: string): string {
  assertContentId(contentId);
  return `${piecePrefix(cluster, group)}${contentId}`;
}

const POSITION_FILE = /^(\d{20})-(\d{1,16})\.(snap|json)$/;

/** Parses the index/term out of a snapshot or manifest key; null for anything else (temp files, strays). */
export function parsePositionKey(key: string): (SnapshotPosition & { kind: 'snap' | 'json' }) | null {
  const slash = key.lastIndexOf('/');
  const match = POSITION_FILE.exec(key.slice(slash + 1));
  if (match === null) return null;
  const index = Number(match[1]);
  const term = Number(match[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return null;
  return { index: raftIndex(index), term: raftTerm(term), kind: match[3] as 'snap' | 'json' };
}

/** Numeric order by index then term (never text order). */
export function comparePositions(a: SnapshotPosition, b: SnapshotPosition): number {
  return a.index - b.index || a.term - b.term;
}

/**
 * One writer per prefix: in a cluster every node snapshots its own replicas under its own "cluster" key
 * component, `<cluster>.node-<nodeId>`. The broker's cluster ids never contain a dot, so the split is
 * unambiguous; a "/" is not used because the component must stay one key segment (and a valid ClusterId).
 */
const NODE_WRITER = /^(.+)\.node-(\d{1,10})$/;

export function nodeWriterCluster(cluster: ClusterId, nodeId: number): ClusterId {
  if (!Number.isSafeInteger(nodeId) || nodeId < 0) throw new RangeError(`node id must be a non-negative integer, got ${nodeId}`);
  return clusterId(`${cluster}.node-${nodeId}`);
}

/** The cluster and node of a writer component made by nodeWriterCluster; null for anything else. */
export function parseNodeWriterCluster(writer: string): { cluster: ClusterId; nodeId: number } | null {
  const match = NODE_WRITER.exec(writer);
  if (match === null) return null;
  try {
    return { cluster: clusterId(match[1]!), nodeId: Number(match[2]) };
  } catch {
    return null;
  }
}
