import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfError } from '../errors.ts';
import { NGINX_COMBINED, NGINX_UPSTREAM_COMBINED } from '../nginx/presets.ts';
import { readNginxConf } from './extract.ts';
import { memoryConfFileSystem } from './fs.ts';
import type { NginxConf, NginxLog, NginxLogTarget } from './model.ts';
import { parseNginxConf } from './parse.ts';

const FIXTURES = resolve(import.meta.dirname, '../../../test/fixtures/nginx-conf');
const MAIN = '/etc/nginx/nginx.conf';

/** Reads `text` as /etc/nginx/nginx.conf (plus any other files given). */
function read(text: string, files: Record<string, string> = {}, prefix?: string): NginxConf {
  return readNginxConf(MAIN, {
    fs: memoryConfFileSystem({ [MAIN]: text, ...files }),
    ...(prefix !== undefined ? { prefix } : {}),
  });
}

/** Reads `body` inside `http { }`, starting on line 2. */
function http(body: string): NginxConf {
  return read(`http {\n${body}\n}\n`);
}

function rejects(fn: () => unknown, code: string, line: number, message: string, file = MAIN): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfError, String(e));
    assert.deepEqual([e.code, e.file, e.line, e.message], [code, file, line, `${file}:${line}: ${message}`]);
    return true;
  });
}

function target(log: NginxLog | undefined): NginxLogTarget {
  assert.ok(log && !log.off, 'expected a log that is written');
  return log;
}

