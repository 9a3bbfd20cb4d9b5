/**
 * The one encoder/decoder engine. For each (message schema, version) it generates specialised JavaScript
 * source once (straight-line field reads/writes, no schema interpretation at run time), compiles it with
 * `new Function`, and caches the result.
 */
import { ProtocolError } from '../errors.js';
import { Reader, Writer, stringSize, bytesSize, recordsSize, uvarintSize, EMPTY_BUFFER } from '../primitives.js';
import { inVersions, type FieldSchema, type MessageSchema, type ScalarType } from './dsl.js';

export interface CompiledCodec<T = unknown> {
  /** Decodes the message body at r.pos, advancing r.pos. */
  decode(r: Reader): T;
  /** Exact encoded size of `value` in bytes. */
  size(value: T): number;
  /** Writes `value`; the Writer must have size(value) bytes available. */
  write(w: Writer, value: T): void;
}

const FIXED_SIZE: Partial<Record<ScalarType, number>> = {
  int8: 1,
  bool: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};

interface Gen {
  readonly version: number;
  readonly flexible: boolean;
  readonly functions: string[];
  counter: number;
}

function isUuidZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Read-only zero uuid used as the encoder's default (decoders hand out fresh buffers). */
const ZERO_UUID = Buffer.alloc(16);

const HELPERS = { ProtocolError, stringSize, bytesSize, recordsSize, uvarintSize, EMPTY_BUFFER, ZERO_UUID, isUuidZero };

function elementType(field: FieldSchema): ScalarType | 'struct' {
  return field.type.startsWith('[]') ? (field.type.slice(2) as ScalarType | 'struct') : (field.type as ScalarType | 'struct');
}

function isArray(field: FieldSchema): boolean {
  return field.type.startsWith('[]');
}

function isNullable(field: FieldSchema, version: number): boolean {
  return field.type === 'records' || inVersions(field.nullableVersions, version);
}

function isTagged(field: FieldSchema, g: Gen): boolean {
  return g.flexible && field.tag !== undefined && inVersions(field.taggedVersions ?? field.versions, g.version);
}

function present(field: FieldSchema, g: Gen): boolean {
  return inVersions(field.versions, g.version);
}

function subFields(field: FieldSchema): readonly FieldSchema[] {
  if (!field.fields) throw new Error(`schema error: ${field.name} of type ${field.type} has no fields`);
  return field.fields;
}

// ---------------------------------------------------------------- defaults

function scalarDefault(type: ScalarType, field: FieldSchema, nullable: boolean): string {
  const d = field.default;
  switch (type) {
    case 'bool':
      return String(d ?? false);
    case 'string':
      return d === undefined ? (nullable ? 'null' : "''") : JSON.stringify(d);
    case 'bytes':
      return nullable ? 'null' : 'H.EMPTY_BUFFER';
    case 'records':
      return 'null';
    case 'uuid':
      return 'Buffer.alloc(16)';
    default:
      return String(d ?? 0);
  }
}

function defaultExpr(field: FieldSchema, g: Gen): string {
  const nullable = isNullable(field, g.version);
  if (isArray(field)) return field.default === null ? 'null' : '[]';
  if (field.type === 'struct') return structDefaultExpr(subFields(field), g);
  return scalarDefault(field.type as ScalarType, field, nullable);
}

function structDefaultExpr(fields: readonly FieldSchema[], g: Gen): string {
  return `{ ${fields.map((f) => `${JSON.stringify(f.name)}: ${defaultExpr(f, g)}`).join(', ')} }`;
}

/** JS expression true when `x` equals the field's default (tagged fields are only written when not default). */
function isDefaultExpr(field: FieldSchema, x: string, g: Gen): string {
  if (isArray(field)) return field.default === null ? `${x} === null` : `(${x} !== null && ${x}.length === 0)`;
  if (field.type === 'struct') {
    const parts = subFields(field)
      .filter((f) => present(f, g))
      .map((f) => isDefaultExpr(f, `${x}[${JSON.stringify(f.name)}]`, g));
    return parts.length === 0 ? 'true' : `(${parts.join(' && ')})`;
  }
  const type = field.type as ScalarType;
  if (type === 'uuid') return `H.isUuidZero(${x})`;
  if (type === 'bytes') return isNullable(field, g.version) ? `${x} === null` : `${x}.length === 0`;
  if (type === 'records') return `${x} === null`;
  return `${x} === ${scalarDefault(type, field, isNullable(field, g.version))}`;
}

// ---------------------------------------------------------------- decode

function scalarDecodeExpr(type: ScalarType, nullable: boolean, g: Gen): string {
  const c = g.flexible;
  switch (type) {
    case 'string':
      return c ? (nullable ? 'r.compactNullableString()' : 'r.compactString()') : nullable ? 'r.nullableString()' : 'r.string()';
    case 'bytes':
    case 'records':
      return c ? (nullable ? 'r.compactNullableBytes()' : 'r.compactBytes()') : nullable ? 'r.nullableBytes()' : 'r.bytes()';
    default:
      return `r.${type}()`;
  }
}

