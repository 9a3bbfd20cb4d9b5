// The cluster catalogue: topics, their partition counts, ids and configs, the cluster id and producer-id
// allocation. An interface so the replicated metadata Raft group (a later issue) can replace the local store.

export type TopicId = Buffer & { readonly __brand: 'TopicId' };
export type ProducerId = number & { readonly __brand: 'ProducerId' };

export interface TopicRecord {
  readonly name: string;
  /** 16-byte UUID (Kafka's topic id); never all zeros. */
  readonly topicId: TopicId;
  readonly partitionCount: number;
  /** Only the configs set on this topic (defaults live in the broker config). */
  readonly configs: ReadonlyMap<string, string>;
  readonly createdMs: number;
}

export type CreateTopicResult = { ok: true; topic: TopicRecord } | { ok: false; reason: 'exists' };

export interface Catalogue {
  readonly clusterId: string;
  listTopics(): readonly TopicRecord[];
  getTopic(name: string): TopicRecord | undefined;
  getTopicById(topicId: Buffer): TopicRecord | undefined;
  createTopic(name: string, partitionCount: number, configs: ReadonlyMap<string, string>, nowMs: number): CreateTopicResult;
  /** Returns false when the topic did not exist. */
  deleteTopic(name: string): boolean;
  /** Grows the partition count (callers check it only grows). */
  setPartitionCount(name: string, partitionCount: number): TopicRecord;
  /** Replaces the topic's whole set of explicit configs. */
  replaceTopicConfigs(name: string, configs: ReadonlyMap<string, string>): TopicRecord;
  /** A fresh producer id, never handed out before (persisted before it is returned). */
  allocateProducerId(): ProducerId;
  close(): void;
}
