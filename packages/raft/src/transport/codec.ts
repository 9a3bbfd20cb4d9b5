// Compact binary encoding of Raft messages (no JSON on the hot path).
// A batch carries every message of one host round for one peer node, each tagged with its Raft group:
//   u32 count, then per message:
//   u32 groupId, u8 type, u8 flags(bit0 reject, bit1 has snapshot), u32 from, u32 to,
//   u64 term, u64 logTerm, u64 index, u64 commit, u64 rejectHint, u64 context, u32 entryCount,
//   entries: u64 term, u8 type, u32 dataLength, data   (indexes are consecutive from index+1)
//   snapshot: u64 index, u64 term, u32 confLength, conf, u32 dataLength, data
// u64 values are JS safe integers written as two u32 halves. Decoded entry data are views into the frame.
import { decodeConf, encodeConf } from '../core/conf.js';
import type { Entry, EntryType, Message, MessageType, NodeId, RaftGroupId, RaftIndex, Snapshot, Term } from '../core/types.js';

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

export interface GroupMessage {
  readonly groupId: RaftGroupId;
  readonly message: Message;
}

const FIXED = 4 + 1 + 1 + 4 + 4 + 8 * 6 + 4;
const U32 = 0x100000000;

function messageSize(m: Message): number {
  let n = FIXED;
  for (const e of m.entries) n += 13 + e.data.length;
  if (m.snapshot !== null) n += 16 + 4 + 4 + 4 * (m.snapshot.meta.conf.voters.length + m.snapshot.meta.conf.learners.length) + 4 + m.snapshot.data.length;
  return n;
}

function putU64(buf: Buffer, pos: number, v: number): number {
  buf.writeUInt32BE(Math.floor(v / U32), pos);
  buf.writeUInt32BE(v >>> 0, pos + 4);
  return pos + 8;
}
function getU64(buf: Buffer, pos: number): number {
  const hi = buf.readUInt32BE(pos);
  if (hi > 0x1fffff) throw new CodecError(`u64 at ${pos} exceeds 2^53`);
  return hi * U32 + buf.readUInt32BE(pos + 4);
}

/** Size in bytes of the encoded batch (without any frame header). */
export function encodedBatchSize(batch: readonly GroupMessage[]): number {
  let n = 4;
  for (const gm of batch) n += messageSize(gm.message);
  return n;
}

/** Encodes into `out` at `offset`; returns the end offset. */
export function encodeBatchInto(batch: readonly GroupMessage[], out: Buffer, offset: number): number {
  let pos = out.writeUInt32BE(batch.length, offset);
  for (const { groupId, message: m } of batch) {
    pos = out.writeUInt32BE(groupId, pos);
    pos = out.writeUInt8(m.type, pos);
    pos = out.writeUInt8((m.reject ? 1 : 0) | (m.snapshot !== null ? 2 : 0), pos);
    pos = out.writeUInt32BE(m.from, pos);
    pos = out.writeUInt32BE(m.to, pos);
    pos = putU64(out, pos, m.term);
    pos = putU64(out, pos, m.logTerm);
    pos = putU64(out, pos, m.index);
    pos = putU64(out, pos, m.commit);
    pos = putU64(out, pos, m.rejectHint);
    pos = putU64(out, pos, m.context);
    pos = out.writeUInt32BE(m.entries.length, pos);
    for (const e of m.entries) {
      pos = putU64(out, pos, e.term);
      pos = out.writeUInt8(e.type, pos);
      pos = out.writeUInt32BE(e.data.length, pos);
      out.set(e.data, pos);
      pos += e.data.length;
    }
    if (m.snapshot !== null) {
      const s = m.snapshot;
      pos = putU64(out, pos, s.meta.index);
      pos = putU64(out, pos, s.meta.term);
      const conf = encodeConf(s.meta.conf);
      pos = out.writeUInt32BE(conf.length, pos);
      out.set(conf, pos);
      pos += conf.length;
      pos = out.writeUInt32BE(s.data.length, pos);
      out.set(s.data, pos);
      pos += s.data.length;
    }
  }
  return pos;
}

export function encodeBatch(batch: readonly GroupMessage[]): Buffer {
  const out = Buffer.allocUnsafe(encodedBatchSize(batch));
  const end = encodeBatchInto(batch, out, 0);
  if (end !== out.length) throw new Error(`invariant: encoded ${end} bytes, sized ${out.length}`);
  return out;
}

export function decodeBatch(buf: Buffer): GroupMessage[] {
  try {
    return decodeBatchUnchecked(buf);
  } catch (err) {
    if (err instanceof CodecError) throw err;
    throw new CodecError(`malformed Raft message batch: ${(err as Error).message}`);
  }
}

function decodeBatchUnchecked(buf: Buffer): GroupMessage[] {
  const need = (pos: number, n: number) => { if (pos + n > buf.length) throw new CodecError(`truncated Raft message batch at ${pos} (+${n} > ${buf.length})`); };
  need(0, 4);
  const count = buf.readUInt32BE(0);
  let pos = 4;
  const out: GroupMessage[] = [];
  for (let i = 0; i < count; i++) {
    need(pos, FIXED);
    const groupId = buf.readUInt32BE(pos) as RaftGroupId;
    const type = buf.readUInt8(pos + 4);
    if (type < 1 || type > 10) throw new CodecError(`unknown Raft message type ${type}`);
    const flags = buf.readUInt8(pos + 5);
    const from = buf.readUInt32BE(pos + 6) as NodeId;
    const to = buf.readUInt32BE(pos + 10) as NodeId;
    pos += 14;
    const t = getU64(buf, pos) as Term;
    const logTerm = getU64(buf, pos + 8) as Term;
    const index = getU64(buf, pos + 16) as RaftIndex;
    const commit = getU64(buf, pos + 24) as RaftIndex;
    const rejectHint = getU64(buf, pos + 32) as RaftIndex;
    const context = getU64(buf, pos + 40);
    const entryCount = buf.readUInt32BE(pos + 48);
    pos += 52;
    const entries: Entry[] = [];
    for (let k = 0; k < entryCount; k++) {
      need(pos, 13);
      const et = getU64(buf, pos) as Term;
      const etype = buf.readUInt8(pos + 8);
      if (etype > 1) throw new CodecError(`unknown entry type ${etype}`);
      const len = buf.readUInt32BE(pos + 9);
      pos += 13;
      need(pos, len);
      entries.push({ index: (index + 1 + k) as RaftIndex, term: et, type: etype as EntryType, data: buf.subarray(pos, pos + len) });
      pos += len;
    }
    let snapshot: Snapshot | null = null;
    if ((flags & 2) !== 0) {
      need(pos, 20);
      const si = getU64(buf, pos) as RaftIndex;
      const st = getU64(buf, pos + 8) as Term;
      const confLen = buf.readUInt32BE(pos + 16);
      pos += 20;
      need(pos, confLen + 4);
      const conf = decodeConf(buf.subarray(pos, pos + confLen));
      pos += confLen;
      const dataLen = buf.readUInt32BE(pos);
      pos += 4;
      need(pos, dataLen);
      snapshot = { meta: { index: si, term: st, conf }, data: buf.subarray(pos, pos + dataLen) };
      pos += dataLen;
    }
    out.push({ groupId, message: { type: type as MessageType, from, to, term: t, logTerm, index, commit, reject: (flags & 1) !== 0, rejectHint, context, entries, snapshot } });
  }
  if (pos !== buf.length) throw new CodecError(`trailing ${buf.length - pos} bytes after ${count} Raft messages`);
  return out;
}
