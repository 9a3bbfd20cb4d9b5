// Owns every partition this node serves: opens them at start (recovery), creates and deletes them with their
// topics, re-opens a topic's logs when its configs change, and runs ONE retention timer and ONE producer-state
// snapshot timer for the whole broker.
import { join } from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config.js';
import type { TopicRecord } from '../catalogue/catalogue.js';
import { effectiveTopicConfig } from '../topic-configs.js';
import { LocalPartition } from './local-partition.js';
import type { OpenStorageLog, StorageLogConfig } from './storage-log.js';

const PRODUCER_STATE_SNAPSHOT_INTERVAL_MS = 60_000;
/** Partitions opened (recovered or created) at the same time. */
const OPEN_CONCURRENCY = 8;

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class PartitionRegistry {
  private readonly topics = new Map<string, LocalPartition[]>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private retentionRunning = false;

  /** The catalogue's current record of a topic (configs may have changed since the partition was opened). */
  private topicLookup: (name: string) => TopicRecord | undefined = () => undefined;

  constructor(
    private readonly config: BrokerConfig,
    private readonly openLog: OpenStorageLog,
    private readonly logger: Logger,
  ) {}

  setTopicLookup(lookup: (name: string) => TopicRecord | undefined): void {
    this.topicLookup = lookup;
  }

  private currentTopic(topic: TopicRecord): TopicRecord {
    return this.topicLookup(topic.name) ?? topic;
  }

  private partitionDir(topic: string, partition: number): string {
    return join(this.config.dataDir, 'topics', `${topic}-${partition}`);
  }

  private producerStatePath(topic: string, partition: number): string {
    return join(this.config.dataDir, 'producer-state', `${topic}-${partition}.json`);
  }

  logConfigFor(topic: TopicRecord): StorageLogConfig {
    const eff = effectiveTopicConfig(this.config, topic.configs);
    return {
      segmentBytesMax: eff.segmentBytesMax,
      segmentMsMax: eff.segmentMsMax,
      indexIntervalBytes: this.config.log.indexIntervalBytes,
      retentionMs: eff.retentionMs,
      retentionBytes: eff.retentionBytes,
      fsyncPolicy: this.config.fsyncPolicy,
      flushIntervalMs: this.config.flushIntervalMs,
    };
  }

  private async openPartition(topic: TopicRecord, partition: number): Promise<LocalPartition> {
    const dir = this.partitionDir(topic.name, partition);
    const log = await this.openLog(dir, this.logConfigFor(topic));
    return LocalPartition.open(
      topic.name,
      partition,
      log,
      this.config.fsyncPolicy === 'always',
      this.producerStatePath(topic.name, partition),
      this.logger,
      // After a storage failure: reopen with the topic's current configs.
      () => this.openLog(dir, this.logConfigFor(this.currentTopic(topic))),
    );
  }

  /** Opens (recovers) every partition of the given topics, a few at a time. */
  async openAll(topics: readonly TopicRecord[]): Promise<void> {
    const work: { topic: TopicRecord; partition: number }[] = [];
    for (const t of topics) for (let p = 0; p < t.partitionCount; p++) work.push({ topic: t, partition: p });
    const opened = await mapBounded(work, OPEN_CONCURRENCY, (item) => this.openPartition(item.topic, item.partition));
    work.forEach((item, i) => {
      let list = this.topics.get(item.topic.name);
      if (!list) this.topics.set(item.topic.name, (list = new Array<LocalPartition>(item.topic.partitionCount)));
      list[item.partition] = opened[i]!;
    });
  }

  /**
   * Removes partition directories and producer-state files that belong to no partition of the catalogue
   * (left by a crash in the middle of a topic deletion), so a topic created later under the same name
   * cannot pick up old records.
   */
  async removeOrphans(topics: readonly TopicRecord[]): Promise<void> {
    const counts = new Map(topics.map((t) => [t.name, t.partitionCount]));
    const belongs = (entry: string): boolean => {
      const name = entry.endsWith('.json') ? entry.slice(0, -5) : entry;
      const dash = name.lastIndexOf('-');
      const partition = Number(name.slice(dash + 1));
      const count = dash > 0 ? counts.get(name.slice(0, dash)) : undefined;
      return count !== undefined && /^\d+$/.test(name.slice(dash + 1)) && partition < count;
    };
    for (const sub of ['topics', 'producer-state']) {
      const dir = join(this.config.dataDir, sub);
      const entries = await readdir(dir).catch(() => [] as string[]);
      for (const entry of entries) {
        if (entry.endsWith('.tmp') || !belongs(entry)) {
          this.logger.warn({ path: join(dir, entry) }, 'removing data of a deleted topic or partition');
          await rm(join(dir, entry), { recursive: true, force: true });
        }
      }
    }
  }

  /** Creates the partitions [from, topic.partitionCount) of a topic (new topic or CreatePartitions), starting empty. */
  async addPartitions(topic: TopicRecord): Promise<void> {
    const list = this.topics.get(topic.name) ?? [];
    const indexes = Array.from({ length: topic.partitionCount - list.length }, (_, i) => list.length + i);
    const outcomes = await mapBounded(indexes, OPEN_CONCURRENCY, async (p) => {
      try {
        await rm(this.partitionDir(topic.name, p), { recursive: true, force: true });
        await rm(this.producerStatePath(topic.name, p), { force: true });
        return { ok: true as const, partition: await this.openPartition(topic, p) };
      } catch (err) {
        return { ok: false as const, err };
      }
    });
    const failure = outcomes.find((o) => !o.ok);
    if (failure && !failure.ok) {
      // All or nothing: remove what was created so a retry starts clean and no log stays open.
      await Promise.all(outcomes.map((o) => (o.ok ? o.partition.delete().catch(() => undefined) : undefined)));
      throw failure.err;
    }
    const added = outcomes.flatMap((o) => (o.ok ? [o.partition] : []));
    this.topics.set(topic.name, [...list, ...added]);
  }

  get(topic: string, partition: number): LocalPartition | undefined {
    return this.topics.get(topic)?.[partition];
  }

  partitionsOf(topic: string): readonly LocalPartition[] {
    return this.topics.get(topic) ?? [];
  }

  async deleteTopic(topic: string): Promise<void> {
    const list = this.topics.get(topic);
    this.topics.delete(topic);
    if (list) await Promise.all(list.map((p) => p.delete()));
  }

  /** Re-opens a topic's logs with its current configs (segment and retention settings are fixed at open). */
  async reconfigure(topic: TopicRecord): Promise<void> {
    const cfg = this.logConfigFor(topic);
    await Promise.all(
      this.partitionsOf(topic.name).map((p) =>
        p.replaceLog(async (old) => {
          await old.close();
          return this.openLog(this.partitionDir(topic.name, p.partition), cfg);
        }),
      ),
    );
  }

  *partitionSizes(): Iterable<{ topic: string; partition: number; sizeBytes: number }> {
    for (const [topic, list] of this.topics) {
      for (const p of list) yield { topic, partition: p.partition, sizeBytes: p.sizeBytes };
    }
  }

  startBackgroundLoops(): void {
    this.retentionTimer = setInterval(() => void this.runRetention(Date.now()), this.config.retentionCheckIntervalMs);
    this.retentionTimer.unref();
    this.snapshotTimer = setInterval(() => void this.saveProducerStates(), PRODUCER_STATE_SNAPSHOT_INTERVAL_MS);
    this.snapshotTimer.unref();
  }

  /** One pass of retention over every partition, one partition at a time. */
  async runRetention(nowMs: number): Promise<void> {
    if (this.retentionRunning) return;
    this.retentionRunning = true;
    try {
      for (const list of [...this.topics.values()]) {
        for (const p of list) {
          try {
            await p.applyRetention(nowMs, this.config.producerIdExpirationMs);
          } catch (err) {
            this.logger.error({ err, topic: p.topic, partition: p.partition }, 'retention failed');
          }
        }
      }
    } finally {
      this.retentionRunning = false;
    }
  }

  private async saveProducerStates(): Promise<void> {
    for (const list of [...this.topics.values()]) {
      for (const p of list) {
        await p.saveProducerState().catch((err: unknown) => this.logger.warn({ err, topic: p.topic }, 'producer state snapshot failed'));
      }
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.retentionTimer);
    clearInterval(this.snapshotTimer);
    const all = [...this.topics.values()].flat();
    this.topics.clear();
    await Promise.all(all.map((p) => p.close().catch((err: unknown) => this.logger.error({ err, topic: p.topic }, 'close failed'))));
  }
}