describe('readNginxConf on the realistic fixture', () => {
  const dir = join(FIXTURES, 'realistic');
  const conf = readNginxConf(join(dir, 'nginx.conf'));
  const at = (file: string) => join(dir, file);
  const SITE = at('sites-enabled/example.com');
  const SITE_SERVER = { directive: 'server', args: [] };
  const HTTP = { directive: 'http', args: [] };
  const NAMES = ['example.com', 'www.example.com'];

  const main = {
    name: 'main',
    escape: 'default',
    format:
      '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" ' +
      '"$http_user_agent" "$http_x_forwarded_for"',
    source: 'log_format',
  } as const;
  const json = {
    name: 'json',
    escape: 'json',
    format:
      '{"time":"$time_iso8601","remote_addr":"$remote_addr","request":"$request","status":$status,' +
      '"bytes":$body_bytes_sent,"request_time":$request_time,"bot":"$is_bot","ua":"$http_user_agent"}',
    source: 'log_format',
  } as const;

  it('lists the files, prefix and tree', () => {
    assert.equal(conf.path, at('nginx.conf'));
    assert.equal(conf.prefix, dir);
    assert.equal(conf.files.length, 8);
    assert.deepEqual(conf.root, parseNginxConf(at('nginx.conf')).root);
  });

  it('extracts every format, strings joined, escape read from the second argument', () => {
    assert.deepEqual(conf.formats, [
      {
        directive: 'log_format',
        module: 'http',
        name: 'main',
        escape: 'default',
        format: main.format,
        file: at('nginx.conf'),
        line: 16,
      },
      {
        directive: 'log_format',
        module: 'http',
        name: 'json',
        escape: 'json',
        format: json.format,
        file: at('nginx.conf'),
        line: 20,
      },
      {
        directive: 'log_format',
        module: 'http',
        name: 'tabbed',
        escape: 'none',
        format: '$host\t$remote_addr\t${request_time}s\t"$request"',
        file: at('nginx.conf'),
        line: 32,
      },
      {
        directive: 'upstream_log_format',
        module: 'http',
        name: 'upstream',
        escape: 'default',
        format:
          '$remote_addr $upstream_last_addr [$time_local] "$upstream_method $upstream_uri" ' +
          '$upstream_last_status $upstream_last_response_time',
        file: at('conf.d/upstream-log.conf'),
        line: 2,
      },
    ]);
  });

  it('extracts every log with its context, resolved path and parameters', () => {
    const brief = conf.logs.map((l) => [
      l.directive,
      l.file.slice(dir.length + 1),
      l.line,
      l.off ? 'off' : l.path.startsWith(dir) ? l.path.slice(dir.length + 1) : l.path,
      l.off ? '' : `${l.format.source}:${l.format.name}`,
      l.context.map((c) => [c.directive, ...c.args].join(' ')).join(' > '),
    ]);
    assert.deepEqual(brief, [
      ['access_log', 'nginx.conf', 34, 'logs/access.log', 'log_format:main', 'http'],
      ['access_log', 'sites-enabled/default', 4, '/dev/null', 'predefined:combined', 'http > server'],
      ['upstream_log', 'sites-enabled/default', 5, 'off', '', 'http > server'],
      [
        'access_log',
        'sites-enabled/example.com',
        6,
        'logs/example.access.log',
        'log_format:main',
        'http > server',
      ],
      [
        'access_log',
        'sites-enabled/example.com',
        7,
        'logs/example.json.log.gz',
        'log_format:json',
        'http > server',
      ],
      [
        'upstream_log',
        'sites-enabled/example.com',
        8,
        'logs/example.upstream.log',
        'upstream_log_format:upstream',
        'http > server',
      ],
      ['access_log', 'sites-enabled/example.com', 11, 'off', '', 'http > server > location /static/'],
      [
        'access_log',
        'sites-enabled/example.com',
        15,
        'syslog:server=127.0.0.1:5514,facility=local3,severity=notice,tag=example_api,nohostname',
        'log_format:json',
        'http > server > location /api/',
      ],
      [
        'upstream_log',
        'sites-enabled/example.com',
        16,
        'syslog:server=[::1],tag=upstream',
        'predefined:combined',
        'http > server > location /api/',
      ],
      [
        'access_log',
        'sites-enabled/example.com',
        22,
        'logs/example.posts.log',
        'log_format:tabbed',
        'http > server > location ~ ^/users/(?<user>[^/]+) > if ($request_method = POST)',
      ],
      [
        'access_log',
        'sites-enabled/example.com',
        25,
        'logs/example.writes.log',
        'log_format:main',
        'http > server > location ~ ^/users/(?<user>[^/]+) > limit_except GET',
      ],
      ['access_log', 'sites-enabled/vhosts', 7, 'logs/vhosts/$host.log', 'log_format:main', 'http > server'],
      [
        'upstream_log',
        'sites-enabled/vhosts',
        9,
        'logs/vhosts/$host.upstream.log',
        'predefined:combined',
        'http > server',
      ],
    ]);
  });

  it('gives the complete record of a buffered log', () => {
    assert.deepEqual(conf.logs[3], {
      directive: 'access_log',
      module: 'http',
      off: false,
      rawPath: 'logs/example.access.log',
      path: at('logs/example.access.log'),
      hasVariables: false,
      formatName: 'main',
      format: main,
      buffer: 32 * 1024,
      flush: 5000,
      context: [HTTP, SITE_SERVER],
      serverNames: NAMES,
      file: SITE,
      line: 6,
    });
  });

  it('gives the complete record of a gzip log with a condition (64k buffer by default)', () => {
    assert.deepEqual(conf.logs[4], {
      directive: 'access_log',
      module: 'http',
      off: false,
      rawPath: 'logs/example.json.log.gz',
      path: at('logs/example.json.log.gz'),
      hasVariables: false,
      formatName: 'json',
      format: json,
      buffer: 65536,
      gzip: 6,
      flush: 90_000,
      if: '$loggable',
      context: [HTTP, SITE_SERVER],
      serverNames: NAMES,
      file: SITE,
      line: 7,
    });
  });

  it('gives the complete record of syslog logs', () => {
    assert.deepEqual(conf.logs[7], {
      directive: 'access_log',
      module: 'http',
      off: false,
      rawPath: 'syslog:server=127.0.0.1:5514,facility=local3,severity=notice,tag=example_api,nohostname',
      path: 'syslog:server=127.0.0.1:5514,facility=local3,severity=notice,tag=example_api,nohostname',
      hasVariables: false,
      syslog: {
        server: '127.0.0.1:5514',
        host: '127.0.0.1',
        port: 5514,
        unix: false,
        facility: 'local3',
        severity: 'notice',
        tag: 'example_api',
        nohostname: true,
      },
      formatName: 'json',
      format: json,
      context: [HTTP, SITE_SERVER, { directive: 'location', args: ['/api/'] }],
      serverNames: NAMES,
      file: SITE,
      line: 15,
    });
    const upstream = target(conf.logs[8]);
    assert.deepEqual(upstream.syslog, {
      server: '[::1]',
      host: '::1',
      port: 514,
      unix: false,
      facility: 'local7',
      severity: 'info',
      tag: 'upstream',
      nohostname: false,
    });
    assert.deepEqual(upstream.format, {
      name: 'combined',
      escape: 'default',
      format: NGINX_UPSTREAM_COMBINED,
      source: 'predefined',
    });
  });

  it('gives the records of off, default-format and variable-path logs', () => {
    assert.deepEqual(conf.logs[6], {
      directive: 'access_log',
      module: 'http',
      off: true,
      rawPath: 'off',
      context: [HTTP, SITE_SERVER, { directive: 'location', args: ['/static/'] }],
      serverNames: NAMES,
      file: SITE,
      line: 11,
    });
    assert.deepEqual(conf.logs[1], {
      directive: 'access_log',
      module: 'http',
      off: false,
      rawPath: '/dev/null',
      path: '/dev/null',
      hasVariables: false,
      formatName: 'combined',
      format: { name: 'combined', escape: 'default', format: NGINX_COMBINED, source: 'predefined' },
      context: [HTTP, SITE_SERVER],
      serverNames: ['_'],
      file: at('sites-enabled/default'),
      line: 4,
    });
    const vhost = target(conf.logs[11]);
    assert.deepEqual(
      [vhost.path, vhost.hasVariables, vhost.serverNames],
      [at('logs/vhosts/$host.log'), true, ['~^(?<sub>[a-z0-9-]+)\\.vhosts\\.example\\.net$']],
    );
  });

  it('extracts the descriptor caches', () => {
    const vhosts = at('sites-enabled/vhosts');
    const server = [HTTP, SITE_SERVER];
    assert.deepEqual(conf.openLogFileCaches, [
      {
        directive: 'open_log_file_cache',
        module: 'http',
        off: false,
        max: 1000,
        inactive: 20_000,
        minUses: 2,
        valid: 60_000,
        context: [HTTP],
        file: at('nginx.conf'),
        line: 35,
      },
      {
        directive: 'upstream_open_log_file_cache',
        module: 'http',
        off: false,
        max: 100,
        inactive: 60_000,
        minUses: 1,
        valid: 60_000,
        context: [HTTP],
        file: at('conf.d/upstream-log.conf'),
        line: 6,
      },
      {
        directive: 'open_log_file_cache',
        module: 'http',
        off: false,
        max: 64,
        inactive: 10_000,
        minUses: 1,
        valid: 60_000,
        context: server,
        file: vhosts,
        line: 8,
      },
      {
        directive: 'upstream_open_log_file_cache',
        module: 'http',
        off: true,
        inactive: 10_000,
        minUses: 1,
        valid: 60_000,
        context: server,
        file: vhosts,
        line: 10,
      },
    ]);
  });

  it('extracts the maps, entries included from another file', () => {
    const maps = at('conf.d/maps.conf');
    const entry = (match: string, value: string, regex = false, caseInsensitive = false) => ({
      match,
      value,
      regex,
      caseInsensitive,
    });
    assert.deepEqual(conf.maps, [
      {
        module: 'http',
        source: '$status',
        variable: 'loggable',
        default: '1',
        hostnames: false,
        volatile: false,
        entries: [entry('^[23]', '0', true)],
        file: maps,
        line: 2,
      },
      {
        module: 'http',
        source: '$http_user_agent',
        variable: 'is_bot',
        default: '0',
        hostnames: false,
        volatile: true,
        entries: [
          entry('(?<crawler>spider|crawl)', '1', true, true),
          entry('~literal', '2'),
          entry('googlebot', '1', true, true),
          entry('bingbot', '1', true),
        ],
        file: maps,
        line: 7,
      },
      {
        module: 'http',
        source: '$host',
        variable: 'vhost_group',
        default: 'other',
        hostnames: true,
        volatile: false,
        entries: [entry('example.com', 'main'), entry('*.example.com', 'main')],
        file: maps,
        line: 15,
      },
    ]);
  });

  it('lists the variables the configuration defines, and has no warnings', () => {
    assert.deepEqual(conf.variablesDefinedByConfig, [
      'loggable',
      'is_bot',
      'crawler',
      'vhost_group',
      'user',
      'sub',
    ]);
    assert.deepEqual(conf.warnings, []);
  });

  it('resolves relative log paths against the given prefix', () => {
    const other = readNginxConf(at('nginx.conf'), { prefix: '/usr/share/nginx' });
    assert.equal(other.prefix, '/usr/share/nginx');
    assert.equal(target(other.logs[0]).path, '/usr/share/nginx/logs/access.log');
    assert.equal(target(other.logs[1]).path, '/dev/null');
  });
});

