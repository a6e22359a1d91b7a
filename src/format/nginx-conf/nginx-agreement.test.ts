// Runs the same configurations through `nginx -t` and readNginxConf and checks that they agree:
// both accept, or both reject with the same message at the same line. Skips when nginx is not
// installed (CI installs it; see .ci/run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfError } from '../errors.ts';
import { readNginxConf } from './extract.ts';
import type { Directive } from './parse.ts';

function findNginx(): string | undefined {
  if (!spawnSync('nginx', ['-v']).error) return 'nginx';
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) =>
    existsSync(p),
  );
}
const NGINX = findNginx();
const FIXTURE_DIR = resolve(import.meta.dirname, '../../../test/fixtures/nginx-conf/realistic');

type Verdict = { ok: true } | { ok: false; message: string; line: number };

/** `nginx -t` with everything inside `dir`. */
function nginxVerdict(dir: string, conf: string): Verdict {
  const r = spawnSync(
    NGINX as string,
    ['-t', '-q', '-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log')],
    {
      encoding: 'utf8',
    },
  );
  if (r.status === 0) return { ok: true };
  // Some errors (reading an included directory) come without a location: line 0.
  const m =
    /\[(?:emerg|crit)\] (.*) in (.+):(\d+)$/m.exec(r.stderr) ?? /\[(?:emerg|crit)\] (.*)$/m.exec(r.stderr);
  assert.ok(m, `unexpected nginx output: ${r.stderr}`);
  // nginx adds the errno to system errors: "(2: No such file or directory)".
  return { ok: false, message: (m[1] as string).replace(/\(\d+: /, '('), line: Number(m[3] ?? 0) };
}

function ourVerdict(dir: string, conf: string): Verdict {
  try {
    readNginxConf(conf, { prefix: dir });
    return { ok: true };
  } catch (e) {
    if (!(e instanceof ConfError)) throw e;
    return { ok: false, message: e.message.slice(`${e.file}:${e.line}: `.length), line: e.line };
  }
}

/** Quotes a word so that nginx reads it back unchanged. */
function quote(word: string): string {
  return `"${word.replace(/[\\"]/g, '\\$&')}"`;
}

/** Writes a directive tree back as one configuration file. */
function serialize(list: readonly Directive[], indent = ''): string {
  return list
    .map((d) => {
      const head = [d.name, ...d.args].map(quote).join(' ');
      if (!d.block) return `${indent}${head};\n`;
      return `${indent}${head} {\n${serialize(d.block, `${indent}  `)}${indent}}\n`;
    })
    .join('');
}

/** Directives of the upstream log module, which stock nginx does not have. */
function withoutUpstreamLog(list: readonly Directive[]): Directive[] {
  return list
    .filter((d) => !/^upstream_(log|log_format|open_log_file_cache)$/.test(d.name))
    .map((d) => (d.block ? { ...d, block: withoutUpstreamLog(d.block) } : d));
}

/** Keeps nginx's temporary directories inside `dir`, so `nginx -t` needs no other rights. */
function tempPaths(dir: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${dir}/tmp;`)
    .join(' ');
}

/** Accepted by both. Variables must be known to nginx: it rejects unknown ones. */
const ACCEPTED = [
  'log_format a x#y}z;',
  `log_format a x\${status}y "$status" '$uri' \\"\\ ;`,
  `log_format a '$status' escape=json;`,
  'log_format a escape=none;',
  'log_format Main "$status"; log_format main "$uri"; access_log logs/a.log MAIN;',
  'log_format COMBINED "$status"; access_log logs/a.log combined;',
  'access_log logs/a.log combined buffer=4k flush=1d2h3m4s5ms;',
  'access_log logs/a.log combined gzip;',
  'access_log logs/a.log combined gzip=9 flush=1s buffer=100;',
  'access_log logs/a.log combined "flush=1m 30s" buffer=1k if=$status;',
  'access_log syslog:server=[::1]:99,facility=local3,severity=debug,tag=ab_C,nohostname combined;',
  'access_log syslog:server=unix:/dev/log,tag= combined;',
  'access_log logs/$host.log;',
  'access_log logs/a.log combined buffer=4k; server { access_log logs/a.log combined buffer=4k; }',
  'server { location / { if ($host = "x") { access_log logs/b.log; } limit_except GET { access_log off; } } }',
  'open_log_file_cache max=10 inactive=1y valid=1M min_uses=0;',
  'open_log_file_cache off max=5;',
  'map $status $m { hostnames; volatile; ~a 1; ~*B 2; \\~c 3; \\default 4; default 0; }',
  'include nothing/*.conf;',
];