function decodeStmt(field: FieldSchema, target: string, g: Gen): string {
  const nullable = isNullable(field, g.version);
  const elem = elementType(field);
  if (!isArray(field)) {
    if (elem === 'struct') return `${target} = ${structDecoder(subFields(field), g)}(r);`;
    return `${target} = ${scalarDecodeExpr(elem, nullable, g)};`;
  }
  const elemExpr = elem === 'struct' ? `${structDecoder(subFields(field), g)}(r)` : scalarDecodeExpr(elem, false, g);
  const onNull = nullable
    ? `${target} = null;`
    : `throw new H.ProtocolError(${JSON.stringify(`null array in non-nullable field ${field.name}`)});`;
  return `{ const n = r.arrayLength(${g.flexible}); if (n < 0) { ${onNull} } else { const a = new Array(n); for (let i = 0; i < n; i++) a[i] = ${elemExpr}; ${target} = a; } }`;
}

function structDecoder(fields: readonly FieldSchema[], g: Gen): string {
  const name = `d${g.counter++}`;
  const lines: string[] = [];
  const tagged: { field: FieldSchema; local: string }[] = [];
  fields.forEach((f, i) => {
    const local = `v${i}`;
    if (!present(f, g)) lines.push(`const ${local} = ${defaultExpr(f, g)};`);
    else if (isTagged(f, g)) {
      lines.push(`let ${local} = ${defaultExpr(f, g)};`);
      tagged.push({ field: f, local });
    } else {
      lines.push(`let ${local};`, decodeStmt(f, local, g));
    }
  });
  if (g.flexible) {
    const cases = tagged
      .map(
        ({ field, local }) =>
          `case ${field.tag}: { const saved = r.end; r.end = end; ${decodeStmt(field, local, g)} r.end = saved; break; }`,
      )
      .join(' ');
    lines.push(
      `{ const nt = r.uvarint(); for (let t = 0; t < nt; t++) { const tag = r.uvarint(); const sz = r.uvarint(); r.need(sz); const end = r.pos + sz; switch (tag) { ${cases} default: break; } r.pos = end; } }`,
    );
  }
  lines.push(`return { ${fields.map((f, i) => `${JSON.stringify(f.name)}: v${i}`).join(', ')} };`);
  g.functions.push(`function ${name}(r) {\n${lines.join('\n')}\n}`);
  return name;
}

// ---------------------------------------------------------------- size

function scalarSizeExpr(type: ScalarType, x: string, g: Gen): string {
  const fixed = FIXED_SIZE[type];
  if (fixed !== undefined) return String(fixed);
  if (type === 'string') return `H.stringSize(${x}, ${g.flexible})`;
  if (type === 'records') return `H.recordsSize(${x}, ${g.flexible})`;
  return `H.bytesSize(${x}, ${g.flexible})`;
}

/** Statements adding the size of field value `x` to variable `acc`. */
function sizeStmt(field: FieldSchema, x: string, acc: string, g: Gen): string {
  const elem = elementType(field);
  if (!isArray(field)) {
    if (elem === 'struct') return `${acc} += ${structSizer(subFields(field), g)}(${x});`;
    return `${acc} += ${scalarSizeExpr(elem, x, g)};`;
  }
  const lenSize = g.flexible ? `H.uvarintSize(${x}.length + 1)` : '4';
  const nullSize = g.flexible ? 1 : 4;
  const fixed = elem === 'struct' ? undefined : FIXED_SIZE[elem];
  let body: string;
  if (fixed !== undefined) body = `${acc} += ${lenSize} + ${x}.length * ${fixed};`;
  else {
    const elemSize = elem === 'struct' ? `${structSizer(subFields(field), g)}(${x}[i])` : scalarSizeExpr(elem, `${x}[i]`, g);
    body = `${acc} += ${lenSize}; for (let i = 0; i < ${x}.length; i++) ${acc} += ${elemSize};`;
  }
  return `if (${x} === null || ${x} === undefined) ${acc} += ${nullSize}; else { ${body} }`;
}

function valueLocal(field: FieldSchema, local: string, g: Gen): string {
  const fallback = field.type === 'uuid' ? 'H.ZERO_UUID' : defaultExpr(field, g);
  return `let ${local} = v[${JSON.stringify(field.name)}]; if (${local} === undefined) ${local} = ${fallback};`;
}

