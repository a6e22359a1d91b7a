/**
 * Lines → parsed fields → key parts → store, with per-source counters. Bad lines are counted
 * and skipped; the first few per source are reported with their line number.
 * @module
 */
import { isAscii } from 'node:buffer';
import { LineParseError } from '../format/errors.ts';
import type { FormatSpec } from '../format/registry.ts';
import type { CompiledFormat } from '../format/types.ts';
import type { LineBatch } from '../ingest/line-batch.ts';
import { DIM } from '../store/dimensions.ts';
import type { Interner } from '../store/interner.ts';
import { type AddResult, ByteParts, type Store } from '../store/store.ts';
import {
  type ByteExtractor,
  type Extractor,
  emptyKeyParts,
  type KeyParts,
  makeByteExtractor,
  makeExtractor,
} from './extract.ts';
import { type Measures, methodIndex, type RequestCounts } from './request-counts.ts';

/** Where lines come from and how to read them. */
export interface SourceFormat {
  readonly format: CompiledFormat;
  /** A name for status output (`logtail`, `main`, `--format`). */
  readonly name: string;
  /** Fallback website when the format has no host. */
  readonly website?: string;
  /** How `format` was compiled, for a worker thread to compile it again (see ./backfill.ts). */
  readonly recipe?: FormatRecipe;
}

/** A format as given: a `--format`/`--dialect` spec, or an nginx.conf `log_format` (compiled as written). */
export type FormatRecipe =
  | { readonly spec: FormatSpec }
  | { readonly nginx: string; readonly escape: 'default' | 'json' | 'none' };

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

/**
 * A counted request: its key's ids in the store (website, prefix, uri, status, upstream, method)
 * and its measures (an object, not three arguments: a fraction passed as an argument is boxed).
 */
export type Observer = (key: Uint32Array, m: Measures) => void;

/** The observer that counts each request into `counts` (the Prometheus metrics), labelled by the store's values. */
export function countInto(counts: RequestCounts, store: Store): Observer {
  const it = store.interners;
  const website = new LabelCache(it[DIM.website] as Interner, (v) => counts.hosts.id(v));
  const method = new LabelCache(it[DIM.method] as Interner, methodIndex);
  const upstream = new LabelCache(it[DIM.upstream] as Interner, (v) => (v === '' ? -1 : counts.ups.id(v)));
  return (key, m) =>
    counts.observe(
      website.get(key[DIM.website] as number),
      method.get(key[DIM.method] as number),
      upstream.get(key[DIM.upstream] as number),
      m,
    );
}

/** A label cache entry not noted yet (label ids are small, -1 included). */
const UNNOTED = 0x7fffffff;

/**
 * A store value's label id, by the value's interner id: the value's text is read (a string made)
 * once per id, not per line. An entry holds until the interner hands its id out again
 * (`catchUp`).
 */