describe('readNginxConf errors from fixtures', () => {
  it('reports an unknown format name at the log directive', () => {
    const file = join(FIXTURES, 'unknown-format/nginx.conf');
    rejects(() => readNginxConf(file), 'ERR_CONF_FORMAT', 7, 'unknown log format "mian"', file);
  });

  it('reports a syntax error in an included file', () => {
    const file = join(FIXTURES, 'include-syntax-error/conf.d/site.conf');
    rejects(
      () => readNginxConf(join(FIXTURES, 'include-syntax-error/nginx.conf')),
      'ERR_CONF_SYNTAX',
      4,
      'unexpected "x"',
      file,
    );
  });

  it('reports an include cycle and a missing include', () => {
    assert.throws(
      () => readNginxConf(join(FIXTURES, 'include-cycle/nginx.conf')),
      (e: unknown) =>
        e instanceof ConfError && e.code === 'ERR_CONF_INCLUDE' && /include cycle/.test(e.message),
    );
    assert.throws(
      () => readNginxConf(join(FIXTURES, 'missing-include/nginx.conf')),
      (e: unknown) => e instanceof ConfError && e.code === 'ERR_CONF_INCLUDE' && e.line === 5,
    );
  });
});

describe('log formats', () => {
  it('accepts escape= only as the second argument', () => {
    const conf = http(`log_format a '$status ' escape=json;\nlog_format b escape=none;`);
    assert.deepEqual(
      conf.formats.map((f) => [f.name, f.escape, f.format]),
      [
        ['a', 'default', '$status escape=json'],
        ['b', 'none', ''],
      ],
    );
  });

  it('rejects what nginx rejects', () => {
    rejects(
      () => http(`log_format a escape=yaml '$status';`),
      'ERR_CONF_DIRECTIVE',
      2,
      'unknown log format escaping "yaml"',
    );
    rejects(
      () => http('log_format a;'),
      'ERR_CONF_DIRECTIVE',
      2,
      'invalid number of arguments in "log_format" directive',
    );
    rejects(
      () => http(`log_format a '$status' { }`),
      'ERR_CONF_SYNTAX',
      2,
      'directive "log_format" is not terminated by ";"',
    );
    rejects(
      () => http(`log_format a '$status';\nlog_format b '$status';\nlog_format a '$uri';`),
      'ERR_CONF_DIRECTIVE',
      4,
      'duplicate "log_format" name "a"',
    );
    rejects(
      () => http(`log_format combined '$status';`),
      'ERR_CONF_DIRECTIVE',
      2,
      'duplicate "log_format" name "combined"',
    );
    rejects(
      () => http(`upstream_log_format combined '$status';`),
      'ERR_CONF_DIRECTIVE',
      2,
      'duplicate "upstream_log_format" name "combined"',
    );
    rejects(
      () => http(`server {\n log_format a '$status';\n}`),
      'ERR_CONF_DIRECTIVE',
      3,
      '"log_format" directive is not allowed here',
    );
  });

  it('keeps names that differ in case, and lets both directives share a name', () => {
    const conf = http(
      `log_format Main '$status';\nlog_format main '$uri';\nupstream_log_format main '$host';`,
    );
    assert.deepEqual(
      conf.formats.map((f) => [f.directive, f.name]),
      [
        ['log_format', 'Main'],
        ['log_format', 'main'],
        ['upstream_log_format', 'main'],
      ],
    );
  });

  it('turns a malformed string into ERR_CONF_SYNTAX, with the column in the joined format', () => {
    rejects(
      () => http(`log_format a 'x ' '\${host';`),
      'ERR_CONF_SYNTAX',
      2,
      'invalid log_format "a": the closing bracket in "host" variable is missing at column 3',
    );
    rejects(
      () => http(`upstream_log_format u escape=json '$';`),
      'ERR_CONF_SYNTAX',
      2,
      'invalid upstream_log_format "u": invalid variable name: "$" at end of format at column 1',
    );
  });

  it('compiles each string on its own, as nginx does', () => {
    // `'${' 'host}'` is one valid variable once joined, but nginx compiles the strings apart.
    rejects(
      () => http(`log_format a '\${' 'host}';`),
      'ERR_CONF_SYNTAX',
      2,
      'invalid log_format "a": the closing bracket in "${" variable is missing at column 1',
    );
  });

  it('warns about unknown variables, but not about those the configuration defines', () => {
    const conf = http(
      [
        `map $status $ok { default 1; }`,
        `geo $remote_addr $internal { default 0; }`,
        `split_clients $request_id $bucket { 50% a; * b; }`,
        `js_set $njs_value main.value;`,
        `server { set $Mine 1; location ~ ^/(?<slug>.+)$ { } if ($uri ~ "^/(?P<part>x)") { } }`,
        `log_format a '$ok $internal $bucket $njs_value $mine $slug $part $http_x_any $arg_q';`,
        `log_format b '$nope $ok'`,
        `  '$NOPE $other';`,
      ].join('\n'),
    );
    assert.deepEqual(conf.variablesDefinedByConfig, [
      'ok',
      'internal',
      'bucket',
      'njs_value',
      'Mine',
      'slug',
      'part',
    ]);
    assert.deepEqual(conf.warnings, [
      { file: MAIN, line: 8, message: 'unknown "nope" variable' },
      { file: MAIN, line: 8, message: 'unknown "other" variable' },
    ]);
  });

  it('warns when joining the strings changes the variables read', () => {
    const conf = http(`log_format a '$remote' '_addr' ' $status';`);
    assert.equal(conf.formats[0]?.format, '$remote_addr $status');
    assert.deepEqual(conf.warnings, [
      {
        file: MAIN,
        line: 2,
        message:
          'the strings of log_format "a" split a variable name: nginx reads $remote $status, ' +
          'the joined format reads $remote_addr $status',
      },
      { file: MAIN, line: 2, message: 'unknown "remote" variable' },
    ]);
  });
});

