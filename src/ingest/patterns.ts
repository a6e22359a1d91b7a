/**
 * Log path patterns: a literal path or a glob (tinyglobby syntax: `*`, `**`, `?`, `[...]`,
 * `{a,b}`). Relative patterns are resolved against a working directory. For each pattern this
 * module lists the files it matches now, the directories to watch so that a future match is seen,
 * and a picomatch predicate that tells whether a path named by a watch event matches, without
 * re-scanning.
 * @module
 */
import { dirname, resolve } from 'node:path';
import picomatch from 'picomatch';
import { glob, isDynamicPattern } from 'tinyglobby';

/** A pattern without glob characters: one path, watched through its directory. */
export interface LiteralPattern {
  kind: 'literal';
  /** The pattern as given. */
  source: string;
  /** Absolute path. */
  path: string;
  /** Directory to watch. */
  dir: string;
}

/** A glob pattern. */
export interface GlobPattern {
  kind: 'glob';
  source: string;
  /** Absolute pattern. */
  pattern: string;
  /** The static directory prefix of the pattern (always watched). */
  base: string;
  /** The dynamic part, relative to `base`. */
  rest: string;
  /** Directory globs (absolute) whose matches may hold matching files (deeper patterns). */
  dirGlobs: string[];
  /** Does an absolute path match? */
  match: (path: string) => boolean;
}

export type LogPattern = LiteralPattern | GlobPattern;

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function joinBase(base: string, rel: string): string {
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

/**
 * Classifies and resolves one pattern.
 * @example compilePattern('logs/*.log', '/srv') // { kind: 'glob', base: '/srv/logs', rest: '*.log', ... }
 */
export function compilePattern(source: string, cwd: string): LogPattern {
  const abs = resolve(cwd, source);
  if (!isDynamicPattern(abs)) return { kind: 'literal', source, path: abs, dir: dirname(abs) };
  const scan = picomatch.scan(abs);
  const base = scan.base === '' ? '/' : stripSlash(scan.base);
  const rest = scan.glob;
  const segments = rest.split('/');
  const dirGlobs: string[] = [];
  if (segments.length > 1) {
    // A brace holding a slash or a globstar can put matches at any depth: watch every directory.
    if (rest.includes('**') || /\{[^}]*\/[^}]*\}/.test(rest)) {
      dirGlobs.push(joinBase(base, '**'));
    } else {
      for (let k = 1; k < segments.length; k++) dirGlobs.push(joinBase(base, segments.slice(0, k).join('/')));
    }
  }
  return { kind: 'glob', source, pattern: abs, base, rest, dirGlobs, match: picomatch(abs) };
}

/** Files matching a glob now (absolute paths, sorted). A missing base directory yields none. */
export async function globFiles(p: GlobPattern): Promise<string[]> {
  const files = await glob(p.rest, {
    cwd: p.base,
    absolute: true,
    onlyFiles: true,
    expandDirectories: false,
  });
  return files.sort();
}

/** Directories to watch for a glob: its base, plus every existing directory a deeper match may sit in. */
export async function globWatchDirs(p: GlobPattern): Promise<string[]> {
  const dirs = new Set<string>([p.base]);
  for (const g of p.dirGlobs) {
    const scan = picomatch.scan(g);
    const base = scan.base === '' ? '/' : stripSlash(scan.base);
    const found = await glob(scan.glob, {
      cwd: base,
      absolute: true,
      onlyDirectories: true,
      expandDirectories: false,
    });
    for (const d of found) dirs.add(stripSlash(d));
  }
  return [...dirs];
}
