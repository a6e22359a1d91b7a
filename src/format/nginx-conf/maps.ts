/**
 * `map $source $variable { … }` blocks, read as `ngx_http_map_block` and `ngx_http_map` do.
 * @see https://nginx.org/en/docs/http/ngx_http_map_module.html
 * @module
 */
import { checkShape, directiveError } from './checks.ts';
import type { ConfModule, NginxMap, NginxMapEntry } from './model.ts';
import type { Directive } from './parse.ts';

/**
 * Reads one `map` block (its `include`s are already spliced in by the parser).
 * @throws ConfError: `invalid variable name "x"`, `invalid number of the map parameters`,
 *   `duplicate default map parameter`, `unexpected "{"`.
 */
export function parseMap(d: Directive, module: ConfModule): NginxMap {
  checkShape(d, 2, 2, true);
  const source = d.args[0] as string;
  const target = d.args[1] as string;
  if (!target.startsWith('$')) throw directiveError(d, `invalid variable name "${target}"`);
  let hostnames = false;
  let volatile = false;
  let defaultValue: string | undefined;
  const entries: NginxMapEntry[] = [];
  for (const e of d.block ?? []) {
    if (e.block) throw directiveError(e, 'unexpected "{"', 'ERR_CONF_SYNTAX');
    if (e.args.length === 0 && e.name === 'hostnames') {
      hostnames = true;
      continue;
    }
    if (e.args.length === 0 && e.name === 'volatile') {
      volatile = true;
      continue;
    }
    if (e.args.length !== 1) throw directiveError(e, 'invalid number of the map parameters');
    const value = e.args[0] as string;
    if (e.name === 'default') {
      if (defaultValue !== undefined) throw directiveError(e, 'duplicate default map parameter');
      defaultValue = value;
      continue;
    }
    let match = e.name;
    if (match.startsWith('~')) {
      const caseInsensitive = match.startsWith('~*');
      entries.push({ match: match.slice(caseInsensitive ? 2 : 1), value, regex: true, caseInsensitive });
      continue;
    }
    if (match.startsWith('\\')) match = match.slice(1);
    entries.push({ match, value, regex: false, caseInsensitive: false });
  }
  return {
    module,
    source,
    variable: target.slice(1),
    ...(defaultValue !== undefined ? { default: defaultValue } : {}),
    hostnames,
    volatile,
    entries,
    file: d.file,
    line: d.line,
  };
}