describe('log directives', () => {
  const one = (directive: string, formats = `log_format main '$status';`): NginxLogTarget =>
    target(http(`${formats}\n${directive}`).logs[0]);

  it('defaults to the predefined combined format, matched without regard to case', () => {
    const combined = { name: 'combined', escape: 'default', format: NGINX_COMBINED, source: 'predefined' };
    assert.deepEqual(one('access_log a.log;').format, combined);
    assert.equal(one('access_log a.log;').formatName, 'combined');
    assert.deepEqual(one('access_log a.log COMBINED;').format, combined);
    // nginx finds its own combined first even when a user format differs only in case.
    assert.deepEqual(one('access_log a.log combined;', `log_format Combined '$status';`).format, combined);
  });

  it('finds log_format names without regard to case', () => {
    const log = one('access_log a.log MAIN;');
    assert.deepEqual(
      [log.formatName, log.format],
      ['MAIN', { name: 'main', escape: 'default', format: '$status', source: 'log_format' }],
    );
  });

  it('looks upstream_log names up in upstream_log_format, then log_format', () => {
    const conf = http(
      [
        `log_format main '$status';`,
        `log_format access '$uri';`,
        `upstream_log_format main '$upstream_last_status';`,
        'upstream_log u1.log main;',
        'upstream_log u2.log access;',
        'upstream_log u3.log;',
        'upstream_log u4.log Combined;',
      ].join('\n'),
    );
    assert.deepEqual(
      conf.logs.map((l) => (l.off ? [] : [l.formatName, l.format.source, l.format.format])),
      [
        ['main', 'upstream_log_format', '$upstream_last_status'],
        ['access', 'log_format', '$uri'],
        ['combined', 'predefined', NGINX_UPSTREAM_COMBINED],
        ['Combined', 'predefined', NGINX_UPSTREAM_COMBINED],
      ],
    );
  });

  it('reports unknown format names with ERR_CONF_FORMAT', () => {
    rejects(() => http('access_log a.log nope;'), 'ERR_CONF_FORMAT', 2, 'unknown log format "nope"');
    rejects(() => http(`upstream_log u.log nope;`), 'ERR_CONF_FORMAT', 2, 'unknown log format "nope"');
    // A forgotten format name makes the first parameter the name, as in nginx.
    rejects(
      () => http('access_log a.log buffer=32k;'),
      'ERR_CONF_FORMAT',
      2,
      'unknown log format "buffer=32k"',
    );
  });

  it('resolves a format defined later, and warns that nginx would not', () => {
    const conf = read(`http {\n include sites/*.conf;\n log_format main '$status';\n}`, {
      '/etc/nginx/sites/a.conf': 'server {\n  access_log a.log main;\n}',
    });
    assert.deepEqual(target(conf.logs[0]).format, {
      name: 'main',
      escape: 'default',
      format: '$status',
      source: 'log_format',
    });
    assert.deepEqual(conf.warnings, [
      {
        file: '/etc/nginx/sites/a.conf',
        line: 2,
        message:
          'log format "main" is defined after this access_log (/etc/nginx/nginx.conf:3); ' +
          'nginx requires the definition first (unknown log format "main")',
      },
    ]);
  });

  it('reads buffer, gzip, flush and if', () => {
    const pick = (l: NginxLogTarget) => [l.buffer, l.gzip, l.flush, l.if];
    assert.deepEqual(pick(one('access_log a.log main buffer=8k;')), [8192, undefined, undefined, undefined]);
    assert.deepEqual(pick(one('access_log a.log main gzip;')), [65536, 1, undefined, undefined]);
    assert.deepEqual(pick(one('access_log a.log main gzip=9 buffer=1m;')), [
      1048576,
      9,
      undefined,
      undefined,
    ]);
    assert.deepEqual(pick(one('access_log a.log main buffer=100 gzip=1;')), [100, 1, undefined, undefined]);
    assert.deepEqual(pick(one('access_log a.log main buffer=1k "flush=1m 30s";')), [
      1024,
      undefined,
      90000,
      undefined,
    ]);
    assert.deepEqual(pick(one('access_log a.log main flush=250ms gzip if=$status;')), [
      65536,
      1,
      250,
      '$status',
    ]);
    assert.deepEqual(pick(one('access_log a.log main if=;')), [undefined, undefined, undefined, '']);
  });

  it('resolves paths: relative against the prefix, absolute and syslog as written', () => {
    const conf = read(
      'access_log logs/a.log;\naccess_log /var/log/b.log;\naccess_log ../c/$host.log;',
      {},
      '/srv/nginx',
    );
    assert.deepEqual(
      conf.logs.map((l) => (l.off ? [] : [l.rawPath, l.path, l.hasVariables])),
      [
        ['logs/a.log', '/srv/nginx/logs/a.log', false],
        ['/var/log/b.log', '/var/log/b.log', false],
        ['../c/$host.log', '/srv/c/$host.log', true],
      ],
    );
    assert.equal(read('access_log x.log;').prefix, '/etc/nginx');
    assert.equal(target(read('access_log x.log;').logs[0]).path, '/etc/nginx/x.log');
  });

  it('reads off, and rejects parameters after it', () => {
    assert.deepEqual(http('upstream_log off;').logs, [
      {
        directive: 'upstream_log',
        module: 'http',
        off: true,
        rawPath: 'off',
        context: [{ directive: 'http', args: [] }],
        serverNames: [],
        file: MAIN,
        line: 2,
      },
    ]);
    rejects(() => http('access_log off main;'), 'ERR_CONF_DIRECTIVE', 2, 'invalid parameter "main"');
  });

  for (const [directive, message] of [
    ['access_log;', 'invalid number of arguments in "access_log" directive'],
    ['access_log a.log main buffer=0;', 'invalid buffer size "0"'],
    ['access_log a.log main buffer=1g;', 'invalid buffer size "1g"'],
    ['access_log a.log main buffer=;', 'invalid buffer size ""'],
    ['access_log a.log main gzip=0;', 'invalid compression level "0"'],
    ['access_log a.log main gzip=10;', 'invalid compression level "10"'],
    ['access_log a.log main gzip=;', 'invalid compression level ""'],
    ['access_log a.log main buffer=1k flush=0;', 'invalid flush time "0"'],
    ['access_log a.log main buffer=1k flush=1y;', 'invalid flush time "1y"'],
    ['access_log a.log main buffer=1k flush=1M;', 'invalid flush time "1M"'],
    ['access_log a.log main buffer=1k flush=5x;', 'invalid flush time "5x"'],
    ['access_log a.log main gzipped;', 'invalid parameter "gzipped"'],
    ['access_log a.log main buffer=1k extra;', 'invalid parameter "extra"'],
    ['access_log a.log main flush=5s;', 'no buffer is defined for access_log "a.log"'],
    ['upstream_log u.log main flush=5s;', 'no buffer is defined for upstream_log "u.log"'],
    ['access_log logs/$host.log main buffer=32k;', 'buffered logs cannot have variables in name'],
    ['access_log logs/$host.log main gzip;', 'buffered logs cannot have variables in name'],
    ['access_log syslog:server=127.0.0.1 main buffer=32k;', 'logs to syslog cannot be buffered'],
    ['access_log syslog:tag=x main;', 'no syslog server specified'],
    [
      'access_log syslog:server=h,tag=a.b main;',
      'syslog "tag" only allows alphanumeric characters and underscore',
    ],
    ['upstream_log syslog:server=h:99999 main;', 'invalid port in syslog server "h:99999"'],
  ] as const) {
    it(`rejects ${directive}`, () =>
      rejects(() => http(`log_format main '$status';${directive}`), 'ERR_CONF_DIRECTIVE', 2, message));
  }

  it('rejects the same buffered file with other parameters, as nginx does', () => {
    const same = 'access_log a.log main buffer=4k;\nserver { access_log a.log main buffer=4k; }';
    assert.equal(http(`log_format main '$status';\n${same}`).logs.length, 2);
    rejects(
      () =>
        http(
          `log_format main '$status';\naccess_log a.log main buffer=4k;\nserver {\n access_log a.log main gzip; }`,
        ),
      'ERR_CONF_DIRECTIVE',
      5,
      'access_log "a.log" already defined with conflicting parameters',
    );
  });

  it('records the enclosing server names, from every server_name directive of the nearest server', () => {
    const conf = http(
      'server {\n server_name a.test;\n server_name b.test c.test;\n location / { access_log x.log; }\n}\naccess_log y.log;',
    );
    assert.deepEqual(
      conf.logs.map((l) => l.serverNames),
      [['a.test', 'b.test', 'c.test'], []],
    );
  });
});

