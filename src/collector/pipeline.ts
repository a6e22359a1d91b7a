/**
 * Lines → parsed fields → key parts → store, with per-source counters. Bad lines are counted
 * and skipped; the first few per source are reported with their line number.
 * @module
 */
import { LineParseError } from '../format/errors.ts';
import type { CompiledFormat } from '../format/types.ts';
import type { LineBatch } from '../ingest/line-batch.ts';
import type { Store } from '../store/store.ts';
import { type Extractor, type KeyParts, makeExtractor } from './extract.ts';

/** Where lines come from and how to read them. */
export interface SourceFormat {
  readonly format: CompiledFormat;
  /** A name for status output (`logtail`, `main`, `--format`). */
  readonly name: string;
  /** Fallback website when the format has no host. */
  readonly website?: string;
}

export interface SourceCounters {
  lines: number;
  parseErrors: number;
  malformed: number;
  /** Lines older than the 24-hour rings: in the totals, in no window. */
  tooOld: number;
}

export interface PipelineReport {
  source: string;
  line: number;
  message: string;
}

const REPORT_FIRST = 5;

export class Pipeline {
  readonly store: Store;
  readonly #report: (r: PipelineReport) => void;
  readonly counters = new Map<string, SourceCounters>();
  readonly #extractors = new Map<CompiledFormat, Extractor>();
  readonly #parts: KeyParts = {
    website: '',
    addr: '',
    uri: '',
    status: 0,
    upstream: '',
    method: '',
    bytes: 0,
    time: 0,
    at: Number.NaN,
  };
  linesRead = 0;
  parseErrors = 0;

  /** Called for every counted request (metrics). */
  readonly #observe: ((o: KeyParts) => void) | undefined;

  constructor(store: Store, report: (r: PipelineReport) => void, observe?: (o: KeyParts) => void) {
    this.store = store;
    this.#report = report;
    this.#observe = observe;
  }

  #extractor(src: SourceFormat): Extractor {
    let e = this.#extractors.get(src.format);
    if (!e) {
      e = makeExtractor(src.format, src.website ?? '');
      this.#extractors.set(src.format, e);
    }
    return e;
  }

  counter(source: string): SourceCounters {
    let c = this.counters.get(source);
    if (!c) {
      c = { lines: 0, parseErrors: 0, malformed: 0, tooOld: 0 };
      this.counters.set(source, c);
    }
    return c;
  }

  /** Counts a batch of lines from one source. */
  feed(batch: LineBatch, source: string, src: SourceFormat): void {
    const c = this.counter(source);
    const extract = this.#extractor(src);
    const format = src.format;
    const o = this.#parts;
    const store = this.store;
    for (let i = 0; i < batch.count; i++) {
      c.lines++;
      this.linesRead++;
      if (batch.start(i) === batch.end(i)) continue;
      const line = batch.text(i);
      const f = format.parse(line);
      if (f instanceof LineParseError) {
        c.parseErrors++;
        this.parseErrors++;
        if (c.parseErrors <= REPORT_FIRST) {
          this.#report({
            source,
            line: c.lines,
            message: `${f.reason} at column ${f.column} (format ${src.name})`,
          });
        }
        continue;
      }
      if (!extract(f, o)) {
        c.malformed++;
        if (c.malformed <= REPORT_FIRST)
          this.#report({ source, line: c.lines, message: 'no status or client address' });
        continue;
      }
      const r = store.add(o.website, o.addr, o.uri, o.status, o.upstream, o.method, o.bytes, o.time, o.at);
      if (r === 'malformed') {
        c.malformed++;
        if (c.malformed <= REPORT_FIRST) {
          this.#report({
            source,
            line: c.lines,
            message: `invalid client address or status (${JSON.stringify(o.addr)}, ${o.status})`,
          });
        }
        continue;
      }
      if (r === 'old') {
        c.tooOld++;
        if (c.tooOld === 1) {
          this.#report({
            source,
            line: c.lines,
            message: 'older than the 24-hour rings: counted in the totals, not in any window (said once)',
          });
        }
      }
      this.#observe?.(o);
    }
  }
}