class LabelCache {
  readonly #interner: Interner;
  readonly #map: (value: string) => number;
  /** Per id, its label id (-1 is one: no upstream); `UNNOTED`: not noted. */
  #labels = new Int32Array(64).fill(UNNOTED);
  /** The interner's `reuses` when the entries were last brought up to date. */
  #seen = 0;
  readonly #forget = (id: number) => {
    if (id < this.#labels.length) this.#labels[id] = UNNOTED;
  };
  readonly #forgetAll = () => {
    this.#labels.fill(UNNOTED);
  };

  constructor(interner: Interner, map: (value: string) => number) {
    this.#interner = interner;
    this.#map = map;
    this.#seen = interner.reuses;
  }

  get(id: number): number {
    const it = this.#interner;
    if (it.reuses !== this.#seen) this.#seen = it.catchUp(this.#seen, this.#forget, this.#forgetAll);
    if (id < this.#labels.length) {
      const label = this.#labels[id] as number;
      if (label !== UNNOTED) return label;
    } else {
      const labels = new Int32Array(Math.max(id + 1, this.#labels.length * 2)).fill(UNNOTED);
      labels.set(this.#labels);
      this.#labels = labels;
    }
    const label = this.#map(it.value(id));
    this.#labels[id] = label;
    return label;
  }
}

interface Extractors {
  readonly text: Extractor;
  readonly bytes: ByteExtractor | undefined;
}

export class Pipeline {
  readonly store: Store;
  readonly #report: (r: PipelineReport) => void;
  readonly counters = new Map<string, SourceCounters>();
  readonly #extractors = new Map<CompiledFormat, Extractors>();
  readonly #parts: KeyParts = emptyKeyParts();
  readonly #byteParts = new ByteParts();
  linesRead = 0;
  parseErrors = 0;

  /** Called for every counted request (metrics). */
  readonly #observe: Observer | undefined;

  constructor(store: Store, report: (r: PipelineReport) => void, observe?: Observer) {
    this.store = store;
    this.#report = report;
    this.#observe = observe;
  }

  #extractor(src: SourceFormat): Extractors {
    let e = this.#extractors.get(src.format);
    if (!e) {
      e = {
        text: makeExtractor(src.format, src.website ?? ''),
        bytes: makeByteExtractor(src.format, src.website ?? ''),
      };
      this.#extractors.set(src.format, e);
    }
    return e;
  }

  /** Adds the counters of lines another pipeline (a worker thread's) counted from `source`. */
  absorb(source: string, other: SourceCounters): void {
    const c = this.counter(source);
    c.lines += other.lines;
    c.parseErrors += other.parseErrors;
    c.malformed += other.malformed;
    c.tooOld += other.tooOld;
    this.linesRead += other.lines;
    this.parseErrors += other.parseErrors;
  }

  counter(source: string): SourceCounters {
    let c = this.counters.get(source);
    if (!c) {
      c = { lines: 0, parseErrors: 0, malformed: 0, tooOld: 0 };
      this.counters.set(source, c);
    }
    return c;
  }

  /**
   * Counts a batch of lines from one source. An ASCII line of a format with a byte extractor is
   * counted from its bytes; any other line (and one the byte extractor leaves to the text: escaped,
   * unusual or invalid) is decoded and parsed, which also explains errors.
   */
  feed(batch: LineBatch, source: string, src: SourceFormat): void {
    const c = this.counter(source);
    const ex = this.#extractor(src);
    const byteExtract = ex.bytes;
    const bytes = batch.bytes;
    const bp = this.#byteParts;
    const store = this.store;
    for (let i = 0; i < batch.count; i++) {
      c.lines++;
      this.linesRead++;
      const s = batch.start(i);
      const e = batch.end(i);
      if (s === e) continue;
      let r: AddResult;
      let counted: Measures;
      if (
        byteExtract !== undefined &&
        (batch.ascii || isAscii(bytes.subarray(s, e))) &&
        byteExtract(bytes, s, e, bp)
      ) {
        r = store.addBytes(bytes, bp);
        if (r === 'malformed') {
          this.#malformed(c, source, bytes.toString('latin1', bp.addr, bp.addrEnd), bp.status);
          continue;
        }
        counted = bp;
      } else {
        const o = this.#parse(batch.text(i), c, source, src, ex.text);
        if (o === undefined) continue;
        r = store.add(o.website, o.addr, o.uri, o.status, o.upstream, o.method, o.bytes, o.time, o.at);
        if (r === 'malformed') {
          this.#malformed(c, source, o.addr, o.status);
          continue;
        }
        counted = o;
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
      this.#observe?.(store.lastKey, counted);
    }
  }

  /** The key parts of a line's text, or undefined (a parse error or a malformed line, counted and reported). */
  #parse(
    line: string,
    c: SourceCounters,
    source: string,
    src: SourceFormat,
    extract: Extractor,
  ): KeyParts | undefined {
    const f = src.format.parse(line);
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
      return undefined;
    }
    const o = this.#parts;
    if (!extract(f, o)) {
      c.malformed++;
      if (c.malformed <= REPORT_FIRST)
        this.#report({ source, line: c.lines, message: 'no status or client address' });
      return undefined;
    }
    return o;
  }

  #malformed(c: SourceCounters, source: string, addr: string, status: number): void {
    c.malformed++;
    if (c.malformed <= REPORT_FIRST) {
      this.#report({
        source,
        line: c.lines,
        message: `invalid client address or status (${JSON.stringify(addr)}, ${status})`,
      });
    }
  }
}
