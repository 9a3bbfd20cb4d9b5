import type { NodeId } from '../core/types.js';
import type { GroupMessage } from './codec.js';

/**
 * Moves coalesced message batches between hosts. One batch per peer node per host round.
 * Delivery is best effort: Raft tolerates loss, duplication and reordering, so a transport may drop
 * (e.g. when a peer's bounded queue is full or it is unreachable) and report it by returning false.
 */
export interface RaftTransport {
  send(to: NodeId, batch: readonly GroupMessage[]): boolean;
  setHandler(handler: (from: NodeId, batch: GroupMessage[]) => void): void;
  close(): Promise<void>;
}
