/**
 * The request counts behind the collector's Prometheus metrics, without prom-client (a worker
 * thread counts into one and hands it over): counters by (host, method, status) and by (upstream,
 * status) keyed by integers, and three histograms. Label cardinality is bounded: hosts and
 * upstreams beyond the first 500 distinct values are `other` (both are attacker-influenced),
 * methods outside the standard set `OTHER`.
 * @module
 */

const MAX_LABEL_VALUES = 500;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const BYTE_BUCKETS = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
const TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Hist {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    if (i < b.length) this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
  }
  text(name: string, help: string): string {
    let out = `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`;
    let cum = 0;
    this.bounds.forEach((le, i) => {
      cum += this.counts[i] as number;
      out += `${name}_bucket{le="${le}"} ${cum}\n`;
    });
    out += `${name}_bucket{le="+Inf"} ${this.count}\n${name}_sum ${this.sum}\n${name}_count ${this.count}\n`;
    return out;
  }
}

/**
 * Bounded label values as small integers: the first MAX distinct values keep their name, later
 * ones are `other`. The last value looked up is remembered (consecutive lines share a host).
 */
export class LabelIds {
  readonly #ids = new Map<string, number>();
  readonly names: string[] = ['other'];
  #last = '';
  #lastId = -1;
  id(v: string): number {
    if (v === this.#last && this.#lastId >= 0) return this.#lastId;
    let id = this.#ids.get(v);
    if (id === undefined) {
      if (this.names.length > MAX_LABEL_VALUES) return 0;
      id = this.names.length;
      this.names.push(v);
      this.#ids.set(v, id);
    }
    this.#last = v;
    this.#lastId = id;
    return id;
  }
}

export const METHOD_NAMES = [...METHODS, 'OTHER'];
const METHOD_INDEX = new Map(METHOD_NAMES.map((m, i) => [m, i]));
const OTHER_METHOD = METHOD_NAMES.length - 1;

/** A method's index in METHOD_NAMES (`OTHER` for one outside the standard set). */
export function methodIndex(method: string): number {
  return METHOD_INDEX.get(method) ?? OTHER_METHOD;
}
/** Request counters are keyed by ((host id × methods) + method) × 1000 + status. */
export const STATUSES = 1000;

/** What {@link RequestCounts.export} gives (structured-cloneable) and `absorb` takes. */
export interface RequestCountsData {
  hosts: string[];
  upstreamNames: string[];
  requests: [number, number][];
  upstreams: [number, number][];
  histograms: { counts: Float64Array; sum: number; count: number }[];
}

/** A request's status and measures (the key parts of either path have them). */
export interface Measures {
  readonly status: number;
  readonly bytes: number;
  readonly time: number;
}

export class RequestCounts {
  readonly requests = new Map<number, number>();
  readonly upstreams = new Map<number, number>();
  readonly hosts = new LabelIds();
  readonly ups = new LabelIds();
  readonly bytes = new Hist(BYTE_BUCKETS);
  readonly duration = new Hist(TIME_BUCKETS);
  readonly upstreamDuration = new Hist(TIME_BUCKETS);

  /**
   * Counts one request (hot path: an integer key and three histogram updates; labels at scrape
   * time). `host` and `upstream` are label ids (`hosts.id(name)`, `ups.id(name)`; -1: no
   * upstream), `method` a method index (`methodIndex(name)`); `m` has the status, size and time.
   */
  observe(host: number, method: number, upstream: number, m: Measures): void {
    const status = m.status;
    const st = status >= 0 && status < STATUSES ? status : 0;
    this.#add(this.requests, (host * METHOD_NAMES.length + method) * STATUSES + st, 1);
    this.bytes.observe(m.bytes);
    const time = m.time;
    this.duration.observe(time);
    if (upstream >= 0) {
      this.#add(this.upstreams, upstream * STATUSES + st, 1);
      this.upstreamDuration.observe(time);
    }
  }

  #add(m: Map<number, number>, key: number, n: number): void {
    m.set(key, (m.get(key) ?? 0) + n);
  }

  export(): RequestCountsData {
    const h = (x: Hist) => ({ counts: x.counts, sum: x.sum, count: x.count });
    return {
      hosts: this.hosts.names,
      upstreamNames: this.ups.names,
      requests: [...this.requests],
      upstreams: [...this.upstreams],
      histograms: [h(this.bytes), h(this.duration), h(this.upstreamDuration)],
    };
  }

  /** Adds counts another RequestCounts exported. */
  absorb(d: RequestCountsData): void {
    const per = METHOD_NAMES.length * STATUSES;
    // Id 0 is `other` on both sides (not a name in the map).
    const id = (ids: LabelIds, names: readonly string[], i: number) => (i === 0 ? 0 : ids.id(names[i] ?? ''));
    for (const [k, v] of d.requests) {
      const host = id(this.hosts, d.hosts, Math.floor(k / per));
      this.#add(this.requests, host * per + (k % per), v);
    }
    for (const [k, v] of d.upstreams) {
      const up = id(this.ups, d.upstreamNames, Math.floor(k / STATUSES));
      this.#add(this.upstreams, up * STATUSES + (k % STATUSES), v);
    }
    [this.bytes, this.duration, this.upstreamDuration].forEach((x, i) => {
      const o = d.histograms[i];
      if (!o) return;
      for (let b = 0; b < x.counts.length; b++) x.counts[b] = (x.counts[b] as number) + (o.counts[b] ?? 0);
      x.sum += o.sum;
      x.count += o.count;
    });
  }
}
