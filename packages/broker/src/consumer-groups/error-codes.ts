// The consumer-group code answers with the project's one table of Kafka error codes (@tributary/protocol).
// A table of plain constants keeps the state machine pure; a second copy of it would only drift.
import { ErrorCode } from '@tributary/protocol';

export const GroupErrorCode = ErrorCode;

export type GroupErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
