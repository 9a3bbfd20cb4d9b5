// Record batches for tests, built with @tributary/protocol's encoder.
import { encodeRecordBatch, decodeRecordBatch } from '@tributary/protocol';

export interface TestRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: { key: string; value: Buffer | null }[];
  timestamp?: number;
}

export function batchOf(records: TestRecord[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): Buffer {
  return encodeRecordBatch({
    baseOffset: 0,
    producerId: producer?.producerId ?? -1,
    producerEpoch: producer?.producerEpoch ?? -1,
    baseSequence: producer?.baseSequence ?? -1,
    records: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers ?? [], ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}) })),
  });
}

/** Values of every record in a fetched record set, in order, with their offsets. */
export function recordsIn(recordSet: Buffer | null): { offset: number; key: Buffer | null; value: Buffer | null }[] {
  const out: { offset: number; key: Buffer | null; value: Buffer | null }[] = [];
  if (!recordSet) return out;
  for (let at = 0; at + 12 <= recordSet.length; ) {
    const size = 12 + recordSet.readInt32BE(at + 8);
    if (at + size > recordSet.length) break; // a partial trailing batch is allowed by the protocol
    const batch = decodeRecordBatch(recordSet, at);
    for (const r of batch.records) out.push({ offset: r.offset, key: r.key, value: r.value });
    at += size;
  }
  return out;
}
