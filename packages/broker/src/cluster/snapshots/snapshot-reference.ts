// The Raft snapshot image of a compacted group in cluster mode. The state itself lives in the object store; the
// image Raft persists (and sends in InstallSnapshot) only says where: which node's prefix wrote the snapshot and at
// which index/term. A receiver restores the newest verified snapshot with an index >= this one, from that prefix or
// (if it is gone) from another replica's: every replica applies the same committed entries, so their states agree.
import { clusterId, parseNodeWriterCluster, type ClusterId } from '@tributary/snapshot';

export interface SnapshotReference {
  /** The "cluster" key component of the writer, `<clusterId>.node-<nodeId>` (see packages/snapshot/src/keys.ts). */
  readonly writer: ClusterId;
  readonly index: number;
  readonly term: number;
}

const REFERENCE_VERSION = 1;

export function encodeSnapshotReference(reference: SnapshotReference): Uint8Array {
  return Buffer.from(JSON.stringify({ v: REFERENCE_VERSION, writer: reference.writer, index: reference.index, term: reference.term }), 'utf8');
}

/** Throws on anything that is not a reference this code wrote (an invariant break: Raft stores only these). */
export function decodeSnapshotReference(image: Uint8Array): SnapshotReference {
  let raw: { v?: unknown; writer?: unknown; index?: unknown; term?: unknown };
  try {
    raw = JSON.parse(Buffer.from(image).toString('utf8')) as typeof raw;
  } catch {
    throw new Error('assertion: Raft snapshot image is not a snapshot reference (not JSON)');
  }
  const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (raw.v !== REFERENCE_VERSION || typeof raw.writer !== 'string' || !isCount(raw.index) || !isCount(raw.term)) {
    throw new Error(`assertion: malformed snapshot reference ${Buffer.from(image).toString('utf8').slice(0, 200)}`);
  }
  const writer = clusterId(raw.writer);
  if (parseNodeWriterCluster(writer) === null) throw new Error(`assertion: snapshot reference names no node prefix: ${writer}`);
  return { writer, index: raw.index, term: raw.term };
}
