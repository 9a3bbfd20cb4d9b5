// Prometheus metrics of partition leadership on one broker (names tributary_partitions_* and
// tributary_leadership_*). Gauges are computed when /metrics is scraped, from the partitions this broker leads, so
// summing a gauge over the brokers counts each partition once (Kafka's UnderReplicatedPartitions,
// UnderMinIsrPartitionCount and preferred-replica imbalance, per leader).
import { Counter, Gauge, type Registry } from 'prom-client';

/** One partition this broker leads, as the metrics see it. */
export interface LedPartition {
  readonly replicas: number;
  readonly inSync: number;
  readonly minInsyncReplicas: number;
  readonly onPreferredReplica: boolean;
}

export class LeadershipMetrics {
  readonly transfers: Counter<'reason'>;

  constructor(registry: Registry, ledPartitions: () => Iterable<LedPartition>) {
    const registers = [registry];
    this.transfers = new Counter({
      name: 'tributary_leadership_transfers_total',
      help: 'Leadership transfers this broker started for partitions it led, by reason (balance, elect)',
      labelNames: ['reason'],
      registers,
    });
    const gauge = (name: string, help: string, count: (p: LedPartition) => boolean): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          let n = 0;
          for (const p of ledPartitions()) if (count(p)) n++;
          this.set(n);
        },
      });
    };
    gauge('tributary_partitions_led', 'Partitions this broker leads', () => true);
    gauge('tributary_partitions_under_replicated', 'Partitions this broker leads whose ISR is smaller than their replica set', (p) => p.inSync < p.replicas);
    gauge('tributary_partitions_under_min_isr', 'Partitions this broker leads whose ISR is smaller than min.insync.replicas (acks=all is refused)', (p) => p.inSync < p.minInsyncReplicas);
    gauge('tributary_partitions_not_on_preferred_leader', 'Partitions this broker leads although it is not their preferred (first) replica', (p) => !p.onPreferredReplica);
  }
}
