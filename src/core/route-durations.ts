import type { Registry } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Series {
  labels: { listener: string; method: string; route: string; status: string };
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * `http_request_duration_seconds`, a Prometheus histogram by listener (api, sbi), method, route template and status,
 * exposed through the prom-client registry. It is kept by hand because it is observed on every request: a series is
 * looked up once per (listener, method, route, status) and observing is a bucket search and three additions, where prom-client's Histogram
 * re-validates and re-hashes the label set on every observation.
 */
export class RouteDurations {
  readonly name = 'http_request_duration_seconds';
  readonly help = 'HTTP request duration by route template and status';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(registry: Registry) {
    registry.registerMetric(this as never);
  }

  observe(listener: string, method: string, route: string, status: number, seconds: number): void {
    const key = `${listener} ${method} ${route} ${status}`;
    let s = this.series.get(key);
    if (!s)
      this.series.set(
        key,
        (s = { labels: { listener, method, route, status: String(status) }, counts: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0 }),
      );
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.counts[i]! += 1;
    s.sum += seconds;
    s.count += 1;
  }

  /** The prom-client metric shape the registry formats. */
  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series.clear();
  }
}
