/**
 * Variables a configuration defines for itself, so that a `log_format` using them is not
 * reported as using an unknown variable.
 * @module
 */
import type { Directive } from './parse.ts';

/** Named groups of a PCRE pattern: `(?<name>…)`, `(?P<name>…)`, `(?'name'…)`. */
export function namedCaptures(regex: string): string[] {
  const names: string[] = [];
  for (const m of regex.matchAll(/\(\?(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/g)) {
    names.push((m[1] ?? m[2]) as string);
  }
  return names;
}

/** The regular expressions a directive holds, when it is one that may define captures. */
function regexesOf(d: Directive): string[] {
  const [a0, a1] = d.args;
  switch (d.name) {
    case 'location':
      if ((a0 === '~' || a0 === '~*') && a1 !== undefined) return [a1];
      return a0?.startsWith('~') ? [a0.replace(/^~\*?/, '')] : [];
    case 'server_name':
      return d.args.filter((a) => a.startsWith('~')).map((a) => a.slice(1));
    case 'rewrite':
      return a0 !== undefined ? [a0] : [];
    case 'if':
      return d.args.filter((_, i) => /^!?~\*?$/.test(d.args[i - 1] ?? ''));
    default:
      return [];
  }
}

/** The variable a defining directive names (without `$`), if it is one. */
function definedBy(d: Directive): string | undefined {
  let arg: string | undefined;
  switch (d.name) {
    case 'map':
    case 'split_clients':
      arg = d.args[1];
      break;
    case 'set':
    case 'js_set':
    case 'perl_set':
      arg = d.args[0];
      break;
    case 'geo':
      arg = d.args[d.args.length - 1];
      break;
  }
  return arg?.startsWith('$') ? arg.slice(1) : undefined;
}

const DATA_BLOCKS = new Set(['geo', 'split_clients', 'types', 'charset_map']);

/**
 * Every variable name defined by `map`, `set`, `geo`, `split_clients`, `js_set`, `perl_set`,
 * and by named captures in `map` keys, `location`, `server_name`, `rewrite` and `if` regexes.
 * Names are returned as written, each once, in order of first definition.
 */
export function definedVariables(root: readonly Directive[]): string[] {
  const found = new Map<string, string>();
  const add = (name: string): void => {
    const key = name.toLowerCase();
    if (!found.has(key)) found.set(key, name);
  };
  const walk = (list: readonly Directive[]): void => {
    for (const d of list) {
      const name = definedBy(d);
      if (name !== undefined) add(name);
      for (const re of regexesOf(d)) for (const c of namedCaptures(re)) add(c);
      if (!d.block || DATA_BLOCKS.has(d.name)) continue;
      if (d.name === 'map') {
        for (const e of d.block) if (e.name.startsWith('~')) for (const c of namedCaptures(e.name)) add(c);
        continue;
      }
      walk(d.block);
    }
  };
  walk(root);
  return [...found.values()];
}
