// Kafka error codes, from @tributary/protocol (one table for the whole project).
import { ErrorCode } from '@tributary/protocol';

export const KafkaError = ErrorCode;
export type KafkaErrorName = keyof typeof KafkaError;