describe('the stream module', () => {
  const conf = read(
    [
      `http { log_format main '$request'; access_log h.log main; }`,
      `stream {`,
      `  log_format main '$remote_addr $session_time $protocol $request';`,
      `  log_format combined '$status';`,
      `  server { access_log s.log main buffer=1k; access_log c.log combined; }`,
      `}`,
    ].join('\n'),
  );

  it('keeps its own format namespace, without a predefined combined', () => {
    assert.deepEqual(
      conf.formats.map((f) => [f.module, f.name]),
      [
        ['http', 'main'],
        ['stream', 'main'],
        ['stream', 'combined'],
      ],
    );
    assert.deepEqual(
      conf.logs.map((l) => (l.off ? [] : [l.module, l.format.format])),
      [
        ['http', '$request'],
        ['stream', '$remote_addr $session_time $protocol $request'],
        ['stream', '$status'],
      ],
    );
  });

  it('checks variables against the stream module', () => {
    assert.deepEqual(conf.warnings, [{ file: MAIN, line: 3, message: 'unknown "request" variable' }]);
  });

  it('requires a format name, and has no upstream_* directives', () => {
    rejects(
      () => read('stream { server { access_log s.log; } }'),
      'ERR_CONF_DIRECTIVE',
      1,
      'log format is not specified',
    );
    rejects(
      () => read('stream { server { access_log s.log combined; } }'),
      'ERR_CONF_FORMAT',
      1,
      'unknown log format "combined"',
    );
    rejects(
      () => read('stream {\n upstream_log u.log; }'),
      'ERR_CONF_DIRECTIVE',
      2,
      '"upstream_log" directive is not allowed here',
    );
  });
});

