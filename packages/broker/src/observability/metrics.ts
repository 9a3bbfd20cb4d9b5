// Prometheus metrics of one broker. A private registry (not prom-client's global one), so tests can run
// several brokers in one process without clashing names.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface PartitionSizeSource {
  /** Current on-disk size of every partition log. */
  partitionSizes(): Iterable<{ topic: string; partition: number; sizeBytes: number }>;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'api' | 'error_code'>;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly connections: Gauge;
  readonly produceLatency: Histogram;
  readonly fetchLatency: Histogram;
  readonly closedConnections: Counter<'reason'>;
  private sizeSource: PartitionSizeSource | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tributary_process_' });
    this.requests = new Counter({
      name: 'tributary_requests_total',
      help: 'Kafka requests handled, by API name and response error code (the first non-zero error code in the response, else 0)',
      labelNames: ['api', 'error_code'],
      registers: [this.registry],
    });
    this.bytesIn = new Counter({ name: 'tributary_bytes_in_total', help: 'Kafka request bytes received', registers: [this.registry] });
    this.bytesOut = new Counter({ name: 'tributary_bytes_out_total', help: 'Kafka response bytes sent', registers: [this.registry] });
    this.connections = new Gauge({ name: 'tributary_connections', help: 'Open Kafka client connections', registers: [this.registry] });
    this.closedConnections = new Counter({
      name: 'tributary_connections_closed_total',
      help: 'Kafka connections closed by the broker because of bad input, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    this.produceLatency = new Histogram({
      name: 'tributary_produce_latency_seconds',
      help: 'Produce request latency from decode to response ready (includes fsync for acks=1/-1)',
      buckets,
      registers: [this.registry],
    });
    this.fetchLatency = new Histogram({
      name: 'tributary_fetch_latency_seconds',
      help: 'Fetch request latency from decode to response ready (includes long-poll wait)',
      buckets,
      registers: [this.registry],
    });
    const sizeSourceOf = (): PartitionSizeSource | undefined => this.sizeSource;
    new Gauge({
      name: 'tributary_log_size_bytes',
      help: 'On-disk size of each partition log',
      labelNames: ['topic', 'partition'],
      registers: [this.registry],
      collect() {
        this.reset();
        const source = sizeSourceOf();
        if (!source) return;
        for (const p of source.partitionSizes()) {
          this.set({ topic: p.topic, partition: String(p.partition) }, p.sizeBytes);
        }
      },
    });
  }

  setPartitionSizeSource(source: PartitionSizeSource): void {
    this.sizeSource = source;
  }
}
