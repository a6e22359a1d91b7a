/**
 * Splits a uWSGI `logformat` string into literal text and logvars exactly as uWSGI 2.0's
 * `uwsgi_build_log_format` (core/logging.c) does. uWSGI never rejects a format; its state machine
 * has quirks that show in the log, and this tokenizer reproduces them (each one seen with uWSGI
 * 2.0.21):
 *
 * - `%(name)` is a logvar; the name runs to the first `)` and may contain anything else
 *   (`%(a(b)` is the logvar `a(b`).
 * - There is no escape: `%%` and a lone `%` are literal text (`a %% b` → `a %% b`), and so is
 *   `%` before a logvar (`%%(uri)` → `%` then `%(uri)`).
 * - A name starts at the first character after `%(` that is not `%`, `(` or `)`, and the literal
 *   before it loses exactly two characters: `x%((uri)` writes `x%` then the URI.
 * - `%()` is not a logvar; the next character starts one anyway: `a%()b)c` → `a%`, `%(b)`, `c`.
 * - `%(` inside a name restarts the name and keeps the text before it: `%(a%(uri)` → `%(a` + URI.
 * - An unterminated `%(name` makes uWSGI write the text before it twice:
 *   `abc %(uri` → `abc abc %(uri`.
 * @see ../../../../shared/reference/002_ffba9bc8812e0339.txt
 * @module
 */

/** One piece of a format: literal text, or a logvar (`%(name)`); `column` is 1-based. */
export type UwsgiSegment =
  | { readonly kind: 'literal'; readonly text: string; readonly column: number }
  | { readonly kind: 'variable'; readonly name: string; readonly column: number };

/**
 * Tokenizes a logformat. Never fails (uWSGI accepts any string). Adjacent literal pieces are
 * merged; empty literals are dropped.
 * @example tokenizeUwsgiFormat('%(addr) [%(ltime)]')
 */
export function tokenizeUwsgiFormat(format: string): UwsgiSegment[] {
  // A transliteration of uwsgi_build_log_format's state machine. `chunks` receives what
  // uwsgi_add_logchunk would: literals (start, length) and logvars (start, length).
  const chunks: { variable: boolean; start: number; len: number; column: number }[] = [];
  let state = 0;
  let current = 0;
  let logvar = -1;
  const n = format.length;
  for (let ptr = 0; ptr < n; ptr++) {
    const c = format.charCodeAt(ptr);
    if (c === 0x25 /* % */) {
      if (state === 0) state = 1;
    } else if (c === 0x28 /* ( */) {
      if (state === 1) state = 2;
    } else if (c === 0x29 /* ) */) {
      if (logvar !== -1) {
        chunks.push({ variable: true, start: logvar, len: ptr - logvar, column: logvar - 1 });
        state = 0;
        logvar = -1;
        current = ptr + 1;
      }
    } else {
      if (state === 2) {
        chunks.push({ variable: false, start: current, len: ptr - current - 2, column: current + 1 });
        logvar = ptr;
      }
      state = 0;
    }
  }
  if (n - current > 0)
    chunks.push({ variable: false, start: current, len: n - current, column: current + 1 });

  const out: UwsgiSegment[] = [];
  for (const ch of chunks) {
    if (ch.variable) {
      out.push({ kind: 'variable', name: format.slice(ch.start, ch.start + ch.len), column: ch.column });
      continue;
    }
    if (ch.len <= 0) continue;
    const text = format.slice(ch.start, ch.start + ch.len);
    const last = out.at(-1);
    if (last?.kind === 'literal') {
      out[out.length - 1] = { kind: 'literal', text: last.text + text, column: last.column };
    } else {
      out.push({ kind: 'literal', text, column: ch.column });
    }
  }
  return out;
}