function structSizer(fields: readonly FieldSchema[], g: Gen): string {
  const name = `s${g.counter++}`;
  const lines: string[] = ['let s = 0;'];
  const tagged: { field: FieldSchema; local: string }[] = [];
  fields.forEach((f, i) => {
    if (!present(f, g)) return;
    const local = `x${i}`;
    lines.push(valueLocal(f, local, g));
    if (isTagged(f, g)) tagged.push({ field: f, local });
    else lines.push(sizeStmt(f, local, 's', g));
  });
  if (g.flexible) {
    lines.push('let nt = 0;');
    for (const { field, local } of tagged) {
      lines.push(
        `if (!(${isDefaultExpr(field, local, g)})) { nt++; let fs = 0; ${sizeStmt(field, local, 'fs', g)} s += H.uvarintSize(${field.tag}) + H.uvarintSize(fs) + fs; }`,
      );
    }
    lines.push('s += H.uvarintSize(nt);');
  }
  lines.push('return s;');
  g.functions.push(`function ${name}(v) {\n${lines.join('\n')}\n}`);
  return name;
}

// ---------------------------------------------------------------- write

function scalarWriteStmt(type: ScalarType, x: string, nullable: boolean, fieldName: string, g: Gen): string {
  switch (type) {
    case 'string':
      return `w.string(${x}, ${g.flexible}, ${nullable}, ${JSON.stringify(fieldName)});`;
    case 'bytes':
      return `w.bytes(${x}, ${g.flexible}, ${nullable}, ${JSON.stringify(fieldName)});`;
    case 'records':
      return `w.records(${x}, ${g.flexible}, ${JSON.stringify(fieldName)});`;
    default:
      return `w.${type}(${x});`;
  }
}

function writeStmt(field: FieldSchema, x: string, g: Gen): string {
  const elem = elementType(field);
  const nullable = isNullable(field, g.version);
  if (!isArray(field)) {
    if (elem === 'struct') return `${structWriter(subFields(field), g)}(w, ${x});`;
    return scalarWriteStmt(elem, x, nullable, field.name, g);
  }
  const elemStmt =
    elem === 'struct' ? `${structWriter(subFields(field), g)}(w, ${x}[i]);` : scalarWriteStmt(elem, `${x}[i]`, false, field.name, g);
  const onNull = nullable
    ? `w.arrayLength(null, ${g.flexible});`
    : `throw new H.ProtocolError(${JSON.stringify(`field ${field.name} is not nullable in this version`)});`;
  return `if (${x} === null) { ${onNull} } else { w.arrayLength(${x}.length, ${g.flexible}); for (let i = 0; i < ${x}.length; i++) ${elemStmt} }`;
}

function structWriter(fields: readonly FieldSchema[], g: Gen): string {
  const name = `w${g.counter++}`;
  const lines: string[] = [];
  const tagged: { field: FieldSchema; local: string }[] = [];
  fields.forEach((f, i) => {
    if (!present(f, g)) return;
    const local = `x${i}`;
    lines.push(valueLocal(f, local, g));
    if (isTagged(f, g)) tagged.push({ field: f, local });
    else lines.push(writeStmt(f, local, g));
  });
  if (g.flexible) {
    lines.push('let nt = 0;');
    for (const { field, local } of tagged) lines.push(`if (!(${isDefaultExpr(field, local, g)})) nt++;`);
    lines.push('w.uvarint(nt);');
    for (const { field, local } of [...tagged].sort((a, b) => a.field.tag! - b.field.tag!)) {
      lines.push(
        `if (!(${isDefaultExpr(field, local, g)})) { let fs = 0; ${sizeStmt(field, local, 'fs', g)} w.uvarint(${field.tag}); w.uvarint(fs); ${writeStmt(field, local, g)} }`,
      );
    }
  }
  g.functions.push(`function ${name}(w, v) {\n${lines.join('\n')}\n}`);
  return name;
}

// ---------------------------------------------------------------- compile + cache

const cache = new Map<MessageSchema, (CompiledCodec | undefined)[]>();

/** Generated JS source for one (schema, version); exposed for debugging and the README. */
export function generateSource(schema: MessageSchema, version: number): string {
  const g: Gen = { version, flexible: inVersions(schema.flexibleVersions, version), functions: [], counter: 0 };
  const d = structDecoder(schema.fields, g);
  const s = structSizer(schema.fields, g);
  const w = structWriter(schema.fields, g);
  return `'use strict';\n${g.functions.join('\n')}\nreturn { decode: ${d}, size: ${s}, write: ${w} };`;
}

export function compile<T>(schema: MessageSchema, version: number): CompiledCodec<T> {
  let perVersion = cache.get(schema);
  if (!perVersion) {
    perVersion = [];
    cache.set(schema, perVersion);
  }
  let codec = perVersion[version];
  if (!codec) {
    if (!inVersions(schema.validVersions, version)) {
      throw new ProtocolError(`${schema.name} version ${version} is not supported`);
    }
    const source = generateSource(schema, version);
    codec = new Function('H', source)(HELPERS) as CompiledCodec;
    perVersion[version] = codec;
  }
  return codec as CompiledCodec<T>;
}

export function isFlexible(schema: MessageSchema, version: number): boolean {
  return inVersions(schema.flexibleVersions, version);
}

// Reader/Writer are referenced by the generated code only through their instances.
export type { Reader, Writer };
