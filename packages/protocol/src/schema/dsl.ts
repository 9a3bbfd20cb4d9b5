/**
 * A small DSL describing Kafka message layouts, written once per API. Facts (field names, types, version
 * ranges, tags) follow Apache Kafka's public protocol specification; names are the camelCase of the spec's names.
 *
 * Version ranges are strings: '0+', '3-5', '3', 'none'.
 */

export type ScalarType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export type FieldType = ScalarType | `[]${ScalarType}` | 'struct' | '[]struct';

export interface FieldSchema {
  readonly name: string;
  readonly type: FieldType;
  readonly versions: string;
  readonly nullableVersions?: string;
  /** Tag number: the field lives in the tagged-field section in `taggedVersions` (flexible versions only). */
  readonly tag?: number;
  readonly taggedVersions?: string;
  /** Default used when the field is absent in a version, or omitted when encoding. */
  readonly default?: number | boolean | string | null;
  /** Sub-fields of 'struct' and '[]struct'. */
  readonly fields?: readonly FieldSchema[];
}

export interface MessageSchema {
  readonly name: string;
  readonly apiKey: number;
  readonly type: 'request' | 'response';
  /** Versions this project implements (may be narrower than the spec). */
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldSchema[];
}

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const rangeCache = new Map<string, VersionRange>();

export function parseVersions(spec: string): VersionRange {
  const cached = rangeCache.get(spec);
  if (cached) return cached;
  let range: VersionRange;
  if (spec === 'none' || spec === '') range = { min: 1, max: 0 };
  else if (spec.endsWith('+')) range = { min: Number(spec.slice(0, -1)), max: Number.MAX_SAFE_INTEGER };
  else if (spec.includes('-')) {
    const [a, b] = spec.split('-');
    range = { min: Number(a), max: Number(b) };
  } else range = { min: Number(spec), max: Number(spec) };
  if (!Number.isInteger(range.min) || !Number.isInteger(range.max)) throw new Error(`bad version range '${spec}'`);
  rangeCache.set(spec, range);
  return range;
}

export function inVersions(spec: string | undefined, version: number): boolean {
  if (spec === undefined) return false;
  const r = parseVersions(spec);
  return version >= r.min && version <= r.max;
}

// ---- type inference from schemas (schemas are declared `as const satisfies MessageSchema`) ----

type ScalarValue<T> = T extends 'int8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'uint32' | 'float64'
  ? number
  : T extends 'bool'
    ? boolean
    : T extends 'string'
      ? string
      : T extends 'bytes' | 'records' | 'uuid'
        ? Buffer
        : never;

type FieldValue<F> = F extends { readonly type: '[]struct'; readonly fields: infer S extends readonly FieldSchema[] }
  ? MessageOf<S>[]
  : F extends { readonly type: 'struct'; readonly fields: infer S extends readonly FieldSchema[] }
    ? MessageOf<S>
    : F extends { readonly type: `[]${infer E}` }
      ? ScalarValue<E>[]
      : F extends { readonly type: infer T }
        ? ScalarValue<T>
        : never;

type Nullable<F, V> = F extends { readonly nullableVersions: string } ? V | null : F extends { readonly type: 'records' } ? V | null : V;

/** Fields present since v0 and not tagged are required; later-added and tagged fields are optional (defaults apply). */
type IsRequired<F> = F extends { readonly tag: number } ? false : F extends { readonly versions: '0+' } ? true : false;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type MessageOf<S extends readonly FieldSchema[]> = Simplify<
  {
    -readonly [F in S[number] as IsRequired<F> extends true ? F['name'] : never]: Nullable<F, FieldValue<F>>;
  } & {
    -readonly [F in S[number] as IsRequired<F> extends true ? never : F['name']]?: Nullable<F, FieldValue<F>>;
  }
>;

export type MessageType<M extends { readonly fields: readonly FieldSchema[] }> = MessageOf<M['fields']>;

// ---- concise constructors (const type parameters keep literal types for inference) ----

type FieldOptions = Omit<FieldSchema, 'name' | 'type' | 'versions'>;

/** Declares a field: f('topics', '[]struct', '0+', { fields: [...] }). */
export function f<const N extends string, const T extends FieldType, const V extends string, const O extends FieldOptions = Record<never, never>>(
  name: N,
  type: T,
  versions: V,
  options?: O,
): { readonly name: N; readonly type: T; readonly versions: V } & O {
  return { name, type, versions, ...(options ?? ({} as O)) };
}

/** Declares a message schema. */
export function message<const M extends MessageSchema>(schema: M): M {
  return schema;
}