/** Rejected by both, with the same message at the same line (the body starts at line 4). */
const REJECTED = [
  'log_format a "x"b;',
  "log_format a 'x'#c;",
  'log_format a "x"}',
  '}',
  ';',
  'log_format a "x";\nserver {',
  'log_format a "$status',
  'log_format main "$status"; log_format main "$uri";',
  'log_format combined "$status";',
  'log_format a escape=xx "$status";',
  'log_format a;',
  'server { log_format a "$status"; }',
  'access_log logs/a.log nope;',
  'access_log logs/a.log buffer=4k;',
  'access_log off combined;',
  'access_log logs/a.log combined buffer=0;',
  'access_log logs/a.log combined buffer=1g;',
  'access_log logs/a.log combined gzip=10;',
  'access_log logs/a.log combined gzip=0;',
  'access_log logs/a.log combined buffer=1k flush=1y;',
  'access_log logs/a.log combined buffer=1k flush=1M;',
  'access_log logs/a.log combined buffer=1k "flush=1 2 3";',
  'access_log logs/a.log combined flush=1s;',
  'access_log logs/a.log combined nonsense;',
  'access_log logs/$host.log combined buffer=4k;',
  'access_log syslog:server=127.0.0.1 combined buffer=4k;',
  'access_log syslog:facility=local1;',
  'access_log syslog:server=127.0.0.1,tag=a-b;',
  `access_log syslog:server=127.0.0.1,tag=${'a'.repeat(33)};`,
  'access_log syslog:server=127.0.0.1,facility=local9;',
  'access_log syslog:server=127.0.0.1,severity=warning;',
  'access_log syslog:server=127.0.0.1,server=127.0.0.2;',
  'access_log syslog:server=127.0.0.1,hostname;',
  'access_log syslog:server=127.0.0.1:0;',
  'access_log syslog:server=127.0.0.1:65536;',
  'access_log syslog:;',
  'access_log syslog:server=127.0.0.1,;',
  'access_log syslog:server=:514;',
  'access_log syslog:server=[::1;',
  'access_log syslog:server=[::1]x;',
  'access_log syslog:server=127.0.0.1/x;',
  'access_log syslog:server=unix:;',
  'access_log "syslog:server=127.0.0.1,tag=a b";',
  'access_log logs/a.log combined buffer=4k; access_log logs/a.log combined buffer=8k;',
  'open_log_file_cache max=0;',
  'open_log_file_cache off max=x;',
  'open_log_file_cache inactive=10ms max=3;',
  'open_log_file_cache max=3 foo;',
  'map $a b { }',
  'map $status $m { default 1; default 2; }',
  'map $status $m { a b c; }',
  'map $status $m { a { } }',
  'map $status $m;',
  'include nope.conf;',
  'include a b;',
];

describe('agreement with nginx -t', { skip: NGINX ? false : 'nginx is not installed' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'logtally-nginx-t-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;

  /** Writes `body` inside `http { }` (from line 4) and returns both verdicts. */
  const verdicts = (body: string, files: Record<string, string> = {}): { nginx: Verdict; ours: Verdict } => {
    const dir = join(root, String(n++));
    mkdirSync(join(dir, 'logs'), { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, `pid ${dir}/nginx.pid;\nevents {}\nhttp { ${tempPaths(dir)}\n${body}\n}\n`);
    return { nginx: nginxVerdict(dir, conf), ours: ourVerdict(dir, conf) };
  };

  for (const body of ACCEPTED) {
    it(`both accept ${JSON.stringify(body)}`, () => {
      const { nginx, ours } = verdicts(body);
      assert.deepEqual(nginx, { ok: true });
      assert.deepEqual(ours, { ok: true });
    });
  }

  for (const body of REJECTED) {
    it(`both reject ${JSON.stringify(body.slice(0, 70))}`, () => {
      const { nginx, ours } = verdicts(body);
      assert.equal(nginx.ok, false);
      assert.deepEqual(ours, nginx);
    });
  }

  it('both read includes relative to the conf prefix, in byte order, inside blocks and maps', () => {
    const { nginx, ours } = verdicts('include conf.d/*.conf;', {
      'conf.d/b.conf': 'map $status $m {\n include maps/m.map;\n}\n',
      'conf.d/a.conf': 'log_format a "$m";\n',
      'maps/m.map': 'default 1;\n200 0;\n',
    });
    assert.deepEqual([nginx, ours], [{ ok: true }, { ok: true }]);
  });

  it('both reject a syntax error in an included file at its file and line', () => {
    const { nginx, ours } = verdicts('include conf.d/*.conf;', {
      'conf.d/a.conf': '\nlog_format a "$status"x;\n',
    });
    assert.deepEqual(nginx, { ok: false, message: 'unexpected "x"', line: 2 });
    assert.deepEqual(ours, nginx);
  });

  it('both reject a glob match that is a directory (nginx gives no line, we give the include)', () => {
    const { nginx, ours } = verdicts('include sites/*;', { 'sites/sub/x.conf': '' });
    assert.ok(!nginx.ok && !ours.ok);
    assert.deepEqual([ours.message, nginx.line, ours.line], [nginx.message, 0, 4]);
  });

  it('both reject a malformed format string (messages differ)', () => {
    const { nginx, ours } = verdicts(`log_format a '\${status';`);
    assert.deepEqual([nginx.ok, ours.ok], [false, false]);
  });

  it('differs on a format used before its definition: nginx rejects, we warn', () => {
    const { nginx, ours } = verdicts('access_log logs/a.log main;\nlog_format main "$status";');
    assert.deepEqual(nginx, { ok: false, message: 'unknown log format "main"', line: 4 });
    assert.deepEqual(ours, { ok: true });
  });

  it('accepts the realistic fixture, written back without the upstream log module', () => {
    const fixture = join(FIXTURE_DIR, 'nginx.conf');
    const dir = join(root, 'realistic');
    mkdirSync(join(dir, 'logs/vhosts'), { recursive: true });
    const conf = join(dir, 'nginx.conf');
    const tree = withoutUpstreamLog(readNginxConf(fixture).root);
    const text = serialize(tree).replace(/^"http" \{$/m, `http { ${tempPaths(dir)}`);
    assert.match(text, /^http \{ client_body_temp_path /m);
    writeFileSync(conf, text);
    assert.deepEqual(nginxVerdict(dir, conf), { ok: true });
    // What nginx accepted reads back to the same logs.
    const again = readNginxConf(conf);
    assert.deepEqual(
      again.logs.map((l) => [l.directive, l.rawPath, l.off ? '' : l.format.format]),
      readNginxConf(fixture)
        .logs.filter((l) => l.directive === 'access_log')
        .map((l) => [l.directive, l.rawPath, l.off ? '' : l.format.format]),
    );
  });
});
