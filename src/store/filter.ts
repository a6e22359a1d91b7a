/**
 * Query filters: exact values per dimension, status comparisons, and regular expressions on
 * website and uri (optionally negated). Compiled against the interners into predicates on ids,
 * with results cached per id, so a query tests integers, not strings.
 * @module
 */
import { encodeString } from '../format/bytes.ts';
import { D, DIM, type Dimension, OTHER } from './dimensions.ts';
import type { Interner } from './interner.ts';
import { type ClientRegex, compileClientRegex } from './regex.ts';

export type StatusOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface Filter {
  website?: string;
  prefix?: string;
  uri?: string;
  status?: { op: StatusOp; value: number };
  upstream?: string;
  method?: string;
  websiteRe?: string;
  websiteReNegate?: boolean;
  uriRe?: string;
  uriReNegate?: boolean;
}

/** Parses `500`, `>=400`, `!=200`, `<300`… */
export function parseStatusFilter(s: string): { op: StatusOp; value: number } | undefined {
  const m = /^\s*(=|==|!=|<=|>=|<|>)?\s*(\d{1,3})\s*$/.exec(s);
  if (!m) return undefined;
  const op = (m[1] === '==' || m[1] === undefined ? '=' : m[1]) as StatusOp;
  return { op, value: Number(m[2]) };
}

/** A compiled filter: `test(ids, offset)`; `impossible` when an exact value was never seen. */
export interface CompiledFilter {
  readonly impossible: boolean;
  readonly empty: boolean;
  test(ids: Uint32Array, off: number): boolean;
}

/**
 * The per-id results of a query's regular expressions, kept from query to query (a filter is
 * compiled and used within one synchronous query): a dashboard that asks again with the same
 * expression tests only the values interned since, and those whose ids were handed out again
 * (the interner's `catchUp` names them). A new array of millions of bytes per query would also be
 * garbage the collector pauses for.
 */
export class RegexScratch {
  readonly #slots: ({ key: string; interner: Interner; cache: Uint8Array; since: number } | undefined)[] = [];
  /**
   * The results array of expression `key` (its source and whether negated) over `interner`'s ids,
   * slot `i` (one per expression of a filter): as the last query of the same expression left it,
   * less the ids handed out again since; zeroed for another expression, made anew (at least
   * `interner.capacity` long) when it is too short.
   */
  take(i: number, key: string, interner: Interner): Uint8Array {
    const n = interner.capacity;
    const s = this.#slots[i];
    if (s === undefined || s.cache.length < n) {
      const cache = new Uint8Array(Math.max(16, n + (n >>> 3)));
      this.#slots[i] = { key, interner, cache, since: interner.reuses };
      return cache;
    }
    const cache = s.cache;
    if (s.key !== key || s.interner !== interner) {
      cache.fill(0);
      s.key = key;
      s.interner = interner;
      s.since = interner.reuses;
    } else
      s.since = interner.catchUp(
        s.since,
        (id) => {
          if (id < cache.length) cache[id] = 0;
        },
        () => cache.fill(0),
      );
    return cache;
  }
}

/**
 * A predicate on ids from a test of each id, run at most once per id of the query (results
 * cached in `cache`: 0 not tested yet, 1 true, 2 false; an id past its end is tested each time).
 */
function cachedPredicate(cache: Uint8Array, test: (id: number) => boolean): (id: number) => boolean {
  return (id) => {
    if (id >= cache.length) return test(id);
    let c = cache[id] as number;
    if (c === 0) {
      c = test(id) ? 1 : 2;
      cache[id] = c;
    }
    return c === 1;
  };
}

function regexPredicate(
  interner: Interner,
  source: string,
  negate: boolean,
  field: string,
  cacheMemory?: Uint8Array,
): (id: number) => boolean {
  let re: ClientRegex;
  try {
    re = compileClientRegex(source);
  } catch (e) {
    throw new RangeError(`${field}: ${(e as Error).message}`);
  }
  const cache = cacheMemory ?? new Uint8Array(Math.max(16, interner.capacity));
  // A residual's OTHER stands for values not known one by one: not known to match, so kept by
  // a negated expression (a filter and its negation add up to the whole).
  cache[OTHER] = negate ? 1 : 2;
  const literal = re.literal;
  // Plain text is compared with the values' UTF-8 bytes, unless it holds a lone surrogate (a raw
  // byte's escape or an unpaired half), whose bytes need not stand for the same text.
  if (literal && !/[\ud800-\udfff]/.test(literal.text)) {
    const needle = encodeString(literal.text);
    return cachedPredicate(
      cache,
      (id) => interner.hasText(id, needle, literal.start, literal.end) !== negate,
    );
  }
  // A regular expression reads the text of each value the query meets (once: cached).
  return cachedPredicate(cache, (id) => re.test(interner.value(id)) !== negate);
}

export function compileFilter(
  filter: Filter,
  interners: readonly Interner[],
  scratch?: RegexScratch,
): CompiledFilter {
  const exact: [number, number][] = [];
  let impossible = false;
  for (const dim of [
    'website',
    'prefix',
    'uri',
    'upstream',
    'method',
  ] as const satisfies readonly Dimension[]) {
    const v = filter[dim];
    if (v === undefined) continue;
    const id = (interners[DIM[dim]] as Interner).lookup(v);
    if (id === undefined) impossible = true;
    else exact.push([DIM[dim], id]);
  }
  const preds: [number, (id: number) => boolean][] = [];
  if (filter.status) {
    const { op, value } = filter.status;
    const st = interners[DIM.status] as Interner;
    if (op === '=') {
      const id = st.lookup(String(value));
      if (id === undefined) impossible = true;
      else exact.push([DIM.status, id]);
    } else {
      const cmp =
        op === '!='
          ? (x: number) => x !== value
          : op === '<'
            ? (x: number) => x < value
            : op === '<='
              ? (x: number) => x <= value
              : op === '>'
                ? (x: number) => x > value
                : (x: number) => x >= value;
      const known = new Uint8Array(Math.max(16, st.capacity));
      preds.push([DIM.status, cachedPredicate(known, (id) => id !== OTHER && cmp(Number(st.value(id))))]);
    }
  }
  const regexes = [
    [DIM.website, filter.websiteRe, filter.websiteReNegate, 'website_re'],
    [DIM.uri, filter.uriRe, filter.uriReNegate, 'uri_re'],
  ] as const;
  regexes.forEach(([d, source, negate, field], slot) => {
    if (source === undefined) return;
    const interner = interners[d] as Interner;
    preds.push([
      d,
      regexPredicate(
        interner,
        source,
        negate === true,
        field,
        scratch?.take(slot, `${negate === true ? '!' : '='}${source}`, interner),
      ),
    ]);
  });
  const empty = exact.length === 0 && preds.length === 0;
  const ed = exact.map(([d]) => d);
  const ev = exact.map(([, v]) => v);
  const pd = preds.map(([d]) => d);
  const pf = preds.map(([, f]) => f);
  return {
    impossible,
    empty,
    test(ids, off) {
      for (let i = 0; i < ed.length; i++) if (ids[off + (ed[i] as number)] !== ev[i]) return false;
      for (let i = 0; i < pd.length; i++)
        if (!(pf[i] as (id: number) => boolean)(ids[off + (pd[i] as number)] as number)) return false;
      return true;
    },
  };
}

export { D };
