/**
 * A Kafka offset: the position of a record in one partition log.
 * Branded so it cannot be confused with a Raft index or a byte position.
 */
export type KafkaOffset = number & { readonly __brand: 'KafkaOffset' };

/** Brands `n` as a Kafka offset; throws a RangeError unless it is a non-negative safe integer. */
export function kafkaOffset(n: number): KafkaOffset {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`a Kafka offset must be a non-negative safe integer, got ${n}`);
  }
  return n as KafkaOffset;
}

/** Brands without checking; for values this package computed itself. */
export function asKafkaOffset(n: number): KafkaOffset {
  return n as KafkaOffset;
}
