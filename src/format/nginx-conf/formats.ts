/**
 * `log_format` and `upstream_log_format` definitions, read as `ngx_http_log_set_format` and
 * `ngx_http_log_compile_format` do: a name, an optional `escape=` as the second argument, then
 * strings that are concatenated. Each string is compiled on its own, so a variable name never
 * runs from one string into the next.
 * @module
 */
import { FormatSyntaxError } from '../errors.ts';
import { tokenizeNginxFormat } from '../nginx/tokenize.ts';
import { checkShape, directiveError } from './checks.ts';
import type { ConfModule, EscapeMode, FormatDirective, NginxLogFormat } from './model.ts';
import type { Directive } from './parse.ts';

/** A definition plus the separate strings it was written as. */
export interface ParsedLogFormat {
  readonly def: NginxLogFormat;
  /** The variable names nginx compiles, in order of appearance, each once (lower case). */
  readonly variables: readonly string[];
  /** Set when joining the strings changes which variables the format reads. */
  readonly joinWarning?: string;
}

const ESCAPES: readonly string[] = ['default', 'json', 'none'];

function variableNames(format: string): string[] {
  const names: string[] = [];
  for (const s of tokenizeNginxFormat(format)) if (s.kind === 'variable') names.push(s.name);
  return names;
}

/**
 * Reads one `log_format` / `upstream_log_format` directive.
 * @throws ConfError ERR_CONF_DIRECTIVE (argument count, `unknown log format escaping "x"`) or
 *   ERR_CONF_SYNTAX (a string nginx cannot compile, with the column in the joined format).
 */
export function parseLogFormat(d: Directive, module: ConfModule): ParsedLogFormat {
  checkShape(d, 2, Number.POSITIVE_INFINITY, false);
  const directive = d.name as FormatDirective;
  const name = d.args[0] as string;
  let escape: EscapeMode = 'default';
  let first = 1;
  const second = d.args[1] as string;
  if (second.startsWith('escape=')) {
    const mode = second.slice(7);
    if (!ESCAPES.includes(mode)) throw directiveError(d, `unknown log format escaping "${mode}"`);
    escape = mode as EscapeMode;
    first = 2;
  }
  const parts = d.args.slice(first);
  const format = parts.join('');

  const compiled: string[] = [];
  let offset = 0;
  for (const part of parts) {
    try {
      compiled.push(...variableNames(part));
    } catch (e) {
      if (!(e instanceof FormatSyntaxError)) throw e;
      const reason = e.message.replace(/ at column \d+$/, '');
      throw directiveError(
        d,
        `invalid ${directive} "${name}": ${reason} at column ${offset + e.column}`,
        'ERR_CONF_SYNTAX',
      );
    }
    offset += part.length;
  }

  let joinWarning: string | undefined;
  const joined = variableNames(format);
  if (joined.join(' ') !== compiled.join(' ')) {
    const show = (names: string[]): string => names.map((n) => `$${n}`).join(' ');
    joinWarning =
      `the strings of ${directive} "${name}" split a variable name: nginx reads ${show(compiled)}, ` +
      `the joined format reads ${show(joined)}`;
  }

  const def: NginxLogFormat = { directive, module, name, escape, format, file: d.file, line: d.line };
  return { def, variables: [...new Set(compiled)], ...(joinWarning ? { joinWarning } : {}) };
}
