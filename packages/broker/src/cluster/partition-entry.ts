// The Raft entries of a partition group. Two kinds, told apart by the first byte (flags):
//
//   batch    u8 flags (bit0 = LogAppendTime), u64 appendTimeMs, record batch bytes
//   command  u8 0x80, u8 command, then the command's fields (big-endian):
//              1 advanceLogStart  u64 offset, u8 reason (1 retention, 2 DeleteRecords)
//              2 expireProducers  u64 nowMs, u64 expirationMs
//
// Batch entries written before commands existed have flags 0 or 1, so bit 7 can never be mistaken for a command;
// any other unknown bit is refused (a newer format this node cannot apply). The proposer puts every input of a
// command in it (the offset the leader decided, the time and expiration it used), so applying is a pure function
// of the replica's state and the entry: every replica trims and expires at the same log position.
import { kafkaOffset, type KafkaOffset } from '@tributary/log';

export const BATCH_ENTRY_HEADER_BYTES = 9;
const FLAG_LOG_APPEND_TIME = 0x01;
const FLAG_COMMAND = 0x80;
const COMMAND_ADVANCE_LOG_START = 1;
const COMMAND_EXPIRE_PRODUCERS = 2;
const COMMAND_HEADER_BYTES = 2;
const ADVANCE_LOG_START_BYTES = COMMAND_HEADER_BYTES + 8 + 1;
const EXPIRE_PRODUCERS_BYTES = COMMAND_HEADER_BYTES + 8 + 8;

/** Why the log start moves: Kafka retention decided by the leader, or a client's DeleteRecords. */
export type LogStartReason = 'retention' | 'deleteRecords';
const REASON_CODES: Record<LogStartReason, number> = { retention: 1, deleteRecords: 2 };

export type PartitionEntry =
  | { readonly kind: 'batch'; readonly logAppendTime: boolean; readonly appendTimeMs: number; readonly records: Buffer }
  | { readonly kind: 'advanceLogStart'; readonly offset: KafkaOffset; readonly reason: LogStartReason }
  | { readonly kind: 'expireProducers'; readonly nowMs: number; readonly expirationMs: number };

export function encodePartitionEntry(records: Buffer, logAppendTime: boolean, appendTimeMs: number): Buffer {
  const out = Buffer.allocUnsafe(BATCH_ENTRY_HEADER_BYTES + records.length);
  out.writeUInt8(logAppendTime ? FLAG_LOG_APPEND_TIME : 0, 0);
  out.writeBigUInt64BE(BigInt(appendTimeMs), 1);
  records.copy(out, BATCH_ENTRY_HEADER_BYTES);
  return out;
}

/** A command entry of `totalBytes` with its header written; the caller fills the fields from COMMAND_HEADER_BYTES on. */
function commandEntry(command: number, totalBytes: number): Buffer {
  const out = Buffer.alloc(totalBytes);
  out.writeUInt8(FLAG_COMMAND, 0);
  out.writeUInt8(command, 1);
  return out;
}

export function encodeAdvanceLogStart(offset: KafkaOffset, reason: LogStartReason): Buffer {
  const out = commandEntry(COMMAND_ADVANCE_LOG_START, ADVANCE_LOG_START_BYTES);
  out.writeBigUInt64BE(BigInt(offset), COMMAND_HEADER_BYTES);
  out.writeUInt8(REASON_CODES[reason], COMMAND_HEADER_BYTES + 8);
  return out;
}

export function encodeExpireProducers(nowMs: number, expirationMs: number): Buffer {
  const out = commandEntry(COMMAND_EXPIRE_PRODUCERS, EXPIRE_PRODUCERS_BYTES);
  out.writeBigUInt64BE(BigInt(nowMs), COMMAND_HEADER_BYTES);
  out.writeBigUInt64BE(BigInt(expirationMs), COMMAND_HEADER_BYTES + 8);
  return out;
}

function safeU64(data: Buffer, at: number, what: string): number {
  const v = data.readBigUInt64BE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`assertion: partition entry ${what} ${v} is not a safe integer`);
  return Number(v);
}

/** Throws for bytes no version of this format produces (committed entries are never malformed). */
export function decodePartitionEntry(data: Buffer): PartitionEntry {
  if (data.length < 1) throw new Error('assertion: empty partition entry');
  const flags = data.readUInt8(0);
  if ((flags & FLAG_COMMAND) === 0) {
    if ((flags & ~FLAG_LOG_APPEND_TIME) !== 0) throw new Error(`assertion: unknown partition entry flags ${flags}`);
    if (data.length < BATCH_ENTRY_HEADER_BYTES) throw new Error(`assertion: partition batch entry of ${data.length} bytes`);
    return {
      kind: 'batch',
      logAppendTime: (flags & FLAG_LOG_APPEND_TIME) !== 0,
      appendTimeMs: safeU64(data, 1, 'appendTimeMs'),
      records: data.subarray(BATCH_ENTRY_HEADER_BYTES),
    };
  }
  if (flags !== FLAG_COMMAND || data.length < COMMAND_HEADER_BYTES) throw new Error(`assertion: unknown partition command entry (flags ${flags})`);
  const command = data.readUInt8(1);
  if (command === COMMAND_ADVANCE_LOG_START && data.length === ADVANCE_LOG_START_BYTES) {
    const code = data.readUInt8(COMMAND_HEADER_BYTES + 8);
    const reason = (Object.keys(REASON_CODES) as LogStartReason[]).find((r) => REASON_CODES[r] === code);
    if (reason === undefined) throw new Error(`assertion: unknown log start reason ${code}`);
    return { kind: 'advanceLogStart', offset: kafkaOffset(safeU64(data, COMMAND_HEADER_BYTES, 'offset')), reason };
  }
  if (command === COMMAND_EXPIRE_PRODUCERS && data.length === EXPIRE_PRODUCERS_BYTES) {
    return { kind: 'expireProducers', nowMs: safeU64(data, COMMAND_HEADER_BYTES, 'nowMs'), expirationMs: safeU64(data, COMMAND_HEADER_BYTES + 8, 'expirationMs') };
  }
  throw new Error(`assertion: unknown partition command ${command} (${data.length} bytes)`);
}
