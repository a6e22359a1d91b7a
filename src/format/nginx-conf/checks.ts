/**
 * Errors located at a directive, and the argument-count and block checks nginx applies to every
 * directive it knows (`ngx_conf_handler`).
 * @module
 */
import { ConfError, type ErrorCode } from '../errors.ts';
import type { Directive } from './parse.ts';

/** A ConfError at the directive's file and line (ERR_CONF_DIRECTIVE unless told). */
export function directiveError(
  d: Directive,
  message: string,
  code: ErrorCode = 'ERR_CONF_DIRECTIVE',
): ConfError {
  return new ConfError(code, message, d.file, d.line);
}

/**
 * Checks a directive's shape: `min`..`max` arguments, and a block or none.
 * @throws ConfError as nginx words it: `invalid number of arguments in "x" directive`,
 *   `directive "x" has no opening "{"`, `directive "x" is not terminated by ";"`.
 */
export function checkShape(d: Directive, min: number, max: number, block: boolean): void {
  if (block && !d.block)
    throw directiveError(d, `directive "${d.name}" has no opening "{"`, 'ERR_CONF_SYNTAX');
  if (!block && d.block) {
    throw directiveError(d, `directive "${d.name}" is not terminated by ";"`, 'ERR_CONF_SYNTAX');
  }
  if (d.args.length < min || d.args.length > max) {
    throw directiveError(d, `invalid number of arguments in "${d.name}" directive`);
  }
}
