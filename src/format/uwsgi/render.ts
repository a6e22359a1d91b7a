/**
 * Compiles the renderer half of a uWSGI format: record → line, byte for byte as uWSGI writes it.
 * uWSGI escapes nothing: strings are copied raw. In a logformat, a logvar whose value is missing
 * or empty is written `-` (`uwsgi_logit_lf`); in the built-in request line it is written as
 * nothing (`uwsgi_logit_simple`).
 * @module
 */
import type { UwsgiLogvarType } from './logvars.ts';
import { compileStrftime, ctimeFormatter, formatCFloat, timeLocalFormatter, type UtcOffset } from './time.ts';
import type { RenderSource, RenderValue } from './types.ts';

type ValueWriter = (v: RenderValue) => string;

/** What each compiled format needs to render its logvars. */
export interface RenderContext {
  readonly tz: UtcOffset;
  /** strftime format of `ftime` (`--logdate` with `--logformat-strftime`), if any. */
  readonly logdate: string | undefined;
  /** The built-in request line: empty and missing values are written as nothing. */
  readonly builtin: boolean;
}

/** uWSGI's `ftime` buffer is 64 bytes: a longer strftime result is "empty", written `-`. */
const FTIME_MAX = 63;

function ftimeFormatter(ctx: RenderContext): (sec: number) => string {
  if (ctx.logdate === undefined) return timeLocalFormatter(ctx.tz);
  const f = compileStrftime(ctx.logdate, ctx.tz).format;
  return (sec) => {
    const t = f(sec);
    return t.length > FTIME_MAX || Buffer.byteLength(t) > FTIME_MAX ? '' : t;
  };
}

function integer(n: number): string {
  return String(Math.trunc(n));
}

/** The writer for one logvar type. */
export function writerFor(type: UwsgiLogvarType, ctx: RenderContext): ValueWriter {
  const missing = ctx.builtin ? '' : '-';
  let fromNumber: (n: number) => string;
  let fromDate: ((d: Date) => string) | undefined;
  switch (type) {
    case 'int':
    case 'signed':
      fromNumber = integer;
      break;
    case 'seconds':
      fromNumber = formatCFloat;
      break;
    case 'epoch':
      fromNumber = (n) => String(Math.floor(n));
      fromDate = (d) => String(Math.floor(d.getTime() / 1000));
      break;
    case 'epoch_ms':
      fromNumber = (n) => String(Math.floor(n));
      fromDate = (d) => String(d.getTime());
      break;
    case 'epoch_us':
      fromNumber = (n) => String(Math.floor(n));
      fromDate = (d) => String(d.getTime() * 1000);
      break;
    case 'ltime':
      fromNumber = timeLocalFormatter(ctx.tz);
      break;
    case 'ctime':
      fromNumber = ctimeFormatter(ctx.tz);
      break;
    case 'ftime':
      fromNumber = ftimeFormatter(ctx);
      break;
    case 'via':
      // ` ` when the response was written normally, else ` via sendfile() ` and the like.
      return (v) => (v === undefined || v === null || v === '' ? ' ' : ` via ${String(v)}() `);
    default:
      fromNumber = String;
  }
  const isTime = type === 'ltime' || type === 'ctime' || type === 'ftime';
  if (fromDate === undefined) {
    const f = fromNumber;
    fromDate = isTime ? (d) => f(d.getTime() / 1000) : (d) => d.toISOString();
  }
  const date = fromDate;
  return (v) => {
    if (v === undefined || v === null) return missing;
    if (typeof v === 'string') return v === '' ? missing : v;
    if (typeof v === 'number') {
      const t = fromNumber(v);
      return t === '' ? missing : t;
    }
    if (v instanceof Date) {
      const t = date(v);
      return t === '' ? missing : t;
    }
    if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    return missing; // objects, lists and inherited properties such as `constructor` are not values
  };
}

/** Builds `render(vars)` from the logvars of a format and the literal text around them. */
export function compileRenderer(
  prefix: string,
  names: readonly string[],
  types: readonly UwsgiLogvarType[],
  /** The literal text after each logvar. */
  texts: readonly string[],
  ctx: RenderContext,
): (vars: RenderSource) => string {
  const n = names.length;
  const writers = types.map((t) => writerFor(t, ctx));
  return (vars) => {
    let out = prefix;
    if (typeof vars === 'function') {
      for (let i = 0; i < n; i++) out += (writers[i] as ValueWriter)(vars(names[i] as string)) + texts[i];
    } else {
      for (let i = 0; i < n; i++) out += (writers[i] as ValueWriter)(vars[names[i] as string]) + texts[i];
    }
    return out;
  };
}
