/**
 * Strings with nginx variables (`/logs/$host.log`, `if=$loggable$debug`), evaluated against the
 * variables of one record. Values are substituted raw (not escaped), as nginx's scripts do.
 * @module
 */
import { tokenizeNginxFormat } from '../format/nginx/tokenize.ts';
import type { RenderSource, RenderValue } from '../format/types.ts';

export type Template = (vars: RenderSource) => string;

/** A variable value as text: strings as they are, numbers and booleans as `String()`, dates ISO, absent as ''. */
export function valueText(v: RenderValue): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => valueText(x as RenderValue)).join(', ');
  return '';
}

/** The variable names a template string uses. */
export function templateVariables(s: string): string[] {
  return tokenizeNginxFormat(s).flatMap((seg) => (seg.kind === 'variable' ? [seg.name] : []));
}

/**
 * Compiles a string with variables; `check` may reject a substituted value (returns the reason).
 * @throws FormatSyntaxError for a malformed variable (`${`, `$` followed by nothing).
 */
export function compileTemplate(s: string): Template {
  const segs = tokenizeNginxFormat(s);
  if (segs.every((x) => x.kind === 'literal')) return () => s;
  return (vars) => {
    let out = '';
    for (const seg of segs) {
      if (seg.kind === 'literal') out += seg.text;
      else out += valueText(typeof vars === 'function' ? vars(seg.name) : vars[seg.name]);
    }
    return out;
  };
}