describe('open_log_file_cache', () => {
  const cache = (args: string) => http(`open_log_file_cache ${args};`).openLogFileCaches[0];

  it('reads parameters, in seconds syntax, as milliseconds', () => {
    const c = cache('max=10 inactive=1y valid=1M min_uses=0');
    assert.deepEqual(
      [c?.max, c?.inactive, c?.valid, c?.minUses, c?.off],
      [10, 365 * 86400 * 1000, 30 * 86400 * 1000, 0, false],
    );
  });

  it('reads off, even with other parameters', () => {
    const c = cache('off max=5');
    assert.deepEqual([c?.off, c?.max], [true, undefined]);
  });

  for (const [args, message] of [
    ['max=0', '"open_log_file_cache" must have "max" parameter'],
    ['inactive=10s', '"open_log_file_cache" must have "max" parameter'],
    ['max=x', 'invalid "open_log_file_cache" parameter "max=x"'],
    ['max=3 inactive=10ms', 'invalid "open_log_file_cache" parameter "inactive=10ms"'],
    ['max=3 valid=', 'invalid "open_log_file_cache" parameter "valid="'],
    ['max=3 min_uses=-1', 'invalid "open_log_file_cache" parameter "min_uses=-1"'],
    ['max=3 foo', 'invalid "open_log_file_cache" parameter "foo"'],
    [
      'max=1 min_uses=1 valid=1 inactive=1 off',
      'invalid number of arguments in "open_log_file_cache" directive',
    ],
  ] as const) {
    it(`rejects ${args}`, () => rejects(() => cache(args), 'ERR_CONF_DIRECTIVE', 2, message));
  }

  it('names upstream_open_log_file_cache in its errors', () => {
    rejects(
      () => http('upstream_open_log_file_cache inactive=1m;'),
      'ERR_CONF_DIRECTIVE',
      2,
      '"upstream_open_log_file_cache" must have "max" parameter',
    );
  });
});

