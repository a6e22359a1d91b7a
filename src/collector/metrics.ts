/**
 * Prometheus metrics of the collector. prom-client holds the registry, the counters and the
 * process metrics; the hot path never calls it: lines are counted into plain maps and arrays
 * (`RequestCounts`, cheap per line), and prom-client reads them at scrape time.
 * @module
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { parseHostPort } from '../rpc/address.ts';
import { METHOD_NAMES, RequestCounts, STATUSES } from './request-counts.ts';

export interface IngestTotals {
  linesRead(): number;
  parseErrors(): number;
  malformed(): number;
  droppedKeys(): number;
  syslogDatagrams(): number;
  syslogLines(): number;
  filesTailed(): number;
  /** Lines older than the 24-hour rings (in no window). */
  linesTooOld(): number;
  /** Checkpoints of the state file that failed (each retried at the next interval). */
  stateSaveFailures(): number;
  /** When the state was last saved, epoch seconds (0: never). */
  stateLastSaved(): number;
}

export class CollectorMetrics {
  readonly registry = new Registry();
  /** What the counters and histograms report (the pipeline counts into it). */
  readonly counts = new RequestCounts();

  constructor(totals: IngestTotals) {
    const { requests, upstreams, hosts, ups } = this.counts;
    // Tabs never reach a label (escape=none logs may have them in a host).
    const clean = (v: string) => (v.includes('\t') ? v.replaceAll('\t', ' ') : v);
    collectDefaultMetrics({ register: this.registry, prefix: 'logtally_' });
    // prom-client's *_active_{handles,requests,resources}_total are gauges with a counter's
    // suffix, which promtool refuses; the same figures by type (without _total) stay.
    for (const what of ['handles', 'requests', 'resources']) {
      this.registry.removeSingleMetric(`logtally_nodejs_active_${what}_total`);
    }
    new Counter({
      name: 'logtally_requests_total',
      help: 'Requests counted, by host, method and status.',
      labelNames: ['host', 'method', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [k, v] of requests) {
          const status = String(k % STATUSES);
          const hm = Math.floor(k / STATUSES);
          const method = METHOD_NAMES[hm % METHOD_NAMES.length] as string;
          const host = clean(hosts.names[Math.floor(hm / METHOD_NAMES.length)] as string);
          this.inc({ host, method, status }, v);
        }
      },
    });
    new Counter({
      name: 'logtally_upstream_requests_total',
      help: 'Requests that reached an upstream, by the last upstream address and status.',
      labelNames: ['upstream', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [k, v] of upstreams) {
          const upstream = clean(ups.names[Math.floor(k / STATUSES)] as string);
          this.inc({ upstream, status: String(k % STATUSES) }, v);
        }
      },
    });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          const v = read();
          if (v > 0) this.inc(v);
        },
      });
    counter('logtally_lines_read_total', 'Log lines read (files and syslog).', totals.linesRead);
    counter('logtally_parse_errors_total', 'Lines that did not match their format.', totals.parseErrors);
    counter(
      'logtally_malformed_lines_total',
      'Parsed lines without a valid client address or status.',
      totals.malformed,
    );
    counter(
      'logtally_dropped_keys_total',
      'Keys pushed out of a full minute table by a new key (Space-Saving); their requests stay in the totals.',
      totals.droppedKeys,
    );
    counter(
      'logtally_lines_too_old_total',
      'Lines older than the 24-hour rings: counted in lines_read, in no window.',
      totals.linesTooOld,
    );
    counter(
      'logtally_state_save_failures_total',
      'Checkpoints of --state-file that failed (each is retried at the next interval).',
      totals.stateSaveFailures,
    );
    new Gauge({
      name: 'logtally_state_last_saved_timestamp_seconds',
      help: 'When --state-file was last saved (0: never).',
      registers: [this.registry],
      collect() {
        this.set(totals.stateLastSaved());
      },
    });
    counter('logtally_syslog_datagrams_total', 'Syslog datagrams received.', totals.syslogDatagrams);
    counter('logtally_syslog_lines_total', 'Lines received over syslog.', totals.syslogLines);
    new Gauge({
      name: 'logtally_files_tailed',
      help: 'Files currently tailed.',
      registers: [this.registry],
      collect() {
        this.set(totals.filesTailed());
      },
    });
  }

  /** The exposition text. */
  async text(): Promise<string> {
    return (
      (await this.registry.metrics()) +
      this.counts.bytes.text('logtally_response_bytes', 'Response body bytes per request.') +
      this.counts.duration.text('logtally_request_duration_seconds', 'Request time per request, seconds.') +
      this.counts.upstreamDuration.text(
        'logtally_upstream_duration_seconds',
        'Request time of requests that reached an upstream, seconds.',
      )
    );
  }

  /** Serves `/metrics` on `listen`. */
  async serve(listen: string, maxConnections = 1024): Promise<{ server: Server; port: number }> {
    const a = parseHostPort(listen, '--metrics-listen');
    const server = createServer((req, res) => {
      if (req.url !== '/metrics' && req.url !== '/') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.text().then(
        (t) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(t),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
      );
    });
    // Bounded: at most this many connections, and one that sends no complete request within
    // 10 s (or idles 5 s after one) is closed.
    server.maxConnections = maxConnections;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.listen(a.port, a.host || undefined);
    await once(server, 'listening');
    return { server, port: (server.address() as AddressInfo).port };
  }
}
