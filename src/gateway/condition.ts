/**
 * `if (…)` conditions, read as `ngx_http_rewrite_if_condition` does: a variable alone (true
 * unless "" or "0"), `=`/`!=` against a string, `~`/`~*`/`!~`/`!~*` against a regular
 * expression, and `-f`/`-d`/`-e`/`-x` with `!` on a path — with nginx's messages for the rest.
 * @module
 */
import { statSync } from 'node:fs';
import { checkShape, directiveError } from '../format/nginx-conf/checks.ts';
import type { Directive } from '../format/nginx-conf/parse.ts';
import { compileTemplate, type Template, valueText } from '../writer/template.ts';

export type VariableSource = (name: string) => string;

export type Condition = (vars: VariableSource) => boolean;

/** A condition taken apart: a variable (maybe compared), or a file test. */
type Parts =
  | { readonly kind: 'variable'; readonly name: string; readonly op?: string; readonly operand?: string }
  | { readonly kind: 'file'; readonly op: string; readonly path: string };

const COMPARE = new Set(['=', '!=']);
const MATCH = new Set(['~', '~*', '!~', '!~*']);

/**
 * Splits an `if`'s arguments exactly as `ngx_http_rewrite_if_condition` does (the parentheses may
 * stand alone or stick to the first and last words), with its messages:
 * `invalid condition "x"` naming the word it stopped at, `unexpected "x" in condition`.
 */
function partsOf(d: Directive): Parts {
  checkShape(d, 1, Number.POSITIVE_INFINITY, true);
  const value = ['if', ...d.args];
  let last = value.length - 1;
  const first = value[1] as string;
  if (!first.startsWith('(')) throw directiveError(d, `invalid condition "${first}"`);
  let cur = 1;
  if (first.length === 1) cur = 2;
  else value[1] = first.slice(1);
  const end = value[last] as string;
  if (!end.endsWith(')')) throw directiveError(d, `invalid condition "${end}"`);
  if (end.length === 1) last--;
  else value[last] = end.slice(0, -1);

  const word = value[cur] ?? '';
  const invalid = () => directiveError(d, `invalid condition "${word}"`);
  if (word.length > 1 && word.startsWith('$')) {
    if (cur !== last && cur + 2 !== last) throw invalid();
    const name = word.slice(1);
    if (cur === last) return { kind: 'variable', name };
    const op = value[cur + 1] as string;
    if (!COMPARE.has(op) && !MATCH.has(op)) throw directiveError(d, `unexpected "${op}" in condition`);
    return { kind: 'variable', name, op, operand: value[cur + 2] as string };
  }
  if (/^!?-.$/.test(word)) {
    if (cur + 1 !== last) throw invalid();
    if (!/^!?-[fdex]$/.test(word)) throw invalid();
    return { kind: 'file', op: word, path: value[last] as string };
  }
  throw invalid();
}

function template(d: Directive, s: string): Template {
  try {
    return compileTemplate(s);
  } catch (e) {
    throw directiveError(d, (e as Error).message);
  }
}

const text = (t: Template, vars: VariableSource) => t((name) => vars(name));

/**
 * Variable names in a complex value as `ngx_http_script_compile` finds them: `$name` or
 * `${name}` (letters, digits, `_`); `$1`…`$9` are regex captures and not listed.
 */
export function variablesIn(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '$') continue;
    const c = s[i + 1] ?? '';
    if (c >= '1' && c <= '9') {
      i++;
      continue;
    }
    let name: string;
    if (c === '{') {
      const close = s.indexOf('}', i + 2);
      if (close === -1) break;
      name = s.slice(i + 2, close);
      i = close;
    } else {
      let k = i + 1;
      while (k < s.length && /[A-Za-z0-9_]/.test(s[k] as string)) k++;
      name = s.slice(i + 1, k);
      i = k - 1;
    }
    if (name !== '') out.push(name);
  }
  return out;
}

/** The variables an `if` refers to: the one tested, and those in a string or path operand. */
export function conditionVariables(d: Directive): string[] {
  const p = partsOf(d);
  if (p.kind === 'file') return variablesIn(p.path);
  return [p.name, ...(p.op !== undefined && COMPARE.has(p.op) ? variablesIn(p.operand ?? '') : [])];
}

/** Compiles the arguments of an `if` directive. */
export function parseCondition(d: Directive): Condition {
  const p = partsOf(d);
  if (p.kind === 'file') {
    const negate = p.op.startsWith('!');
    const op = p.op.slice(-1);
    const path = template(d, p.path);
    return (vars) => {
      let ok: boolean;
      try {
        const st = statSync(text(path, vars));
        ok =
          op === 'f'
            ? st.isFile()
            : op === 'd'
              ? st.isDirectory()
              : op === 'x'
                ? (st.mode & 0o111) !== 0
                : true;
      } catch {
        ok = false;
      }
      return negate ? !ok : ok;
    };
  }
  // nginx takes the whole word after "$" as the variable's name.
  const name = p.name.toLowerCase();
  const left: Template = (vars) => valueText(typeof vars === 'function' ? vars(name) : vars[name]);
  if (p.op === undefined) {
    return (vars) => {
      const v = text(left, vars);
      return v !== '' && v !== '0';
    };
  }
  const right = p.operand as string;
  if (COMPARE.has(p.op)) {
    const r = template(d, right);
    const eq = p.op === '=';
    return (vars) => (text(left, vars) === text(r, vars)) === eq;
  }
  let re: RegExp;
  try {
    re = new RegExp(right, p.op.endsWith('*') ? 'i' : '');
  } catch (e) {
    throw directiveError(d, `pcre_compile() failed: ${(e as Error).message} in "${right}"`);
  }
  const want = !p.op.startsWith('!');
  return (vars) => re.test(text(left, vars)) === want;
}
