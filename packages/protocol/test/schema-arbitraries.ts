// fast-check arbitraries generated from a schema for one version, plus a projection used to compare
// decoded values (which also carry defaults for fields absent in that version) with generated ones.
import fc from 'fast-check';
import { inVersions, type FieldSchema, type MessageSchema } from '../src/index.js';

const scalar: Record<string, () => fc.Arbitrary<unknown>> = {
  int8: () => fc.integer({ min: -128, max: 127 }),
  int16: () => fc.integer({ min: -32768, max: 32767 }),
  uint16: () => fc.integer({ min: 0, max: 65535 }),
  int32: () => fc.integer({ min: -2147483648, max: 2147483647 }),
  uint32: () => fc.integer({ min: 0, max: 4294967295 }),
  int64: () => fc.oneof(fc.maxSafeInteger(), fc.constantFrom(-1, 0, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53) + 1)),
  float64: () => fc.double({ noNaN: true }),
  bool: () => fc.boolean(),
  string: () => fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 })),
  bytes: () => fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
  records: () => fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
  uuid: () => fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
};

function fieldArbitrary(field: FieldSchema, version: number): fc.Arbitrary<unknown> {
  const nullable = field.type === 'records' || inVersions(field.nullableVersions, version);
  let arb: fc.Arbitrary<unknown>;
  if (field.type === 'struct') arb = structArbitrary(field.fields!, version);
  else if (field.type === '[]struct') arb = fc.array(structArbitrary(field.fields!, version), { maxLength: 3 });
  else if (field.type.startsWith('[]')) arb = fc.array(scalar[field.type.slice(2)]!(), { maxLength: 4 });
  else arb = scalar[field.type]!();
  return nullable ? fc.option(arb, { nil: null }) : arb;
}

export function structArbitrary(fields: readonly FieldSchema[], version: number): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) if (inVersions(field.versions, version)) record[field.name] = fieldArbitrary(field, version);
  return fc.record(record).map((o) => ({ ...o }));
}

export function messageArbitrary(schema: MessageSchema, version: number): fc.Arbitrary<Record<string, unknown>> {
  return structArbitrary(schema.fields, version);
}

/** Keeps only the fields present in `version` (recursively). */
export function project(fields: readonly FieldSchema[], version: number, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (!inVersions(field.versions, version)) continue;
    const v = source[field.name];
    if (field.type === 'struct') out[field.name] = project(field.fields!, version, v);
    else if (field.type === '[]struct') out[field.name] = Array.isArray(v) ? v.map((e) => project(field.fields!, version, e)) : v;
    else out[field.name] = v;
  }
  return out;
}
