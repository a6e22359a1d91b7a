/**
 * The two file-system operations the configuration reader needs, so tests (and callers that
 * keep configurations elsewhere) can swap the disk for memory.
 * @module
 */
import { globSync, readFileSync } from 'node:fs';
import { join, matchesGlob } from 'node:path';

/**
 * What the reader needs from a file system. Paths are absolute.
 * `readFile` throws an error with a `code` (`ENOENT`, `EISDIR`, `EACCES`, …) as node:fs does.
 */
export interface ConfFileSystem {
  /** The file's text (UTF-8). */
  readFile(path: string): string;
  /** Every path matching an absolute glob pattern (`*`, `?`, `[…]`), in any order. */
  glob(pattern: string): string[];
}

/** The real disk, through node:fs. */
export const nodeConfFileSystem: ConfFileSystem = {
  readFile: (path) => readFileSync(path, 'utf8'),
  glob: (pattern) => {
    // Glob only from the first segment with a wildcard on, so that characters such as `(`, `{`
    // or `!` in the directories above are never read as pattern syntax.
    const segments = pattern.split('/');
    const first = segments.findIndex((s) => /[*?[]/.test(s));
    if (first === -1) return globSync(pattern);
    const cwd = segments.slice(0, first).join('/') || '/';
    return globSync(segments.slice(first).join('/'), { cwd }).map((m) => join(cwd, m));
  },
};

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

/**
 * An in-memory file system: keys are absolute paths, values the file text. A path that is a
 * prefix directory of some key reads as a directory (`EISDIR`).
 * @example memoryConfFileSystem({ '/etc/nginx/nginx.conf': 'events {}' })
 */
export function memoryConfFileSystem(files: Readonly<Record<string, string>>): ConfFileSystem {
  const paths = Object.keys(files);
  const dirs = new Set<string>();
  for (const p of paths) {
    for (let i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) dirs.add(p.slice(0, i));
  }
  return {
    readFile(path) {
      const text = files[path];
      if (text !== undefined && Object.hasOwn(files, path)) return text;
      throw fsError(dirs.has(path) ? 'EISDIR' : 'ENOENT', path);
    },
    glob(pattern) {
      return [...paths, ...dirs].filter((p) => matchesGlob(p, pattern));
    },
  };
}
