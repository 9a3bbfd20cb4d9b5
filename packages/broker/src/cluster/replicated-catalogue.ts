// The broker's Catalogue on the metadata Raft group: reads come from this node's local SQLite copy (possibly a
// little behind the leader); writes are proposed to the metadata group by ClusterTopicService, never through the
// synchronous write methods of the Catalogue interface (a replicated write cannot complete synchronously).
// Producer ids are handed out from blocks reserved through the metadata group for this node.
import type { Logger } from 'pino';
import type { Catalogue, CreateTopicResult, ProducerId, TopicRecord } from '../catalogue/catalogue.js';
import type { ClusterNode } from './cluster-node.js';
import type { BrokerRegistration } from './metadata-commands.js';
import type { ClusterTopic } from './metadata-store.js';

const PRODUCER_ID_BLOCK = 1000;
const METADATA_WRITE_TIMEOUT_MS = 10_000;

export class ProducerIdsExhaustedError extends Error {}

export class ReplicatedCatalogue implements Catalogue {
  private blocks: { next: number; limit: number }[] = [];
  private refilling: Promise<void> | null = null;

  constructor(
    readonly node: ClusterNode,
    private readonly logger: Logger,
  ) {}

  get clusterId(): string {
    const id = this.node.store.clusterId;
    if (id === undefined) throw new Error('assertion: cluster id read before the broker joined the cluster');
    return id;
  }

  /** Reserves the first producer-id block (call once, after join). */
  async start(): Promise<void> {
    await this.refill();
    if (this.blocks.length === 0) throw new Error('could not reserve a producer-id block through the metadata group');
  }

  brokers(): readonly BrokerRegistration[] {
    return this.node.store.brokers();
  }

  metadataLeaderId(): number {
    return this.node.metadataLeaderId;
  }

  listTopics(): readonly ClusterTopic[] {
    return this.node.store.listTopics();
  }

  getTopic(name: string): ClusterTopic | undefined {
    return this.node.store.getTopic(name);
  }

  getTopicById(topicId: Buffer): ClusterTopic | undefined {
    return this.node.store.getTopicById(topicId);
  }

  createTopic(): CreateTopicResult {
    throw new Error('assertion: in cluster mode topics are created through ClusterTopicService (metadata group)');
  }

  deleteTopic(): boolean {
    throw new Error('assertion: in cluster mode topics are deleted through ClusterTopicService (metadata group)');
  }

  setPartitionCount(): TopicRecord {
    throw new Error('assertion: in cluster mode partitions are added through ClusterTopicService (metadata group)');
  }

  replaceTopicConfigs(): TopicRecord {
    throw new Error('assertion: in cluster mode configs change through ClusterTopicService (metadata group)');
  }

  allocateProducerId(): ProducerId {
    const block = this.blocks[0];
    if (block === undefined) throw new ProducerIdsExhaustedError('no producer-id block reserved (metadata group unavailable)');
    const id = block.next++;
    if (block.next >= block.limit) this.blocks.shift();
    const remaining = this.blocks.reduce((n, b) => n + (b.limit - b.next), 0);
    if (remaining < PRODUCER_ID_BLOCK / 2) void this.refill();
    return id as ProducerId;
  }

  private refill(): Promise<void> {
    if (this.refilling) return this.refilling;
    this.refilling = (async () => {
      const r = await this.node.propose({ kind: 'allocateProducerIds', count: PRODUCER_ID_BLOCK }, METADATA_WRITE_TIMEOUT_MS);
      if (r.kind === 'applied' && r.result.ok && r.result.firstProducerId !== undefined) {
        this.blocks.push({ next: r.result.firstProducerId, limit: r.result.firstProducerId + PRODUCER_ID_BLOCK });
      } else {
        this.logger.warn({ reason: r.kind === 'unavailable' ? r.reason : 'rejected' }, 'could not reserve a producer-id block');
      }
    })().finally(() => {
      this.refilling = null;
    });
    return this.refilling;
  }

  close(): void {
    // The ClusterNode owns the store; the broker closes it after the catalogue.
  }
}
