// What every handler can use: the broker's state, never the socket. Built once by the broker.
import type { Logger } from 'pino';
import type { BrokerConfig, HostPort } from '../config.js';
import type { Catalogue } from '../catalogue/catalogue.js';
import type { PartitionRegistry } from '../partitions/partition-registry.js';
import type { TopicService } from '../topic-service.js';

import type { ProducedBatch } from '../partitions/partition-replica.js';

/** Per batch of a validated record set: its producer fields and its size. */
export interface ValidatedBatch extends ProducedBatch {
  readonly sizeBytes: number;
}

export type BatchValidation = { ok: true; batches: readonly ValidatedBatch[] } | { ok: false; errorCode: number; message: string };

export interface BrokerState {
  readonly config: BrokerConfig;
  readonly catalogue: Catalogue;
  readonly partitions: PartitionRegistry;
  readonly topics: TopicService;
  readonly logger: Logger;
  /** The address clients are told to connect to (known once the listener is bound). */
  advertised(): HostPort;
  /** The API versions this broker advertises (protocol support ∩ handlers present). */
  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[];
  /** CRC-32C, framing and magic check of a produce request's record set (from @tributary/protocol). */
  validateBatches(records: Buffer): BatchValidation;
  /** True once shutdown started: long polls answer at once. */
  readonly shuttingDown: boolean;
  onShutdown(listener: () => void): () => void;
}

export interface RequestContext {
  readonly clientId: string | null;
  readonly clientHost: string;
  readonly logger: Logger;
}
