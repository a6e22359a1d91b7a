/**
 * From parsed fields to the store's key parts, per dialect, without building the whole
 * canonical record on the hot path for nginx (direct field reads); other dialects go through
 * the canonical record mapping.
 * @module
 */
import { bytesEqual, decimalInto, lastListElement, latin1, readCUint, readUint } from '../format/bytes.ts';
import { envoyRequestField, toRecord } from '../format/record/index.ts';
import { splitRequestLine } from '../format/record/record.ts';
import {
  type Converter,
  compileProjection,
  fastConverter,
  isTokenBytes,
  type ScanField,
  type ScanLayout,
} from '../format/scanner.ts';
import type { CompiledFormat, Dialect, Fields, FieldValue } from '../format/types.ts';
import type { ByteParts } from '../store/store.ts';

export interface KeyParts {
  website: string;
  addr: string;
  uri: string;
  status: number;
  upstream: string;
  method: string;
  bytes: number;
  time: number;
  /** The line's own time, epoch seconds; NaN when the format carries none. */
  at: number;
}

export type Extractor = (fields: Fields, out: KeyParts) => boolean;

/** Key parts to fill (the same object is filled line after line). */
export function emptyKeyParts(): KeyParts {
  return {
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
}

const str = (v: FieldValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: FieldValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

function lastOfList(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return undefined;
  const group = v.at(-1);
  if (!Array.isArray(group)) return undefined;
  const last = group.at(-1);
  return typeof last === 'string' ? last : undefined;
}

/**
 * Builds the extractor for a format. `website` is the fallback website when the format has no
 * host variable (for example the server_name of the nginx server block that writes the log).
 * Returns false when the line lacks a status or a client address (malformed for counting).
 */
export function makeExtractor(format: CompiledFormat, website = ''): Extractor {
  if (format.dialect === 'nginx') {
    return (f, o) => {
      const status = num(f.status) ?? num(f.upstream_last_status) ?? num(f.upstream_log_status);
      const addr = str(f.remote_addr) ?? str(f.realip_remote_addr);
      if (status === undefined || addr === undefined) return false;
      let uri = str(f.request_uri);
      let method = str(f.request_method);
      if (uri === undefined || method === undefined) {
        const req = str(f.request);
        const line = req === undefined ? undefined : splitRequestLine(req);
        uri ??= line?.uri ?? str(f.uri) ?? str(f.upstream_uri) ?? '';
        method ??= line?.method ?? str(f.upstream_method) ?? '';
      }
      o.website = str(f.host) ?? str(f.http_host) ?? str(f.server_name) ?? website;
      o.addr = addr;
      o.uri = uri;
      o.status = status;
      o.method = method;
      o.upstream = lastOfList(f.upstream_addr) ?? str(f.upstream_last_addr) ?? str(f.upstream_log_addr) ?? '';
      o.bytes = num(f.body_bytes_sent) ?? num(f.bytes_sent) ?? 0;
      o.time =
        num(f.request_time) ?? num(f.upstream_last_response_time) ?? num(f.upstream_log_response_time) ?? 0;
      o.at = num(f.msec) ?? num(f.time_local) ?? num(f.time_iso8601) ?? Number.NaN;
      return true;
    };
  }
  const dialect = format.dialect;
  return (f, o) => {
    const r = toRecord(dialect, f);
    if (r.status === undefined || r.clientAddr === undefined) return false;
    o.website = r.host ?? website;
    o.addr = r.clientAddr;
    o.uri = r.uri ?? '';
    o.status = r.status;
    o.method = r.method ?? '';
    o.upstream = r.upstreams?.at(-1)?.addr ?? '';
    o.bytes = r.bodyBytes ?? r.responseBytes ?? 0;
    o.time = r.duration ?? 0;
    o.at = r.time ?? r.startTime ?? Number.NaN;
    return true;
  };
}

/**
 * Fills `out` from the ASCII line `b[start, end)`; false when the line needs its text parsed (it
 * does not split as the fast parser splits it, a value is escaped, null or invalid where the
 * string path would decide otherwise): the caller then parses the text, which also reports errors.
 * The values are exactly those `makeExtractor` gives for the parsed line.
 */
export type ByteExtractor = (b: Uint8Array, start: number, end: number, out: ByteParts) => boolean;

/** A field read as text: its start (its end is its bound), or one of these. */
const NONE = -1;
const INVALID = -2;

/** How FieldReader.number reads a field. */
const TEXT = 0;
const UINT = 1;
const CUINT = 2;
const DECIMAL = 3;
const CONVERT = 4;

/** A number read from a field, divided by `divisor` (`micros` → seconds). */
type Scaled = readonly [field: number, divisor: number];

/** A list of Scaled fields in order of preference, as FieldReader.readFirst reads it. */
interface NumberList {
  readonly fields: Int32Array;
  readonly divisors: Float64Array;
}

function numberList(list: readonly Scaled[]): NumberList {
  return { fields: Int32Array.from(list, ([i]) => i), divisors: Float64Array.from(list, ([, d]) => d) };
}

/** What FieldReader.read and readFirst found. */
const FOUND = 1;
const ABSENT = 0;
const REFUSED = -1;

/**
 * Reads the fields of a line split by a projection (`at`: each field's bounds) as the text
 * parser's converters read their texts, for every dialect: null texts, texts that are their own
 * value (unless escaped, or refused by their kind), numbers in place, other values by the
 * converter the fast parser calls (a repeated text is not converted again).
 */
class FieldReader {
  readonly at: Int32Array;
  readonly #kinds: readonly ScanField['bytes'][];
  /** Per field, how `number` reads it: TEXT, UINT, CUINT, DECIMAL or CONVERT (by its kind). */
  readonly #read: Uint8Array;
  readonly #nulls: readonly (readonly string[])[];
  /** Per field, the longest null text (-1: none): a longer text is not null, without comparing. */
  readonly #nullMax: Int32Array;
  readonly #escape: number;
  readonly #converters: readonly Converter[];
  readonly #lastText: string[];
  readonly #lastValue: number[];

  constructor(layout: ScanLayout) {
    const fields = layout.fields;
    this.at = new Int32Array(fields.length * 2);
    this.#kinds = fields.map((f) => f.bytes);
    this.#read = Uint8Array.from(this.#kinds, (k) =>
      k === 'text' || k === 'nonempty' || k === 'token'
        ? TEXT
        : k === 'uint'
          ? UINT
          : k === 'cuint'
            ? CUINT
            : k === 'decimal'
              ? DECIMAL
              : CONVERT,
    );
    this.#nulls = fields.map((f) => f.nulls ?? []);
    this.#nullMax = Int32Array.from(this.#nulls, (ts) => ts.reduce((m, t) => Math.max(m, t.length), -1));
    this.#escape = layout.escape ?? -1;
    this.#converters = fields.map(fastConverter);
    this.#lastText = fields.map(() => '\u0100'); // matches no bytes
    this.#lastValue = fields.map(() => Number.NaN);
  }

  isText(i: number): boolean {
    return this.#read[i] === TEXT;
  }

  isNull(b: Uint8Array, i: number): boolean {
    const s = this.at[2 * i] as number;
    const e = this.at[2 * i + 1] as number;
    if (e - s > (this.#nullMax[i] as number)) return false;
    const ts = this.#nulls[i] as readonly string[];
    for (let k = 0; k < ts.length; k++) if (bytesEqual(b, s, e, ts[k] as string)) return true;
    return false;
  }

  /** Field i's text as its own value: its start, NONE when null, INVALID when escaped or refused. */
  text(b: Uint8Array, i: number): number {
    if (this.isNull(b, i)) return NONE;
    const s = this.at[2 * i] as number;
    const e = this.at[2 * i + 1] as number;
    const esc = this.#escape;
    if (esc >= 0) for (let k = s; k < e; k++) if (b[k] === esc) return INVALID;
    const kind = this.#kinds[i];
    if (kind === 'nonempty' ? e === s : kind === 'token' && !isTokenBytes(b, s, e)) return INVALID;
    return s;
  }

  /** The first field of a list with a text: its index, NONE when all are null, INVALID when one is refused. */
  firstText(b: Uint8Array, list: readonly number[]): number {
    for (let k = 0; k < list.length; k++) {
      const i = list[k] as number;
      const s = this.text(b, i);
      if (s === INVALID) return INVALID;
      if (s !== NONE) return i;
    }
    return NONE;
  }

  /**
   * The number the last `read` or `readFirst` found (a field, not a return value: a fraction
   * returned from a call that is not inlined is a new heap number each line).
   */
  value = 0;
  readonly #decimal = new Float64Array(1);

  /** Field i as a number into `value`: FOUND, ABSENT (null or not a number) or REFUSED (the parser refuses its text). */
  read(b: Uint8Array, i: number): number {
    const read = this.#read[i] as number;
    if (read === TEXT) return this.text(b, i) === INVALID ? REFUSED : ABSENT;
    if (this.isNull(b, i)) return ABSENT;
    const s = this.at[2 * i] as number;
    const e = this.at[2 * i + 1] as number;
    if (read === UINT || read === CUINT) {
      const v = read === UINT ? readUint(b, s, e) : readCUint(b, s, e);
      if (v < 0) return REFUSED;
      this.value = v;
      return FOUND;
    }
    if (read === DECIMAL) {
      const out = this.#decimal;
      if (!decimalInto(b, s, e, out, 0)) return REFUSED;
      this.value = out[0] as number;
      return FOUND;
    }
    let n: number;
    if (bytesEqual(b, s, e, this.#lastText[i] as string)) n = this.#lastValue[i] as number;
    else {
      const raw = latin1(b, s, e);
      const v = (this.#converters[i] as Converter)(raw);
      if (v === undefined) return REFUSED;
      n = typeof v === 'number' ? v : Number.NaN;
      this.#lastText[i] = raw;
      this.#lastValue[i] = n;
    }
    if (Number.isNaN(n)) return ABSENT;
    if (n === Number.NEGATIVE_INFINITY) return REFUSED; // as before: the mark of a refused text
    this.value = n;
    return FOUND;
  }

  /** The first number of a list, scaled, into `value`: FOUND, ABSENT when none, REFUSED when a field is refused. */
  readFirst(b: Uint8Array, list: NumberList): number {
    const fields = list.fields;
    for (let k = 0; k < fields.length; k++) {
      const r = this.read(b, fields[k] as number);
      if (r === REFUSED) return REFUSED;
      if (r === FOUND) {
        this.value /= list.divisors[k] as number;
        return FOUND;
      }
    }
    return ABSENT;
  }

  /** The response size and time of a line (0 when none) into `out`; false when a field is refused. */
  measures(b: Uint8Array, sizes: NumberList, times: NumberList, out: ByteParts): boolean {
    const size = this.readFirst(b, sizes);
    if (size === REFUSED) return false;
    out.bytes = size === FOUND ? this.value : 0;
    const time = this.readFirst(b, times);
    if (time === REFUSED) return false;
    out.time = time === FOUND ? this.value : 0;
    return true;
  }

  /** Where field i starts, or `none` when i is NONE. */
  start(i: number, none: number): number {
    return i === NONE ? none : (this.at[2 * i] as number);
  }

  /** Where field i ends, or `none` when i is NONE. */
  end(i: number, none: number): number {
    return i === NONE ? none : (this.at[2 * i + 1] as number);
  }
}

/**
 * The byte extractor of a format, or undefined when it has none (JSON dictionaries, text formats
 * without a layout that splits as their parser does, formats whose key parts come from fields
 * the byte path cannot read exactly): such lines parse their text. nginx formats with
 * `$request_uri` and `$request_method`, or `$request`, have one; uWSGI and Envoy text formats
 * with a status and a client address (see {@link recordByteExtractor}).
 */
export function makeByteExtractor(format: CompiledFormat, website = ''): ByteExtractor | undefined {
  const layout = format.layout;
  if (layout === undefined) return undefined;
  if (format.dialect !== 'nginx') return recordByteExtractor(format.dialect, layout, website);
  const fields = layout.fields;
  const index = new Map<string, number>();
  fields.forEach((f, i) => {
    index.set(f.name, i);
  });
  /** The indices of the named fields present, each of the given kind (undefined: one is of another kind). */
  const present = (names: readonly string[], kind: ScanField['bytes'] | 'any'): number[] | undefined => {
    const out: number[] = [];
    for (const name of names) {
      const i = index.get(name);
      if (i === undefined) continue;
      if (kind !== 'any' && fields[i]?.bytes !== kind) return undefined;
      out.push(i);
    }
    return out;
  };
  const websites = present(['host', 'http_host', 'server_name'], 'text');
  const addrs = present(['remote_addr', 'realip_remote_addr'], 'text');
  const statuses = present(['status', 'upstream_last_status', 'upstream_log_status'], 'uint');
  const sizes = present(['body_bytes_sent', 'bytes_sent'], 'uint');
  const times = present(
    ['request_time', 'upstream_last_response_time', 'upstream_log_response_time'],
    'decimal',
  );
  const upstreamList = present(['upstream_addr'], 'any');
  const upstreams = present(['upstream_last_addr', 'upstream_log_addr'], 'text');
  const uriField = index.get('request_uri');
  const methodField = index.get('request_method');
  const requestField = index.get('request');
  const msec = present(['msec'], 'decimal');
  const clocks = present(['time_local', 'time_iso8601'], 'any');
  if (
    websites === undefined ||
    addrs === undefined ||
    statuses === undefined ||
    sizes === undefined ||
    times === undefined ||
    upstreamList === undefined ||
    upstreams === undefined ||
    msec === undefined ||
    clocks === undefined ||
    addrs.length === 0 ||
    statuses.length === 0
  )
    return undefined;
  const textField = (i: number | undefined) => i !== undefined && fields[i]?.bytes === 'text';
  // Where uri and method come from: `$request_uri` and `$request_method`, or the request line,
  // or (an upstream log) the first of `$uri`, `$upstream_uri` and `$upstream_method`.
  const direct = textField(uriField) && textField(methodField);
  const fromRequest =
    !direct && textField(requestField) && uriField === undefined && methodField === undefined;
  const upstreamUris = present(['uri', 'upstream_uri'], 'text');
  const upstreamMethods = present(['upstream_method'], 'text');
  if (
    !direct &&
    !fromRequest &&
    (uriField !== undefined ||
      methodField !== undefined ||
      requestField !== undefined ||
      upstreamUris === undefined ||
      upstreamMethods === undefined)
  )
    return undefined;
  const others =
    direct || fromRequest
      ? { uris: [], methods: [] }
      : { uris: upstreamUris ?? [], methods: upstreamMethods ?? [] };
  // Fields the projection need not check: texts (never invalid), `$upstream_addr` (a list of
  // texts, never invalid), the clocks (each converted below, every line) and the first field of
  // each list of numbers (read below on every line: readFirst reads it first); the other
  // numbers are checked by the projection, so none is read twice.
  const consumed = new Set<number>([
    ...websites,
    ...addrs,
    ...upstreamList,
    ...upstreams,
    ...clocks,
    ...[statuses, sizes, times, msec].flatMap((list) => list.slice(0, 1)),
    ...(direct ? [uriField as number, methodField as number] : fromRequest ? [requestField as number] : []),
    ...others.uris,
    ...others.methods,
  ]);
  const project = compileProjection(layout, consumed);
  if (project === undefined) return undefined;
  const r = new FieldReader(layout);
  const at = r.at;
  const one = (list: readonly number[]): NumberList => numberList(list.map((i) => [i, 1] as const));
  const [statusList, sizeList, timeList, msecList] = [one(statuses), one(sizes), one(times), one(msec)];

  return (b, start, end, out) => {
    if (!project(b, start, end, at)) return false;
    // Website: the first host that is not null, else the fallback.
    let i = r.firstText(b, websites);
    if (i === INVALID) return false;
    out.fallbackWebsite = website;
    out.website = r.start(i, -1);
    out.websiteEnd = r.end(i, -1);
    i = r.firstText(b, addrs);
    if (i < 0) return false; // no address, or escaped: the text path decides and reports
    out.addr = r.start(i, -1);
    out.addrEnd = r.end(i, -1);
    if (r.readFirst(b, statusList) !== FOUND || !(r.value >= 0)) return false;
    out.status = r.value;
    if (direct) {
      const u = r.text(b, uriField as number);
      const m = r.text(b, methodField as number);
      if (u < 0 || m < 0) return false;
      out.uri = r.start(uriField as number, start);
      out.uriEnd = r.end(uriField as number, start);
      out.method = r.start(methodField as number, start);
      out.methodEnd = r.end(methodField as number, start);
    } else if (!fromRequest) {
      // The first text that is not null, else empty (no field: an empty text at the line's start).
      i = r.firstText(b, others.uris);
      if (i === INVALID) return false;
      out.uri = r.start(i, start);
      out.uriEnd = r.end(i, start);
      i = r.firstText(b, others.methods);
      if (i === INVALID) return false;
      out.method = r.start(i, start);
      out.methodEnd = r.end(i, start);
    } else {
      // `$request`: METHOD SP URI [SP HTTP/x] (as splitRequestLine).
      const q = requestField as number;
      const s = r.text(b, q);
      if (s < 0) return false;
      const e = at[2 * q + 1] as number;
      let sp = s;
      while (sp < e && b[sp] !== 0x20) sp++;
      if (sp === s || sp === e) return false;
      let last = e - 1;
      while (b[last] !== 0x20) last--;
      out.method = s;
      out.methodEnd = sp;
      out.uri = sp + 1;
      out.uriEnd = last > sp && e - last > 5 && bytesEqual(b, last + 1, last + 6, 'HTTP/') ? last : e;
    }
    out.upstream = -1;
    for (const u of upstreamList) {
      // `$upstream_addr`: the last address of the last group (`a, b : c`); null texts and `-` skip.
      const s = r.text(b, u);
      if (s === INVALID) return false;
      const e = at[2 * u + 1] as number;
      if (s === NONE || e === s || (e - s === 1 && b[s] === 0x2d)) continue;
      const from = lastListElement(b, s, e);
      if (e - from === 1 && b[from] === 0x2d) continue;
      out.upstream = from;
      out.upstreamEnd = e;
      break;
    }
    if (out.upstream < 0) {
      i = r.firstText(b, upstreams);
      if (i === INVALID) return false;
      out.upstream = r.start(i, -1);
      out.upstreamEnd = r.end(i, -1);
    }
    const clock = r.readFirst(b, msecList);
    if (clock === REFUSED) return false;
    let t = clock === FOUND ? r.value : Number.NaN;
    if (!r.measures(b, sizeList, timeList, out)) return false;
    // Every clock is converted (the text parser refuses the line if one is invalid); the first
    // that is a time counts when `$msec` is absent or null.
    for (let k = 0; k < clocks.length; k++) {
      const c = r.read(b, clocks[k] as number);
      if (c === REFUSED) return false;
      if (Number.isNaN(t) && c === FOUND) t = r.value;
    }
    out.at = t;
    return true;
  };
}

/**
 * Where the key parts of a uWSGI or Envoy line come from, as the canonical record mapping takes
 * them (field indices, the record's field for each name): each list in order of preference, the
 * first field that has a value wins (nulls are skipped).
 */
interface RecordPlan {
  readonly websites: readonly number[];
  /** Client addresses: a field, and whether its text may end in a port (`1.2.3.4:80`, `[::1]:80`). */
  readonly addrs: readonly (readonly [field: number, port: boolean])[];
  /** When no address: the first entry of an X-Forwarded-For text (Envoy's default format). */
  readonly xffs: readonly number[];
  readonly methods: readonly number[];
  readonly uris: readonly number[];
  readonly upstreams: readonly number[];
  readonly status: number | undefined;
  readonly sizes: readonly Scaled[];
  readonly times: readonly Scaled[];
  readonly clocks: readonly Scaled[];
}

/** The plan of uwsgiToRecord (../format/record/uwsgi.ts). */
function uwsgiPlan(index: ReadonlyMap<string, number>): RecordPlan {
  const list = (...names: string[]) => names.flatMap((n) => (index.has(n) ? [index.get(n) as number] : []));
  const scaled = (...pairs: [string, number][]): Scaled[] =>
    pairs.flatMap(([n, d]) => (index.has(n) ? [[index.get(n) as number, d] as const] : []));
  return {
    websites: list('host', 'var.HTTP_HOST'),
    addrs: list('addr', 'var.REMOTE_ADDR').map((i) => [i, false] as const),
    xffs: [],
    methods: list('method', 'var.REQUEST_METHOD'),
    uris: list('uri', 'var.REQUEST_URI'),
    upstreams: [],
    status: index.get('status'),
    sizes: scaled(['rsize', 1], ['size', 1]),
    times: scaled(['micros', 1e6], ['msecs', 1000], ['secs', 1]),
    // `time` (epoch) is the record's time, the others its start time: time ?? startTime.
    clocks: scaled(
      ['epoch', 1],
      ['tmicros', 1e6],
      ['tmsecs', 1000],
      ['time', 1],
      ['ltime', 1],
      ['ctime', 1],
      ['ftime', 1],
    ),
  };
}

/** The plan of envoyToRecord (../format/record/envoy.ts). */
function envoyPlan(index: ReadonlyMap<string, number>): RecordPlan {
  const one = (name: string) => (index.has(name) ? [index.get(name) as number] : []);
  // Request headers: each field that has a value overwrites the last, in the record's order.
  const hosts: number[] = [];
  const methods: number[] = [];
  const uris: number[] = [];
  const xffs: number[] = [];
  for (const [name, i] of index) {
    const req = envoyRequestField(name);
    if (req?.role === 'host') hosts.unshift(i);
    else if (req?.role === 'method') methods.unshift(i);
    else if (req?.role === 'uri') uris.unshift(i);
    if (req?.header === 'x-forwarded-for') xffs.unshift(i);
  }
  return {
    websites: hosts,
    addrs: [
      ...one('DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT').map((i) => [i, false] as const),
      ...one('DOWNSTREAM_REMOTE_ADDRESS').map((i) => [i, true] as const),
    ],
    xffs,
    methods,
    uris,
    upstreams: one('UPSTREAM_HOST'),
    status: index.get('RESPONSE_CODE'),
    sizes: one('BYTES_SENT').map((i) => [i, 1] as const),
    times: one('DURATION').map((i) => [i, 1000] as const),
    clocks: one('START_TIME').map((i) => [i, 1] as const),
  };
}

/**
 * The byte extractor of a uWSGI or Envoy text format: the layout's projection (the parser's
 * first-occurrence split; uWSGI's matcher and search, and Envoy's strictness levels, agree with
 * it on every line it takes, see the layouts), then the key parts the canonical record gives
 * (toRecord, then makeExtractor): texts by their bounds, C integers read in place, other values
 * (times) by the field's converter, a repeated text not converted again. Undefined when a key
 * part's field is of a kind the byte path cannot read exactly (then every line parses its text).
 */
function recordByteExtractor(
  dialect: Dialect,
  layout: ScanLayout,
  website: string,
): ByteExtractor | undefined {
  const fields = layout.fields;
  const index = new Map<string, number>(layout.record ?? fields.map((f, i) => [f.name, i] as const));
  const plan = dialect === 'uwsgi' ? uwsgiPlan(index) : envoyPlan(index);
  const kinds = fields.map((f) => f.bytes);
  const r = new FieldReader(layout);
  const isText = (i: number) => r.isText(i);
  const texts = [
    ...plan.websites,
    ...plan.addrs.map(([i]) => i),
    ...plan.xffs,
    ...plan.methods,
    ...plan.uris,
    ...plan.upstreams,
  ];
  const numbers = [...plan.sizes, ...plan.times, ...plan.clocks].map(([i]) => i);
  const status = plan.status;
  if (
    status === undefined ||
    kinds[status] !== 'cuint' ||
    (plan.addrs.length === 0 && plan.xffs.length === 0) ||
    !texts.every(isText) ||
    // Numbers: C integers, or values only the converter knows (texts are read as not numbers).
    !numbers.every((i) => kinds[i] === 'cuint' || kinds[i] === undefined || isText(i)) ||
    layout.escape !== undefined
  )
    return undefined;
  // The fields read on every line (the first of each list) are checked here, not by the projection.
  const consumed = new Set<number>(
    [
      plan.websites[0],
      plan.addrs[0]?.[0],
      plan.methods[0],
      plan.uris[0],
      plan.upstreams[0],
      status,
      plan.sizes[0]?.[0],
      plan.times[0]?.[0],
      plan.clocks[0]?.[0],
    ].filter((i) => i !== undefined),
  );
  const project = compileProjection(layout, consumed);
  if (project === undefined) return undefined;
  const at = r.at;
  const { websites, addrs, xffs, methods, uris, upstreams } = plan;
  const [sizes, times, clocks] = [numberList(plan.sizes), numberList(plan.times), numberList(plan.clocks)];

  return (b, start, end, out) => {
    if (!project(b, start, end, at)) return false;
    // Null or invalid: the text path reports it.
    if (r.read(b, status) !== FOUND || !(r.value >= 0)) return false;
    out.status = r.value;
    let i = r.firstText(b, websites);
    if (i === INVALID) return false;
    out.fallbackWebsite = website;
    out.website = r.start(i, -1);
    out.websiteEnd = r.end(i, -1);
    // The client address: the first address field with a value (`addr` of `addr:port`), else the
    // first entry of X-Forwarded-For (trimmed), else none (the text path reports the line).
    let found = false;
    for (let k = 0; k < addrs.length && !found; k++) {
      const [f, port] = addrs[k] as readonly [number, boolean];
      const s = r.text(b, f);
      if (s === INVALID) return false;
      if (s === NONE) continue;
      const e = at[2 * f + 1] as number;
      out.addr = s;
      out.addrEnd = port ? addressEnd(b, s, e, out) : e;
      found = true;
    }
    if (!found) {
      i = r.firstText(b, xffs);
      if (i === INVALID) return false;
      if (i === NONE) return false;
      let s = at[2 * i] as number;
      let e = s;
      const to = at[2 * i + 1] as number;
      if (s === to) return false; // an empty header is no address
      while (e < to && b[e] !== 0x2c) e++;
      while (s < e && isSpace(b[s] as number)) s++;
      while (e > s && isSpace(b[e - 1] as number)) e--;
      if (e === s) return false;
      out.addr = s;
      out.addrEnd = e;
    }
    i = r.firstText(b, methods);
    if (i === INVALID) return false;
    out.method = r.start(i, start);
    out.methodEnd = r.end(i, start);
    i = r.firstText(b, uris);
    if (i === INVALID) return false;
    out.uri = r.start(i, start);
    out.uriEnd = r.end(i, start);
    i = r.firstText(b, upstreams);
    if (i === INVALID) return false;
    out.upstream = r.start(i, -1);
    out.upstreamEnd = r.end(i, -1);
    const clock = r.readFirst(b, clocks);
    if (clock === REFUSED) return false;
    const t = clock === FOUND ? r.value : Number.NaN;
    if (!r.measures(b, sizes, times, out)) return false;
    out.at = t;
    return true;
  };
}

/** What String.prototype.trim removes from an ASCII text: tab, LF, VT, FF, CR, space. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * The end of the address in `b[s, e)` as the record's splitAddress finds it: `[A]:PORT` → `A`
 * (moving the start past `[`: `out.addr`), `A:PORT` → `A` (A without `:`), else the whole text.
 * PORT is one or more digits; the bracketed address holds no CR or LF (`.` in /^\[(.*)\]:(\d+)$/).
 */
function addressEnd(b: Uint8Array, s: number, e: number, out: ByteParts): number {
  let d = e;
  while (d > s && (b[d - 1] as number) >= 0x30 && (b[d - 1] as number) <= 0x39) d--;
  if (d === e || d - s < 1 || b[d - 1] !== 0x3a) return e; // no `:PORT` at the end
  const colon = d - 1;
  if (b[s] === 0x5b && colon - s >= 2 && b[colon - 1] === 0x5d) {
    let ok = true;
    for (let k = s + 1; k < colon - 1 && ok; k++) ok = b[k] !== 0x0a && b[k] !== 0x0d;
    if (ok) {
      out.addr = s + 1;
      return colon - 1;
    }
  }
  // `^([^:]*):(\d+)$`: the first `:` is the one before the port.
  for (let k = s; k < colon; k++) if (b[k] === 0x3a) return e;
  return colon;
}
