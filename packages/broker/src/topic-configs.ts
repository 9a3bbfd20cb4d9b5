// Topic-level configs the broker understands: their defaults (from the broker config), validation, and the
// effective values a partition log runs with. Unknown keys and unsupported values are rejected with a message.
import type { BrokerConfig } from './config.js';

export interface EffectiveTopicConfig {
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentBytesMax: number;
  readonly segmentMsMax: number;
  readonly maxMessageBytes: number;
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime';
  readonly minInsyncReplicas: number;
}

type Validator = (value: string) => string | null; // null = ok, else the reason

const INT32_MAX = 2147483647;

function longAtLeast(min: number): Validator {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) return `expected an integer, got "${value}"`;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) return `expected an integer >= ${min}, got ${value}`;
    return null;
  };
}

function intIn(min: number, max: number): Validator {
  return (value) => {
    const r = longAtLeast(min)(value);
    if (r) return r;
    return Number(value) > max ? `expected an integer <= ${max}, got ${value}` : null;
  };
}

export const TOPIC_CONFIG_KEYS = [
  'cleanup.policy',
  'retention.ms',
  'retention.bytes',
  'segment.bytes',
  'segment.ms',
  'max.message.bytes',
  'message.timestamp.type',
  'min.insync.replicas',
] as const;

const validators: Record<string, Validator> = {
  'cleanup.policy': (v) =>
    v.trim() === 'delete' ? null : `only "delete" is supported (log compaction is not implemented), got "${v}"`,
  'retention.ms': longAtLeast(-1),
  'retention.bytes': longAtLeast(-1),
  'segment.bytes': intIn(1024, INT32_MAX),
  'segment.ms': longAtLeast(1),
  'max.message.bytes': intIn(0, INT32_MAX),
  'message.timestamp.type': (v) =>
    v === 'CreateTime' || v === 'LogAppendTime' ? null : `expected CreateTime or LogAppendTime, got "${v}"`,
  'min.insync.replicas': intIn(1, INT32_MAX),
};

/** null when the key/value is acceptable, else a message for INVALID_CONFIG. */
export function validateTopicConfig(key: string, value: string | null): string | null {
  const validate = validators[key];
  if (!validate) return `unknown or unsupported topic config "${key}"`;
  if (value === null) return null; // null = revert to default
  return validate(value);
}

/** The broker-wide default of each topic config, as the string DescribeConfigs reports. */
export function topicConfigDefaults(config: BrokerConfig): ReadonlyMap<string, string> {
  return new Map<string, string>([
    ['cleanup.policy', 'delete'],
    ['retention.ms', String(config.log.retentionMs)],
    ['retention.bytes', String(config.log.retentionBytes)],
    ['segment.bytes', String(config.log.segmentBytesMax)],
    ['segment.ms', String(config.log.segmentMsMax)],
    ['max.message.bytes', String(config.log.messageMaxBytes)],
    ['message.timestamp.type', 'CreateTime'],
    ['min.insync.replicas', '1'],
  ]);
}

const effectiveCache = new WeakMap<ReadonlyMap<string, string>, { config: BrokerConfig; effective: EffectiveTopicConfig }>();

/**
 * The settings a topic runs with (its overrides over the broker defaults). Cached per overrides map (the
 * catalogue replaces the map when configs change), so the produce path does not rebuild it per request.
 */
export function effectiveTopicConfig(config: BrokerConfig, overrides: ReadonlyMap<string, string>): EffectiveTopicConfig {
  const cached = effectiveCache.get(overrides);
  if (cached !== undefined && cached.config === config) return cached.effective;
  const effective = computeEffectiveTopicConfig(config, overrides);
  effectiveCache.set(overrides, { config, effective });
  return effective;
}

function computeEffectiveTopicConfig(config: BrokerConfig, overrides: ReadonlyMap<string, string>): EffectiveTopicConfig {
  const defaults = topicConfigDefaults(config);
  const get = (key: string): string => overrides.get(key) ?? defaults.get(key)!;
  return {
    retentionMs: Number(get('retention.ms')),
    retentionBytes: Number(get('retention.bytes')),
    segmentBytesMax: Number(get('segment.bytes')),
    segmentMsMax: Number(get('segment.ms')),
    maxMessageBytes: Number(get('max.message.bytes')),
    messageTimestampType: get('message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    minInsyncReplicas: Number(get('min.insync.replicas')),
  };
}

/** Kafka's legal topic names: 1-249 chars of [a-zA-Z0-9._-], not "." or "..". null = valid. */
export function validateTopicName(name: string | null): string | null {
  if (name === null || name.length === 0) return 'topic name must not be empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > 249) return `topic name is longer than 249 characters`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `topic name "${name}" contains characters other than [a-zA-Z0-9._-]`;
  return null;
}
