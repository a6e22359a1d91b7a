/**
 * Splits an nginx `log_format` string into literal text and variables, exactly as nginx's
 * `ngx_http_log_compile` does: `$name` with name `[A-Za-z0-9_]+`, or `${name}`.
 * @see https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format
 * @module
 */
import { FormatSyntaxError } from '../errors.ts';

export type Segment =
  | { readonly kind: 'literal'; readonly text: string; readonly column: number }
  | { readonly kind: 'variable'; readonly name: string; readonly column: number };

function isNameChar(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f // _
  );
}

/**
 * Tokenizes a format string. Adjacent literal text is merged into one segment.
 * @throws FormatSyntaxError with the 1-based column of the offending `$`.
 * @example tokenizeNginxFormat('$remote_addr - [$time_local]')
 */
export function tokenizeNginxFormat(format: string): Segment[] {
  const out: Segment[] = [];
  let literal = '';
  let literalStart = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const ch = format.charCodeAt(i);
    if (ch !== 0x24 /* $ */) {
      if (literal === '') literalStart = i;
      literal += format[i];
      i++;
      continue;
    }
    const dollar = i;
    i++;
    if (i === n) throw new FormatSyntaxError('invalid variable name: "$" at end of format', dollar + 1);
    let bracket = false;
    if (format.charCodeAt(i) === 0x7b /* { */) {
      bracket = true;
      i++;
      if (i === n) throw new FormatSyntaxError('the closing bracket in "${" variable is missing', dollar + 1);
    }
    const start = i;
    while (i < n && isNameChar(format.charCodeAt(i))) i++;
    // nginx looks variables up case-insensitively (ngx_http_get_variable_index lowercases).
    const name = format.slice(start, i).toLowerCase();
    if (bracket) {
      if (format.charCodeAt(i) !== 0x7d /* } */) {
        throw new FormatSyntaxError(`the closing bracket in "${name}" variable is missing`, dollar + 1);
      }
      i++;
    }
    if (name === '') {
      throw new FormatSyntaxError(`invalid variable name after "$"`, dollar + 1);
    }
    if (literal !== '') {
      out.push({ kind: 'literal', text: literal, column: literalStart + 1 });
      literal = '';
    }
    out.push({ kind: 'variable', name, column: dollar + 1 });
  }
  if (literal !== '') out.push({ kind: 'literal', text: literal, column: literalStart + 1 });
  return out;
}