describe('map', () => {
  it('reads keys: regex, case-insensitive regex, escaped, default, hostnames, volatile', () => {
    const conf = http(String.raw`map $uri$is_args $m {
  hostnames; volatile;
  ~a 1; ~*B 2; \~c 3; \\d 4; \default 5; "~" 6; default 0;
}`);
    assert.deepEqual(conf.maps[0], {
      module: 'http',
      source: '$uri$is_args',
      variable: 'm',
      default: '0',
      hostnames: true,
      volatile: true,
      entries: [
        { match: 'a', value: '1', regex: true, caseInsensitive: false },
        { match: 'B', value: '2', regex: true, caseInsensitive: true },
        { match: '~c', value: '3', regex: false, caseInsensitive: false },
        { match: 'd', value: '4', regex: false, caseInsensitive: false },
        { match: 'default', value: '5', regex: false, caseInsensitive: false },
        { match: '', value: '6', regex: true, caseInsensitive: false },
      ],
      file: MAIN,
      line: 2,
    });
    assert.equal(http('map $a $b { }').maps[0]?.default, undefined);
  });

  for (const [text, code, line, message] of [
    ['map $a b { }', 'ERR_CONF_DIRECTIVE', 2, 'invalid variable name "b"'],
    ['map $a $b;', 'ERR_CONF_SYNTAX', 2, 'directive "map" has no opening "{"'],
    ['map $a { }', 'ERR_CONF_DIRECTIVE', 2, 'invalid number of arguments in "map" directive'],
    ['map $a $b {\n default 1;\n default 2;\n}', 'ERR_CONF_DIRECTIVE', 4, 'duplicate default map parameter'],
    ['map $a $b {\n a b c;\n}', 'ERR_CONF_DIRECTIVE', 3, 'invalid number of the map parameters'],
    ['map $a $b {\n a;\n}', 'ERR_CONF_DIRECTIVE', 3, 'invalid number of the map parameters'],
    ['map $a $b {\n a { }\n}', 'ERR_CONF_SYNTAX', 3, 'unexpected "{"'],
  ] as const) {
    it(`rejects ${JSON.stringify(text)}`, () => rejects(() => http(text), code, line, message));
  }

  it('does not read log directives inside data blocks', () => {
    const conf = http('map $a $b { access_log 1; }\ngeo $c { access_log 1; }\ntypes { access_log log; }');
    assert.deepEqual(conf.logs, []);
  });
});
