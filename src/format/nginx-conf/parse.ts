/**
 * Builds the directive tree of an nginx configuration, resolving `include` while reading, as
 * nginx's `ngx_conf_parse` and `ngx_conf_include` do.
 * @module
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfError, LogtallyError } from '../errors.ts';
import { type ConfFileSystem, nodeConfFileSystem } from './fs.ts';
import { type ConfStatement, lexNginxConf } from './lexer.ts';

/** One directive: its name, its arguments (unquoted, unescaped), where it is, and its block if any. */
export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  /** Absolute path of the file the directive is written in. */
  readonly file: string;
  /** 1-based line of the directive's name. */
  readonly line: number;
  /** Line of the `;` or `{` that ends the directive (where nginx reports errors about it). */
  readonly endLine: number;
  /** The directives inside `{ … }`; absent for directives ended by `;`. */
  readonly block?: readonly Directive[];
  /** Line of the block's closing `}` (where nginx reports checks made when a block ends). */
  readonly closeLine?: number;
}

export interface ParseNginxConfOptions {
  /** Where the files come from; the disk by default. */
  readonly fs?: ConfFileSystem;
  /**
   * The directory relative `include` paths are resolved against (nginx's conf prefix); the
   * directory of the main file by default.
   */
  readonly confPrefix?: string;
}

export interface ParsedNginxConf {
  /** Absolute path of the main file. */
  readonly path: string;
  /** The directory relative includes were resolved against first. */
  readonly confPrefix: string;
  /** Top-level directives, includes spliced in place. */
  readonly root: readonly Directive[];
  /** Every file read, main file first, each once, in the order first read. */
  readonly files: readonly string[];
}

/** Includes nested deeper than this are reported (a cycle through symbolic links, say). */
const MAX_INCLUDE_DEPTH = 64;

/** Blocks nested deeper than this are refused (a crafted file would otherwise exhaust the stack). */
export const MAX_BLOCK_DEPTH = 200;

/** A configuration file larger than this is refused before it is read into words. */
export const MAX_CONF_FILE_BYTES = 16 * 1024 * 1024;

const GLOB_CHARS = /[*?[]/;

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ELOOP: 'Too many levels of symbolic links',
};

function errorCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

/** nginx's wording for a failed read: `open() "path" failed (reason)`, `pread()` for a directory. */
function readFailure(path: string, e: unknown): string {
  const code = errorCode(e);
  const op = code === 'EISDIR' ? 'pread()' : 'open()';
  const reason = (code && REASONS[code]) ?? (e instanceof Error ? e.message : String(e));
  return `${op} "${path}" failed (${reason})`;
}

