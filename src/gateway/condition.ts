/**
 * `if (…)` conditions, read as `ngx_http_rewrite_if_condition` does: a variable alone (true
 * unless "" or "0"), `=`/`!=` against a string, `~`/`~*`/`!~`/`!~*` against a regular
 * expression, and `-f`/`-d`/`-e`/`-x` with `!` on a path.
 * @module
 */
import { statSync } from 'node:fs';
import { directiveError } from '../format/nginx-conf/checks.ts';
import type { Directive } from '../format/nginx-conf/parse.ts';
import { compileTemplate, type Template } from '../writer/template.ts';

export type VariableSource = (name: string) => string;

export type Condition = (vars: VariableSource) => boolean;

function template(d: Directive, s: string): Template {
  try {
    return compileTemplate(s);
  } catch (e) {
    throw directiveError(d, (e as Error).message);
  }
}

const text = (t: Template, vars: VariableSource) => t((name) => vars(name));

/** Compiles the arguments of an `if` directive. */
export function parseCondition(d: Directive): Condition {
  const args = [...d.args];
  if (args.length === 0 || !(args[0] as string).startsWith('('))
    throw directiveError(d, `invalid condition "${args.join(' ')}"`);
  args[0] = (args[0] as string).slice(1);
  if (args[0] === '') args.shift();
  const last = args[args.length - 1];
  if (last === undefined || !last.endsWith(')'))
    throw directiveError(d, `invalid condition "${d.args.join(' ')}"`);
  args[args.length - 1] = last.slice(0, -1);
  if (args[args.length - 1] === '') args.pop();
  if (args.length === 0) throw directiveError(d, `invalid condition "${d.args.join(' ')}"`);

  const first = args[0] as string;
  if (args.length === 2 && /^!?-[fdex]$/.test(first)) {
    const negate = first.startsWith('!');
    const op = first.slice(negate ? 2 : 1);
    const path = template(d, args[1] as string);
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
  if (!first.startsWith('$')) throw directiveError(d, `invalid condition "${first}"`);
  const left = template(d, first);
  if (args.length === 1) {
    return (vars) => {
      const v = text(left, vars);
      return v !== '' && v !== '0';
    };
  }
  if (args.length !== 3) throw directiveError(d, `invalid condition "${d.args.join(' ')}"`);
  const op = args[1] as string;
  const right = args[2] as string;
  if (op === '=' || op === '!=') {
    const r = template(d, right);
    const eq = op === '=';
    return (vars) => (text(left, vars) === text(r, vars)) === eq;
  }
  if (op === '~' || op === '~*' || op === '!~' || op === '!~*') {
    let re: RegExp;
    try {
      re = new RegExp(right, op.endsWith('*') ? 'i' : '');
    } catch (e) {
      throw directiveError(d, `pcre_compile() failed: ${(e as Error).message} in "${right}"`);
    }
    const want = !op.startsWith('!');
    return (vars) => re.test(text(left, vars)) === want;
  }
  throw directiveError(d, `unexpected "${op}" in condition`);
}
