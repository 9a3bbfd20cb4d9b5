// Deterministic test records and the line format every client program (Node, Python, Java, Go) reads and writes.
//
// One record per line, three TAB-separated fields:  key \t value \t headers
//   key, value: lowercase hex of the bytes; "-" for null; "" for empty bytes.
//   headers:    "" for none, else comma-joined  nameHex:valueHex  (valueHex "-" for a null header value).
// Acks written by producers:     index \t partition \t offset        (or  index \t ERR \t message)
// Records written by consumers:  partition \t offset \t key \t value \t headers
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Small deterministic PRNG (mulberry32): the same seed gives the same records in every run. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PRINTABLE = Buffer.from(
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !"#$%&\'()*+-./;<=>?@[]^_`{|}~',
); // no ':' (kcat key delimiter), ',' or '=' (kcat header rendering), TAB or newline

/**
 * Generates `count` records, each unique (the value starts with "v<index>.").
 * mode 'binary': arbitrary bytes (all 256 values) in keys, values and headers; some null keys; 0-2 headers.
 * mode 'text':   printable ASCII only (for kcat's line-based producer); key always set; headers given by `fixedHeaders`.
 */
export function generateRecords(count, { seed = 1, mode = 'binary', maxValueBytes = 300, fixedHeaders = null, nullHeaderValues = false } = {}) {
  const rand = prng(seed);
  const int = (n) => Math.floor(rand() * n);
  const bytes = (n, alphabet) => {
    const b = Buffer.allocUnsafe(n);
    for (let j = 0; j < n; j++) b[j] = alphabet ? alphabet[int(alphabet.length)] : int(256);
    return b;
  };
  const alphabet = mode === 'text' ? PRINTABLE : null;
  const records = new Array(count);
  for (let i = 0; i < count; i++) {
    const key = mode === 'binary' && i % 7 === 3 ? null : Buffer.concat([Buffer.from(`k${i}.`), bytes(int(20), alphabet)]);
    const value = Buffer.concat([Buffer.from(`v${i}.`), bytes(int(maxValueBytes), alphabet)]);
    let headers = [];
    if (fixedHeaders) headers = fixedHeaders.map(([name, v]) => ({ name: Buffer.from(name), value: v === null ? null : Buffer.from(v) }));
    else if (mode === 'binary') {
      const n = int(3);
      for (let h = 0; h < n; h++) {
        const isNull = nullHeaderValues && int(5) === 0;
        headers.push({ name: Buffer.from(h === 0 ? 'trace-id' : `h${h}-${int(1000)}`), value: isNull ? null : bytes(int(24), null) });
      }
    }
    records[i] = { key, value, headers };
  }
  return records;
}

const hex = (b) => (b === null || b === undefined ? '-' : b.toString('hex'));
const unhex = (s) => (s === '-' ? null : Buffer.from(s, 'hex'));

export function encodeHeaders(headers) {
  return headers.map((h) => `${h.name.toString('hex')}:${hex(h.value)}`).join(',');
}
export function decodeHeaders(field) {
  if (field === '' || field === undefined) return [];
  return field.split(',').map((pair) => {
    const [name, value] = pair.split(':');
    return { name: Buffer.from(name, 'hex'), value: unhex(value) };
  });
}

/** The identity of a record's content: two records are byte-equal iff their lines are equal. */
export function recordLine(r) {
  return `${hex(r.key)}\t${hex(r.value)}\t${encodeHeaders(r.headers)}`;
}

export function writeRecordsFile(path, records) {
  writeFileSync(path, records.map(recordLine).join('\n') + '\n');
}

/** Lines a producer has written so far to an acks (or any line-format) file; 0 while the file does not exist yet. */
export function lineCount(path) {
  if (!existsSync(path)) return 0;
  const buf = readFileSync(path);
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return n;
}

async function* lines(path) {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of rl) if (line !== '') yield line;
}

/** Reads an acks file: [{ index, partition, offset }] for acknowledged records and [{ index, error }] for failed ones. */
export async function readAcks(path) {
  const acks = [];
  for await (const line of lines(path)) {
    const [i, p, o] = line.split('\t');
    if (p === 'ERR') acks.push({ index: Number(i), error: o ?? 'error' });
    else acks.push({ index: Number(i), partition: Number(p), offset: Number(o) });
  }
  return acks;
}

/** Reads a consumed-records file: [{ partition, offset, line }] in the order the consumer saw them. */
export async function readConsumed(path) {
  const out = [];
  for await (const line of lines(path)) {
    const tab1 = line.indexOf('\t');
    const tab2 = line.indexOf('\t', tab1 + 1);
    out.push({ partition: Number(line.slice(0, tab1)), offset: Number(line.slice(tab1 + 1, tab2)), line: line.slice(tab2 + 1) });
  }
  return out;
}

export function consumedRow(partition, offset, key, value, headers) {
  return `${partition}\t${offset}\t${hex(key)}\t${hex(value)}\t${encodeHeaders(headers)}`;
}
