// Offsets arriving on the wire are plain int64 numbers; inside the broker they are KafkaOffset.
import type { KafkaOffset } from '@tributary/log';

/** The offset a client asked for, or null when it cannot be one (negative or beyond 2^53). */
export function requestedOffset(n: number): KafkaOffset | null {
  return Number.isSafeInteger(n) && n >= 0 ? (n as KafkaOffset) : null;
}
