import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, decodeBatch, encodeBatch, type GroupMessage } from '../src/transport/codec.js';
import { EntryType, MessageType, emptyMessage, type NodeId, type RaftGroupId, type RaftIndex, type Term } from '../src/core/types.js';

function sample(): GroupMessage[] {
  const app = emptyMessage(MessageType.Append, 1 as NodeId, 2 as NodeId, (2 ** 40) as Term);
  app.index = 9 as RaftIndex; app.logTerm = 3 as Term; app.commit = 8 as RaftIndex;
  app.entries = [
    { index: 10 as RaftIndex, term: 4 as Term, type: EntryType.Normal, data: Buffer.from('hello') },
    { index: 11 as RaftIndex, term: 4 as Term, type: EntryType.ConfChange, data: Buffer.alloc(0) },
  ];
  const snap = emptyMessage(MessageType.InstallSnapshot, 1 as NodeId, 3 as NodeId, 5 as Term);
  snap.snapshot = { meta: { index: 100 as RaftIndex, term: 4 as Term, conf: { voters: [1 as NodeId, 2 as NodeId], learners: [3 as NodeId] } }, data: Buffer.from('image') };
  const resp = emptyMessage(MessageType.AppendResponse, 2 as NodeId, 1 as NodeId, 5 as Term);
  resp.reject = true; resp.rejectHint = 7 as RaftIndex; resp.context = Number.MAX_SAFE_INTEGER;
  return [{ groupId: 7 as RaftGroupId, message: app }, { groupId: 0xffffffff as RaftGroupId, message: snap }, { groupId: 1 as RaftGroupId, message: resp }];
}

const plain = (gms: GroupMessage[]) => JSON.parse(JSON.stringify(gms, (_k, v) => (v instanceof Uint8Array || (v && v.type === 'Buffer') ? Buffer.from(v).toString('hex') : v)));

test('codec: a batch round-trips exactly', () => {
  const batch = sample();
  assert.deepEqual(plain(decodeBatch(encodeBatch(batch))), plain(batch));
});

test('codec: truncated or garbage input gives CodecError, never a crash', () => {
  const buf = encodeBatch(sample());
  for (let cut = 0; cut < buf.length; cut += 7) assert.throws(() => decodeBatch(buf.subarray(0, cut)), CodecError);
  const bad = Buffer.from(buf);
  bad.writeUInt8(99, 8); // message type of the first message
  assert.throws(() => decodeBatch(bad), CodecError);
  assert.throws(() => decodeBatch(Buffer.concat([buf, Buffer.from([1])])), CodecError);
});
