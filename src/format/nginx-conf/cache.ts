/**
 * `open_log_file_cache` and `upstream_open_log_file_cache`, checked as
 * `ngx_http_log_open_file_cache` does. Times there have one-second resolution.
 * @module
 */
import { checkShape, directiveError } from './checks.ts';
import type { CacheDirective, ConfContext, ConfModule, NginxOpenLogFileCache } from './model.ts';
import type { Directive } from './parse.ts';
import { atoi, timeOrUndefined } from './units.ts';

/** nginx's defaults, in milliseconds. */
export const DEFAULT_CACHE_INACTIVE_MS = 10_000;
export const DEFAULT_CACHE_VALID_MS = 60_000;

/**
 * Reads one descriptor-cache directive.
 * @throws ConfError ERR_CONF_DIRECTIVE: `invalid "open_log_file_cache" parameter "x"`,
 *   `"open_log_file_cache" must have "max" parameter`.
 */
export function parseOpenLogFileCache(
  d: Directive,
  module: ConfModule,
  context: readonly ConfContext[],
): NginxOpenLogFileCache {
  checkShape(d, 1, 4, false);
  let max = 0;
  let inactive = DEFAULT_CACHE_INACTIVE_MS / 1000;
  let minUses = 1;
  let valid = DEFAULT_CACHE_VALID_MS / 1000;
  let off = false;
  for (const arg of d.args) {
    let n: number | undefined;
    if (arg.startsWith('max=')) n = max = atoi(arg.slice(4)) ?? -1;
    else if (arg.startsWith('inactive=')) n = inactive = timeOrUndefined(arg.slice(9), true) ?? -1;
    else if (arg.startsWith('min_uses=')) n = minUses = atoi(arg.slice(9)) ?? -1;
    else if (arg.startsWith('valid=')) n = valid = timeOrUndefined(arg.slice(6), true) ?? -1;
    else if (arg === 'off') off = true;
    else n = -1;
    if (n === -1) throw directiveError(d, `invalid "${d.name}" parameter "${arg}"`);
  }
  if (!off && max === 0) throw directiveError(d, `"${d.name}" must have "max" parameter`);
  return {
    directive: d.name as CacheDirective,
    module,
    off,
    ...(off ? {} : { max }),
    inactive: inactive * 1000,
    minUses,
    valid: valid * 1000,
    context,
    file: d.file,
    line: d.line,
  };
}
