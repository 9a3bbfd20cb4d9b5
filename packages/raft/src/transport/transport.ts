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
  /**
   * Called when a peer is heard from in a new incarnation (its process restarted), before the first batch it sends
   * from there. A restarted node leads nothing, so the host wakes the groups it led without waiting for a timeout:
   * the new process is heard from at once, so node-level liveness cannot tell that the leader is gone.
   */
  setPeerRestartHandler(handler: (peer: NodeId) => void): void;
  close(): Promise<void>;
}
