import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfError, LogtallyError } from '../errors.ts';
import { memoryConfFileSystem } from './fs.ts';
import { type Directive, parseNginxConf } from './parse.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../test/fixtures/nginx-conf');

/** `name args…` of each directive, blocks nested. */
type Outline = (string | Outline)[];
function outline(list: readonly Directive[]): Outline {
  return list.flatMap((d) => {
    const head = [d.name, ...d.args].join(' ');
    return d.block ? [head, outline(d.block)] : [head];
  });
}

function confError(code: string, file: string, line: number, message: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ConfError, String(e));
    assert.deepEqual([e.code, e.file, e.line, e.message], [code, file, line, `${file}:${line}: ${message}`]);
    return true;
  };
}

describe('parseNginxConf', () => {
  it('reads the realistic fixture, splicing includes in place, in byte order', () => {
    const dir = join(FIXTURES, 'realistic');
    const conf = parseNginxConf(join(dir, 'nginx.conf'));
    assert.equal(conf.path, join(dir, 'nginx.conf'));
    assert.equal(conf.confPrefix, dir);
    assert.deepEqual(
      conf.files.map((f) => f.slice(dir.length + 1)),
      [
        'nginx.conf',
        'mime.types',
        'conf.d/maps.conf',
        'conf.d/bots.map',
        'conf.d/upstream-log.conf',
        'sites-enabled/default',
        'sites-enabled/example.com',
        'sites-enabled/vhosts',
      ],
    );
    const http = conf.root.find((d) => d.name === 'http');
    assert.ok(http?.block);
    assert.deepEqual(
      http.block.map((d) => `${d.file.slice(dir.length + 1)}:${d.line} ${d.name}`),
      [
        'mime.types:1 types',
        'nginx.conf:14 default_type',
        'nginx.conf:16 log_format',
        'nginx.conf:20 log_format',
        'nginx.conf:32 log_format',
        'nginx.conf:34 access_log',
        'nginx.conf:35 open_log_file_cache',
        'conf.d/maps.conf:2 map',
        'conf.d/maps.conf:7 map',
        'conf.d/maps.conf:15 map',
        'conf.d/upstream-log.conf:2 upstream_log_format',
        'conf.d/upstream-log.conf:6 upstream_open_log_file_cache',
        'sites-enabled/default:1 server',
        'sites-enabled/example.com:1 server',
        'sites-enabled/vhosts:2 server',
      ],
    );
    const isBot = http.block.find((d) => d.name === 'map' && d.args[1] === '$is_bot');
    assert.deepEqual(outline(isBot?.block ?? []), [
      'volatile',
      'default 0',
      '~*(?<crawler>spider|crawl) 1',
      '\\~literal 2',
      '~*googlebot 1',
      '~bingbot 1',
    ]);
    const fromMapFile = isBot?.block?.[4];
    assert.deepEqual([fromMapFile?.file, fromMapFile?.line], [join(dir, 'conf.d/bots.map'), 2]);
  });

  it('keeps arguments exactly as nginx reads them', () => {
    const conf = parseNginxConf(join(FIXTURES, 'realistic/nginx.conf'));
    const http = conf.root.find((d) => d.name === 'http');
    const tabbed = http?.block?.find((d) => d.name === 'log_format' && d.args[0] === 'tabbed');
    assert.deepEqual(tabbed?.args, [
      'tabbed',
      'escape=none',
      '$host\t$remote_addr\t${request_time}s\t"$request"',
    ]);
    assert.deepEqual(outline(conf.root.slice(0, 4)), [
      'worker_processes 1',
      'pid logs/nginx.pid',
      'error_log logs/error.log warn',
      'events',
      ['worker_connections 64'],
    ]);
  });

  it('reports a syntax error in an included file at that file and line', () => {
    const dir = join(FIXTURES, 'include-syntax-error');
    assert.throws(
      () => parseNginxConf(join(dir, 'nginx.conf')),
      confError('ERR_CONF_SYNTAX', join(dir, 'conf.d/site.conf'), 4, 'unexpected "x"'),
    );
  });

  it('reports an include cycle at the include that closes it', () => {
    const dir = join(FIXTURES, 'include-cycle');
    const a = join(dir, 'conf.d/a.conf');
    const b = join(dir, 'conf.d/b.conf');
    assert.throws(
      () => parseNginxConf(join(dir, 'nginx.conf')),
      confError('ERR_CONF_INCLUDE', b, 2, `include cycle: "${a}" -> "${b}" -> "${a}"`),
    );
  });

  it('reports a missing include like nginx, and accepts a glob that matches nothing', () => {
    const dir = join(FIXTURES, 'missing-include');
    assert.throws(
      () => parseNginxConf(join(dir, 'nginx.conf')),
      confError(
        'ERR_CONF_INCLUDE',
        join(dir, 'nginx.conf'),
        5,
        `open() "${join(dir, 'snippets/logging.conf')}" failed (No such file or directory)`,
      ),
    );
  });

  it('fails with LogtallyError ERR_CONF_INCLUDE when the main file cannot be read', () => {
    assert.throws(
      () => parseNginxConf('/nonexistent/nginx.conf'),
      (e: unknown) =>
        e instanceof LogtallyError &&
        !(e instanceof ConfError) &&
        e.code === 'ERR_CONF_INCLUDE' &&
        e.message === 'open() "/nonexistent/nginx.conf" failed (No such file or directory)',
    );
  });

  describe('include resolution (in memory)', () => {
    const parse = (files: Record<string, string>, opts: { confPrefix?: string } = {}) =>
      parseNginxConf('/etc/nginx/nginx.conf', { fs: memoryConfFileSystem(files), ...opts });

    it('resolves relative paths against the conf prefix first', () => {
      const conf = parse({
        '/etc/nginx/nginx.conf': 'include sites/a.conf;',
        '/etc/nginx/sites/a.conf': 'include b.conf;',
        '/etc/nginx/b.conf': 'from_prefix;',
        '/etc/nginx/sites/b.conf': 'from_local;',
      });
      assert.deepEqual(outline(conf.root), ['from_prefix']);
    });

    it("falls back to the including file's directory when the prefix finds nothing", () => {
      const conf = parse({
        '/etc/nginx/nginx.conf': 'include sites/a.conf;',
        '/etc/nginx/sites/a.conf': 'include b.conf; include parts/*.conf;',
        '/etc/nginx/sites/b.conf': 'from_local;',
        '/etc/nginx/sites/parts/1.conf': 'part1;',
        '/etc/nginx/sites/parts/2.conf': 'part2;',
      });
      assert.deepEqual(outline(conf.root), ['from_local', 'part1', 'part2']);
    });

    it('uses the given conf prefix', () => {
      const conf = parse(
        { '/etc/nginx/nginx.conf': 'include x.conf;', '/srv/conf/x.conf': 'x;' },
        { confPrefix: '/srv/conf' },
      );
      assert.deepEqual(outline(conf.root), ['x']);
      assert.equal(conf.confPrefix, '/srv/conf');
    });

    it('reads glob matches in byte order, skipping dot files', () => {
      const conf = parse({
        '/etc/nginx/nginx.conf': 'http { include conf.d/*.conf; include /etc/nginx/other/[ab]?.conf; }',
        '/etc/nginx/conf.d/b.conf': 'b;',
        '/etc/nginx/conf.d/B.conf': 'B;',
        '/etc/nginx/conf.d/a.conf': 'a;',
        '/etc/nginx/conf.d/.hidden.conf': 'hidden;',
        '/etc/nginx/conf.d/c.conf.bak': 'bak;',
        '/etc/nginx/other/a1.conf': 'a1;',
        '/etc/nginx/other/c1.conf': 'c1;',
      });
      assert.deepEqual(outline(conf.root), ['http', ['B', 'a', 'b', 'a1']]);
    });

    it('lists each file once, even when included twice', () => {
      const conf = parse({
        '/etc/nginx/nginx.conf': 'include a.conf; include a.conf;',
        '/etc/nginx/a.conf': 'a;',
      });
      assert.deepEqual(outline(conf.root), ['a', 'a']);
      assert.deepEqual(conf.files, ['/etc/nginx/nginx.conf', '/etc/nginx/a.conf']);
    });

    it('reports a plain missing path against the conf prefix, after trying both places', () => {
      assert.throws(
        () =>
          parse({
            '/etc/nginx/nginx.conf': '\n\ninclude sites/a.conf;',
            '/etc/nginx/sites/a.conf': 'include b.conf;',
          }),
        confError(
          'ERR_CONF_INCLUDE',
          '/etc/nginx/sites/a.conf',
          1,
          'open() "/etc/nginx/b.conf" failed (No such file or directory)',
        ),
      );
    });

    it('reports a glob match that is a directory, as nginx does', () => {
      assert.throws(
        () => parse({ '/etc/nginx/nginx.conf': 'include sites/*;', '/etc/nginx/sites/sub/x.conf': 'x;' }),
        confError(
          'ERR_CONF_INCLUDE',
          '/etc/nginx/nginx.conf',
          1,
          'pread() "/etc/nginx/sites/sub" failed (Is a directory)',
        ),
      );
    });

    it('reports a file that includes itself', () => {
      assert.throws(
        () => parse({ '/etc/nginx/nginx.conf': 'a;\ninclude nginx.conf;' }),
        confError(
          'ERR_CONF_INCLUDE',
          '/etc/nginx/nginx.conf',
          2,
          'include cycle: "/etc/nginx/nginx.conf" -> "/etc/nginx/nginx.conf"',
        ),
      );
    });

    it('does not let a block span files', () => {
      assert.throws(
        () =>
          parse({
            '/etc/nginx/nginx.conf': 'http {\n include a.conf;\n}',
            '/etc/nginx/a.conf': 'server {\n',
          }),
        confError('ERR_CONF_SYNTAX', '/etc/nginx/a.conf', 2, 'unexpected end of file, expecting "}"'),
      );
      assert.throws(
        () => parse({ '/etc/nginx/nginx.conf': 'http {\n include a.conf;', '/etc/nginx/a.conf': '}' }),
        confError('ERR_CONF_SYNTAX', '/etc/nginx/a.conf', 1, 'unexpected "}"'),
      );
    });

    it('checks the include directive itself', () => {
      assert.throws(
        () => parse({ '/etc/nginx/nginx.conf': 'include a b;' }),
        confError(
          'ERR_CONF_DIRECTIVE',
          '/etc/nginx/nginx.conf',
          1,
          'invalid number of arguments in "include" directive',
        ),
      );
      assert.throws(
        () => parse({ '/etc/nginx/nginx.conf': 'include a { }' }),
        confError(
          'ERR_CONF_SYNTAX',
          '/etc/nginx/nginx.conf',
          1,
          'directive "include" is not terminated by ";"',
        ),
      );
    });
  });

  describe('on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logtally-conf-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('globs below a directory whose name has pattern characters', () => {
      const base = join(dir, 'odd (dir) {x}');
      mkdirSync(join(base, 'conf.d'), { recursive: true });
      writeFileSync(join(base, 'nginx.conf'), 'include conf.d/*.conf;');
      writeFileSync(join(base, 'conf.d/b.conf'), 'b;');
      writeFileSync(join(base, 'conf.d/a.conf'), 'a;');
      assert.deepEqual(outline(parseNginxConf(join(base, 'nginx.conf')).root), ['a', 'b']);
    });
  });
});

describe('parseNginxConf: crafted files are refused with a clear error, never a crash', () => {
  const parse = (text: string) =>
    parseNginxConf('/etc/nginx/nginx.conf', { fs: memoryConfFileSystem({ '/etc/nginx/nginx.conf': text }) });
  it('10 000 nested blocks: refused at the first block past the bound, with its line', () => {
    const text = `${'a {\n'.repeat(10_000)}${'}\n'.repeat(10_000)}`;
    assert.throws(
      () => parse(text),
      confError('ERR_CONF_SYNTAX', '/etc/nginx/nginx.conf', 201, 'blocks nested deeper than 200'),
    );
    // 200 levels are fine.
    assert.equal(parse(`${'a {\n'.repeat(200)}${'}\n'.repeat(200)}`).root.length, 1);
  });
  it('a word over 1 MiB and a file over 16 MiB are refused before they cost more', () => {
    assert.throws(
      () => parse(`log_format x '${'y'.repeat(1024 * 1024 + 1)}';\n`),
      /a word longer than 1 MiB/,
    );
    assert.throws(() => parse(`# ${'z'.repeat(16 * 1024 * 1024)}\n`), /is larger than 16 MiB/);
  });
});