function isNotFound(e: unknown): boolean {
  const code = errorCode(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Lines in a text: the line number nginx reports at its end. */
function lastLine(text: string): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Compares like C's strcmp on ASCII, as glob(3) sorts its matches in the C locale. */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Reads an nginx configuration and every file it includes.
 *
 * `include` takes one path, absolute or relative; a relative one is resolved against the conf
 * prefix (as nginx does) and, when that finds nothing, against the including file's directory.
 * A path with `*`, `?` or `[` is a glob, and a glob that matches nothing is fine; a plain path
 * that does not exist is an error. Matches are read in byte order. Include cycles are errors.
 *
 * @throws ConfError with code ERR_CONF_SYNTAX (malformed file), ERR_CONF_INCLUDE (unreadable
 *   include, cycle) or ERR_CONF_DIRECTIVE (`include` with a wrong number of arguments);
 *   LogtallyError ERR_CONF_INCLUDE when the main file itself cannot be read.
 */
export function parseNginxConf(path: string, opts: ParseNginxConfOptions = {}): ParsedNginxConf {
  const fs = opts.fs ?? nodeConfFileSystem;
  const main = resolve(path);
  const confPrefix = resolve(opts.confPrefix ?? dirname(main));
  const files: string[] = [];
  const seen = new Set<string>();
  const stack: string[] = [];

  const parseText = (file: string, text: string, from?: Directive): Directive[] => {
    if (text.length > MAX_CONF_FILE_BYTES) {
      const message = `"${file}" is larger than ${MAX_CONF_FILE_BYTES / 1024 / 1024} MiB`;
      if (from) throw new ConfError('ERR_CONF_INCLUDE', message, from.file, from.line);
      throw new LogtallyError('ERR_CONF_INCLUDE', message);
    }
    if (!seen.has(file)) {
      seen.add(file);
      files.push(file);
    }
    stack.push(file);
    const statements = lexNginxConf(text, file);
    const at = { i: 0 };
    const tree = parseBlock(file, statements, at, false, lastLine(text), 0);
    stack.pop();
    return tree;
  };

  const includeOne = (file: string, text: string, from: Directive): Directive[] => {
    if (stack.includes(file)) {
      const cycle = [...stack.slice(stack.indexOf(file)), file].map((f) => `"${f}"`).join(' -> ');
      throw new ConfError('ERR_CONF_INCLUDE', `include cycle: ${cycle}`, from.file, from.line);
    }
    if (stack.length >= MAX_INCLUDE_DEPTH) {
      throw new ConfError(
        'ERR_CONF_INCLUDE',
        `includes nested deeper than ${MAX_INCLUDE_DEPTH} at "${file}"`,
        from.file,
        from.line,
      );
    }
    return parseText(file, text, from);
  };

  const read = (file: string, from: Directive): string => {
    try {
      return fs.readFile(file);
    } catch (e) {
      throw new ConfError('ERR_CONF_INCLUDE', readFailure(file, e), from.file, from.line, { cause: e });
    }
  };

  const include = (d: Directive): Directive[] => {
    const arg = d.args[0] as string;
    const first = isAbsolute(arg) ? arg : resolve(confPrefix, arg);
    const candidates = [first];
    if (!isAbsolute(arg)) {
      const local = resolve(dirname(d.file), arg);
      if (local !== first) candidates.push(local);
    }
    if (GLOB_CHARS.test(arg)) {
      for (const pattern of candidates) {
        const matches = fs.glob(pattern).sort(byteOrder);
        if (matches.length === 0) continue;
        return matches.flatMap((m) => includeOne(m, read(m, d), d));
      }
      return [];
    }
    for (const candidate of candidates) {
      let text: string;
      try {
        text = fs.readFile(candidate);
      } catch (e) {
        if (isNotFound(e) && candidate !== candidates[candidates.length - 1]) continue;
        const shownPath = isNotFound(e) ? first : candidate;
        throw new ConfError('ERR_CONF_INCLUDE', readFailure(shownPath, e), d.file, d.line, { cause: e });
      }
      return includeOne(candidate, text, d);
    }
    return [];
  };

  const parseBlock = (
    file: string,
    statements: readonly ConfStatement[],
    at: { i: number },
    inBlock: boolean,
    eofLine: number,
    depth: number,
  ): Directive[] => {
    const out: Directive[] = [];
    while (at.i < statements.length) {
      const s = statements[at.i++] as ConfStatement;
      if (s.kind === 'end') {
        if (!inBlock) throw new ConfError('ERR_CONF_SYNTAX', 'unexpected "}"', file, s.line);
        return out;
      }
      const [head, ...rest] = s.words;
      const name = head?.value ?? '';
      const args = rest.map((w) => w.value);
      if (s.kind === 'block') {
        if (name === 'include') {
          throw new ConfError(
            'ERR_CONF_SYNTAX',
            'directive "include" is not terminated by ";"',
            file,
            s.line,
          );
        }
        if (depth >= MAX_BLOCK_DEPTH) {
          throw new ConfError(
            'ERR_CONF_SYNTAX',
            `blocks nested deeper than ${MAX_BLOCK_DEPTH}`,
            file,
            s.line,
          );
        }
        const block = parseBlock(file, statements, at, true, eofLine, depth + 1);
        const close = statements[at.i - 1];
        const closeLine = close?.kind === 'end' ? close.line : eofLine;
        out.push({ name, args, file, line: s.line, endLine: s.endLine, block, closeLine });
        continue;
      }
      const d: Directive = { name, args, file, line: s.line, endLine: s.endLine };
      if (name === 'include') {
        if (args.length !== 1) {
          throw new ConfError(
            'ERR_CONF_DIRECTIVE',
            'invalid number of arguments in "include" directive',
            file,
            s.line,
          );
        }
        out.push(...include(d));
        continue;
      }
      out.push(d);
    }
    if (inBlock)
      throw new ConfError('ERR_CONF_SYNTAX', 'unexpected end of file, expecting "}"', file, eofLine);
    return out;
  };

  let text: string;
  try {
    text = fs.readFile(main);
  } catch (e) {
    throw new LogtallyError('ERR_CONF_INCLUDE', readFailure(main, e), { cause: e });
  }
  const root = parseText(main, text);
  return { path: main, confPrefix, root, files };
}
