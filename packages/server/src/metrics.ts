/**
 * Prometheus metrics in the text exposition format: request counts by method, route and status,
 * and a latency histogram by route. Routes are the matched patterns (`/api/v1/users/:username/chain`),
 * never concrete paths, so usernames do not leak into labels and cardinality stays bounded.
 *
 * @packageDocumentation
 */

/** Histogram bucket upper bounds, in seconds. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** In-memory request metrics of one server process. */
export class Metrics {
  readonly #counts = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #startedAt: number;
  readonly #now: () => number;

  /** @param now - the clock (Unix ms), for the uptime gauge. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#startedAt = now();
  }

  /** Records one finished request. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (h === undefined) {
      h = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(route, h);
    }
    for (let i = 0; i < LATENCY_BUCKETS.length; i++)
      if (seconds <= LATENCY_BUCKETS[i]!) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** The Prometheus text exposition (version 0.0.4). */
  render(): string {
    const out: string[] = [
      '# HELP saltbox_http_requests_total HTTP requests by method, route and status.',
      '# TYPE saltbox_http_requests_total counter',
    ];
    for (const [key, n] of [...this.#counts].sort()) {
      const [method, route, status] = key.split('\u0000') as [string, string, string];
      out.push(
        `saltbox_http_requests_total{method="${label(method)}",route="${label(route)}",status="${status}"} ${n}`,
      );
    }
    out.push(
      '# HELP saltbox_http_request_duration_seconds HTTP request latency by route.',
      '# TYPE saltbox_http_request_duration_seconds histogram',
    );
    for (const [route, h] of [...this.#latency].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const r = label(route);
      LATENCY_BUCKETS.forEach((le, i) => {
        out.push(
          `saltbox_http_request_duration_seconds_bucket{route="${r}",le="${le}"} ${h.buckets[i]!}`,
        );
      });
      out.push(`saltbox_http_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${h.count}`);
      out.push(`saltbox_http_request_duration_seconds_sum{route="${r}"} ${h.sum}`);
      out.push(`saltbox_http_request_duration_seconds_count{route="${r}"} ${h.count}`);
    }
    out.push(
      '# HELP saltbox_uptime_seconds Seconds since this server process started.',
      '# TYPE saltbox_uptime_seconds gauge',
      `saltbox_uptime_seconds ${(this.#now() - this.#startedAt) / 1000}`,
    );
    return out.join('\n') + '\n';
  }
}
