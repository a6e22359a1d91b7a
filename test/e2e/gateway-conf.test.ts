/**
 * `logtally gateway -t` against `nginx -t` (Debian's nginx 1.22) on the same configurations:
 * both accept, or both refuse with the same message at the same file:line, printed in nginx's
 * two lines (`[emerg] MESSAGE in FILE:LINE`, `configuration file FILE test failed`). Every case
 * also pins nginx's own verdict, so a case that stops testing what it says fails.
 *
 * Where the gateway differs on purpose the case says so and the gateway's own verdict is asserted
 * exactly: directives nginx has and the gateway does not implement are refused by name, never
 * ignored. nginx lacks the upstream log module: a configuration using it is checked by the
 * gateway as written, and by both with the module's directives blanked out (line numbers kept).
 *
 * `-t` binds nothing, so the listen ports are arbitrary; every path nginx writes or creates (pid,
 * logs, temporary directories) is inside a temporary prefix.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN } from '../support/cli.ts';
import { findNginx } from '../support/nginx.ts';
import { synopsis } from '../support/synopsis.ts';

const nginx = findNginx();
const skip = nginx ? false : 'nginx is not installed (apt-get install -y nginx); CI installs it';

/**
 * Node's compile cache for the gateway's dozens of starts (kept between runs: Node checks each
 * entry against the source it compiles).
 */
const CACHE = join(tmpdir(), 'logtally-node-compile-cache');

/** Marks the line a case expects the error at (in the http body). */
const HERE = '# <- error';

interface Case {
  readonly name: string;
  /** The body of `http { … }`. */
  readonly http: string;
  /** nginx's message after `[emerg] ` (without ` in FILE:LINE`); absent when the configuration is valid. */
  readonly error?: string;
  /**
   * Where the error is when not on the line marked with HERE: `close` the `}` that ends the http
   * block, `eof` the end of the file, 0 no place (nginx reports it after reading everything).
   */
  readonly line?: 0 | 'close' | 'eof';
  /** nginx finds the error after reading the file, so it first says the syntax is ok. */
  readonly afterSyntax?: true;
  /** Leave out the `events {}` block. */
  readonly noEvents?: true;
  /** Uses the upstream log module, which nginx lacks. */
  readonly module?: true;
  /** Where the gateway differs on purpose: its own message (absent: it accepts) and why. */
  readonly gateway?: { readonly error?: string; readonly why: string };
}

// Both references' Synopsis configurations, with loopback addresses.
const PLACES = {
  servers: ['127.0.0.1:19001', '127.0.0.1:19002'],
  listen: '127.0.0.1:18080',
  logs: 'logs',
} as const;
const SYNOPSIS_LOG_FORMAT = synopsis('000', PLACES);
const SYNOPSIS_UPSTREAM_LOG_FORMAT = synopsis('001', PLACES);

const PROXY = `
    log_format main '$host $remote_addr [$time_local] "$request" $status $upstream_addr $upstream_status';
    map $http_x_tenant $tenant {
        default          public;
        ~^(?<t>[a-z]+)$  $t;
        internal         private;
    }
    map $request_method $is_write {
        default  0;
        POST     1;
        PUT      1;
    }
    upstream app {
        server 127.0.0.1:19001 weight=3 max_fails=2 fail_timeout=5s;
        server 127.0.0.1:19002;
        server 127.0.0.1:19003 backup;
        keepalive 8;
    }
    upstream fallback {
        server 127.0.0.1:19004;
    }
    server {
        listen 127.0.0.1:18081 default_server;
        server_name app.example *.app.example;
        access_log logs/access.log main buffer=32k flush=1s;
        error_page 502 503 504 = @fallback;
        error_page 404 /404.html;
        proxy_next_upstream error timeout http_502 http_503 non_idempotent;
        proxy_next_upstream_tries 3;
        proxy_next_upstream_timeout 10s;
        proxy_connect_timeout 2s;
        proxy_send_timeout 30s;
        proxy_read_timeout 30s;
        proxy_set_header Host $host;
        proxy_set_header X-Tenant $tenant;
        proxy_intercept_errors on;
        client_max_body_size 10m;
        if ($http_x_block) {
            return 403;
        }
        location / {
            proxy_pass http://app;
            limit_except GET POST {
                deny all;
            }
        }
        location = /health {
            return 200 "ok\\n";
        }
        location ^~ /static/ {
            root html;
        }
        location ~* \\.(png|jpg)$ {
            proxy_pass http://app;
        }
        location /api/ {
            proxy_pass http://127.0.0.1:19005/v1/;
            location /api/admin/ {
                allow 127.0.0.1;
                allow 10.0.0.0/8;
                deny all;
                proxy_pass http://app;
            }
            if ($is_write) {
                access_log logs/writes.log main;
            }
        }
        location = /404.html {
            internal;
            root html;
        }
        location @fallback {
            proxy_pass http://fallback;
        }
    }
    server {
        listen 127.0.0.1:18082;
        return 301 https://app.example$request_uri;
    }
`;

/** A server around `body`, for the cases about one directive. */
const server = (body: string) => `
    server {
        listen 127.0.0.1:18080;
${body}
    }
`;

const UNSUPPORTED = 'nginx has it, the gateway does not implement it: refused by name, never ignored';

const CASES: readonly Case[] = [
  // Valid.
  { name: 'the upstream log module synopsis (log_format)', http: SYNOPSIS_LOG_FORMAT, module: true },
  {
    name: 'the upstream log module synopsis (upstream_log_format)',
    http: SYNOPSIS_UPSTREAM_LOG_FORMAT,
    module: true,
  },
  { name: 'maps, if, limit_except, error_page, named and nested locations', http: PROXY },
  {
    name: 'upstream_log with if=, off and a descriptor cache',
    module: true,
    http: `
    log_format main '$remote_addr $upstream_addr $upstream_status';
    map $upstream_status $upstream_failed {
        "~(?:^|:\\s|,\\s)[23][0-9]{2}"  0;
        default                       1;
    }
    upstream_open_log_file_cache max=10 inactive=20s;
    upstream_log logs/upstream.log main;
    upstream_log logs/failed.log main if=$upstream_failed;
    server {
        listen 127.0.0.1:18080;
        location / {
            proxy_pass http://127.0.0.1:19001;
        }
        location /quiet/ {
            upstream_log off;
            proxy_pass http://127.0.0.1:19001;
        }
    }
`,
  },
  {
    name: 'proxy_next_upstream values add up over directives, off wins; updating accepted',
    http: server(`
        proxy_next_upstream error;
        proxy_next_upstream timeout updating;
        location / {
            proxy_next_upstream error off;
            proxy_pass http://127.0.0.1:19001;
        }`),
  },
  {
    name: 'two named locations of one name (nginx takes the first)',
    http: server(`
        location @a {
            return 204;
        }
        location @a {
            return 404;
        }`),
  },

  // Unknown directives, wrong contexts.
  {
    name: 'unknown directive',
    http: server(`        frobnicate on; ${HERE}`),
    error: 'unknown directive "frobnicate"',
  },
  {
    name: 'proxy_pass in server',
    http: server(`        proxy_pass http://127.0.0.1:19001; ${HERE}`),
    error: '"proxy_pass" directive is not allowed here',
  },
  {
    name: 'listen in location',
    http: server(`
        location / {
            listen 127.0.0.1:18081; ${HERE}
        }`),
    error: '"listen" directive is not allowed here',
  },
  {
    name: 'upstream inside server',
    http: server(`
        upstream app { ${HERE}
            server 127.0.0.1:19001;
        }`),
    error: '"upstream" directive is not allowed here',
  },
  {
    name: 'access_log in an if at the server level',
    http: server(`
        if ($http_x_debug) {
            access_log off; ${HERE}
        }`),
    error: '"access_log" directive is not allowed here',
  },
  {
    name: 'return in limit_except',
    http: server(`
        location / {
            limit_except GET {
                return 403; ${HERE}
            }
        }`),
    error: '"return" directive is not allowed here',
  },

  // Arguments.
  {
    name: 'invalid number of arguments',
    http: server(`        proxy_set_header X-Only; ${HERE}`),
    error: 'invalid number of arguments in "proxy_set_header" directive',
  },
  {
    name: 'proxy_next_upstream bad value',
    http: server(`        proxy_next_upstream error http_499; ${HERE}`),
    error: 'invalid value "http_499"',
  },
  {
    name: 'error_page code out of range',
    http: server(`        error_page 200 /x.html; ${HERE}`),
    error: 'value "200" must be between 300 and 599',
  },
  {
    name: 'error_page 499',
    http: server(`        error_page 404 499 /x.html; ${HERE}`),
    error: 'invalid value "499"',
  },
  {
    name: 'error_page with only =code and a URI',
    http: server(`        error_page =200 /x.html; ${HERE}`),
    error: 'invalid value "=200"',
  },
  {
    name: 'invalid return code',
    http: server(`        return 1000; ${HERE}`),
    error: 'invalid return code "1000"',
  },
  {
    name: 'flag that is neither on nor off',
    http: server(`        proxy_intercept_errors maybe; ${HERE}`),
    error: 'invalid value "maybe" in "proxy_intercept_errors" directive, it must be "on" or "off"',
  },
  {
    name: 'bad time, the directive over two lines (nginx names the line of the ";")',
    http: server(`
        proxy_read_timeout
            10x; ${HERE}`),
    error: '"proxy_read_timeout" directive invalid value',
  },
  {
    name: 'bad size',
    http: server(`        client_max_body_size 10q; ${HERE}`),
    error: '"client_max_body_size" directive invalid value',
  },
  {
    name: 'bad number',
    http: server(`        proxy_next_upstream_tries three; ${HERE}`),
    error: '"proxy_next_upstream_tries" directive invalid number',
  },
  {
    name: 'a directive nginx takes once per level, twice',
    http: server(`
        proxy_read_timeout 5s;
        proxy_read_timeout 6s; ${HERE}`),
    error: '"proxy_read_timeout" directive is duplicate',
  },
  {
    name: 'proxy_ignore_headers bad value',
    http: server(`        proxy_ignore_headers X-Accel-Redirect X-Foo; ${HERE}`),
    error: 'invalid value "X-Foo"',
  },
  {
    name: 'allow with a bad network',
    http: server(`        allow 10.0.0.0/33; ${HERE}`),
    error: 'invalid parameter "10.0.0.0/33"',
  },
  {
    name: 'proxy_pass with another scheme',
    http: server(`
        location / {
            proxy_pass ftp://127.0.0.1:19001; ${HERE}
        }`),
    error: 'invalid URL prefix',
  },
  {
    name: 'proxy_pass with a bad port',
    http: server(`
        location / {
            proxy_pass http://127.0.0.1:99999/x; ${HERE}
        }`),
    error: 'invalid port in upstream "127.0.0.1:99999/x"',
  },
  {
    name: 'proxy_pass with a URI in a regex location',
    http: server(`
        location ~ ^/api/ {
            proxy_pass http://127.0.0.1:19001/v1/; ${HERE}
        }`),
    error:
      '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block',
  },
  {
    name: 'duplicate default server',
    http: `
    server {
        listen 127.0.0.1:18080 default_server;
    }
    server {
        listen 127.0.0.1:18080 default_server; ${HERE}
    }
`,
    error: 'a duplicate default server for 127.0.0.1:18080',
  },

  // Upstreams.
  {
    name: 'upstream server weight=0',
    http: `
    upstream app {
        server 127.0.0.1:19001 weight=0; ${HERE}
    }
`,
    error: 'invalid parameter "weight=0"',
  },
  {
    name: 'upstream server max_fails=-1',
    http: `
    upstream app {
        server 127.0.0.1:19001 max_fails=-1; ${HERE}
    }
`,
    error: 'invalid parameter "max_fails=-1"',
  },
  {
    name: 'upstream server fail_timeout in milliseconds',
    http: `
    upstream app {
        server 127.0.0.1:19001 fail_timeout=500ms; ${HERE}
    }
`,
    error: 'invalid parameter "fail_timeout=500ms"',
  },
  {
    name: 'duplicate upstream',
    http: `
    upstream app {
        server 127.0.0.1:19001;
    }
    upstream app { ${HERE}
        server 127.0.0.1:19002;
    }
`,
    error: 'duplicate upstream "app"',
  },
  {
    name: 'keepalive 0',
    http: `
    upstream app {
        server 127.0.0.1:19001;
        keepalive 0; ${HERE}
    }
`,
    error: 'invalid value "0" in "keepalive" directive',
  },
  {
    name: 'upstream without servers (nginx names its closing brace)',
    http: `
    upstream app {
        keepalive 2;
    } ${HERE}
`,
    error: 'no servers are inside upstream',
  },
  {
    name: 'upstream with backup servers only',
    http: `
    upstream app { ${HERE}
        server 127.0.0.1:19001 backup;
    }
`,
    error: 'no servers in upstream "app"',
  },

  // Locations.
  {
    name: 'duplicate location, its name on another line than its brace',
    http: server(`
        location /a/ {
        }
        location
            /a/
        { ${HERE}
        }`),
    error: 'duplicate location "/a/"',
  },
  {
    name: 'invalid location modifier',
    http: server(`        location ~~ /a/ { ${HERE}
        }`),
    error: 'invalid location modifier "~~"',
  },
  {
    name: 'location inside an exact location',
    http: server(`
        location = /a {
            location /a/b { ${HERE}
            }
        }`),
    error: 'location "/a/b" cannot be inside the exact location "/a"',
  },
  {
    name: 'nested location outside its parent',
    http: server(`
        location /a/ {
            location /b/ { ${HERE}
            }
        }`),
    error: 'location "/b/" is outside location "/a/"',
  },
  {
    name: 'limit_except with a bad method',
    http: server(`
        location / {
            limit_except GET FETCH { ${HERE}
                deny all;
            }
        }`),
    error: 'invalid method "FETCH"',
  },

  // if and map.
  {
    name: 'if with ==',
    http: server(`
        location / {
            if ($http_x_a == b) { ${HERE}
                return 403;
            }
        }`),
    error: 'unexpected "==" in condition',
  },
  {
    name: 'if with too many words',
    http: server(`
        location / {
            if ($http_x_a = b c) { ${HERE}
                return 403;
            }
        }`),
    error: 'invalid condition "$http_x_a"',
  },
  {
    name: 'if without a variable',
    http: server(`
        if (foo) { ${HERE}
            return 403;
        }`),
    error: 'invalid condition "foo"',
  },
  {
    name: 'map with one argument',
    http: `
    map $uri { ${HERE}
        default 1;
    }
`,
    error: 'invalid number of arguments in "map" directive',
  },
  {
    name: 'map to something that is not a variable',
    http: `
    map $uri tenant { ${HERE}
        default 1;
    }
`,
    error: 'invalid variable name "tenant"',
  },
  {
    name: 'map with a key twice (keys are caseless)',
    http: `
    map $uri $section {
        /a  1;
        /A  2; ${HERE}
    }
`,
    error: 'conflicting parameter "/a"',
  },
  {
    name: 'map entry with three words',
    http: `
    map $uri $section {
        /a 1 2; ${HERE}
    }
`,
    error: 'invalid number of the map parameters',
  },

  // Logs.
  {
    name: 'access_log with an unknown format',
    http: server(`        access_log logs/a.log nosuch; ${HERE}`),
    error: 'unknown log format "nosuch"',
  },
  {
    name: 'access_log before its log_format',
    http: `
    access_log logs/a.log late; ${HERE}
    log_format late '$uri';
`,
    error: 'unknown log format "late"',
  },
  {
    name: 'log_format twice',
    http: `
    log_format f '$uri';
    log_format f '$status'; ${HERE}
`,
    error: 'duplicate "log_format" name "f"',
  },
  {
    name: 'flush without buffer',
    http: `
    access_log logs/a.log combined flush=5s; ${HERE}
`,
    error: 'no buffer is defined for access_log "logs/a.log"',
  },
  {
    name: 'gzip level 10',
    http: `
    access_log logs/a.log combined gzip=10; ${HERE}
`,
    error: 'invalid compression level "10"',
  },
  {
    name: 'a variable nobody defines (nginx says so without a place)',
    http: `
    log_format f '$uri $no_such_thing';
    access_log logs/a.log f;
`,
    error: 'unknown "no_such_thing" variable',
    line: 0,
  },

  {
    name: 'a variable nobody defines, in an if',
    http: server(`
        location / {
            if ($no_such_flag) {
                return 403;
            }
        }`),
    error: 'unknown "no_such_flag" variable',
    line: 0,
  },

  // Syntax.
  {
    name: 'missing ";"',
    http: server(`
        location / {
            proxy_pass http://127.0.0.1:19001
        } ${HERE}`),
    error: 'unexpected "}"',
  },
  {
    name: 'one "}" too many',
    http: `
    server {
        listen 127.0.0.1:18080;
    }
    }
`,
    error: 'unexpected "}"',
    line: 'close',
  },
  {
    name: 'one "}" too few',
    http: `
    server {
        listen 127.0.0.1:18080;
`,
    error: 'unexpected end of file, expecting "}"',
    line: 'eof',
  },
  {
    name: 'no events block',
    noEvents: true,
    http: server(''),
    error: 'no "events" section in configuration',
    line: 0,
    afterSyntax: true,
    gateway: {
      error: 'no "events" section in configuration',
      why: 'nginx checks this after reading the file and says "syntax is ok" first; the gateway has no such step',
    },
  },

  // Deliberate differences.
  {
    name: 'gzip_static',
    http: server(`        gzip_static on; ${HERE}`),
    gateway: { error: 'directive "gzip_static" is not supported by logtally gateway', why: UNSUPPORTED },
  },
  {
    name: 'rewrite',
    http: server(`        rewrite ^/old/(.*)$ /new/$1 permanent; ${HERE}`),
    gateway: { error: 'directive "rewrite" is not supported by logtally gateway', why: UNSUPPORTED },
  },
  {
    name: 'try_files',
    http: server(`
        location / {
            try_files $uri =404; ${HERE}
        }`),
    gateway: { error: 'directive "try_files" is not supported by logtally gateway', why: UNSUPPORTED },
  },
  {
    name: 'proxy_buffering',
    http: server(`        proxy_buffering off; ${HERE}`),
    gateway: { error: 'directive "proxy_buffering" is not supported by logtally gateway', why: UNSUPPORTED },
  },
  {
    name: 'upstream server max_conns',
    http: `
    upstream app {
        server 127.0.0.1:19001 max_conns=10; ${HERE}
    }
`,
    gateway: {
      error: '"server" parameter "max_conns" is not supported by logtally gateway',
      why: UNSUPPORTED,
    },
  },
  {
    name: 'variables in proxy_pass',
    http: server(`
        location / {
            proxy_pass http://127.0.0.1:19001$request_uri; ${HERE}
        }`),
    gateway: {
      error: 'variables in "proxy_pass" are not supported by logtally gateway',
      why: 'nginx evaluates such a URL per request; the gateway sets its upstreams up once',
    },
  },
  {
    name: 'a variable nginx has and the gateway cannot produce',
    http: `
    log_format f '$remote_addr [$date_local] $ssl_client_s_dn'; ${HERE}
    access_log logs/a.log f;
`,
    gateway: { error: 'variable "$date_local" is not supported by logtally gateway', why: UNSUPPORTED },
  },
  {
    name: 'a listen parameter',
    http: `
    server {
        listen 127.0.0.1:18080 reuseport; ${HERE}
    }
`,
    gateway: {
      error: '"listen" parameter "reuseport" is not supported by logtally gateway',
      why: UNSUPPORTED,
    },
  },
  {
    name: 'a regular expression that does not compile',
    http: server(`        location ~ ^/(a { ${HERE}
        }`),
    error: 'pcre2_compile() failed: missing closing parenthesis in "^/(a"',
    gateway: {
      error: 'pcre_compile() failed: Invalid regular expression: /^/(a/: Unterminated group in "^/(a"',
      why: "the gateway compiles JavaScript regular expressions: same line, the engine's own words",
    },
  },

  // The upstream log module, which only the gateway has.
  {
    name: 'upstream_log with an unknown format',
    module: true,
    http: server(`        upstream_log logs/u.log nosuch; ${HERE}`),
    error: 'unknown log format "nosuch"',
  },
  {
    name: 'upstream_log in an if at the server level',
    module: true,
    http: server(`
        if ($http_x_debug) {
            upstream_log logs/u.log; ${HERE}
        }`),
    error: '"upstream_log" directive is not allowed here',
  },
  {
    name: 'upstream_log_format with an unknown escaping',
    module: true,
    http: `
    upstream_log_format f escape=yaml '$upstream_last_addr'; ${HERE}
`,
    error: 'unknown log format escaping "yaml"',
  },
];

/** Lines 1–3 of every file: the pid, `events {}`, and `http {` (plus nginx's temporary paths). */
const HEAD_LINES = 3;

function configuration(c: Case, prefix: string, forNginx: boolean): string {
  const temp = forNginx
    ? ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((t) => ` ${t}_temp_path ${prefix}/tmp;`)
        .join('')
    : '';
  return [
    `pid ${prefix}/nginx.pid;`,
    c.noEvents ? '# no events block' : 'events {}',
    `http {${temp}`,
    ...c.http.split('\n'),
    '}',
    '',
  ].join('\n');
}

/** Blanks out (keeping line numbers) what only the upstream log module knows. */
function withoutModule(conf: string): string {
  return conf.replace(/^[ \t]*[a-z_]+\b[^;{}]*;/gm, (statement) =>
    /^\s*upstream_(log|open_log)|\$upstream_(last_|method|uri)/.test(statement)
      ? statement.replace(/[^\n]/g, ' ')
      : statement,
  );
}

/** The line the case expects its error at, or 0 for an error without a place. */
function expectedLine(c: Case): number {
  const body = c.http.split('\n').length;
  if (c.line === 'close') return HEAD_LINES + body + 1;
  if (c.line === 'eof') return HEAD_LINES + body + 2;
  if (c.line !== undefined) return c.line;
  const i = c.http.split('\n').findIndex((l) => l.includes(HERE));
  assert.ok(i !== -1, `case "${c.name}" marks no line`);
  return HEAD_LINES + 1 + i;
}

/** stderr as a program's verdict: its lines without the program's name, the file as FILE. */
function verdict(stderr: string, program: string, file: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(`${program}: [warn] `))
    .map((l) => (l.startsWith(`${program}: `) ? l.slice(program.length + 2) : l).replaceAll(file, 'FILE'));
}

function expected(error: string | undefined, line: number, afterSyntax = false): string[] {
  const syntaxOk = 'the configuration file FILE syntax is ok';
  if (error === undefined) return [syntaxOk, 'configuration file FILE test is successful'];
  return [
    ...(afterSyntax ? [syntaxOk] : []),
    `[emerg] ${error}${line ? ` in FILE:${line}` : ''}`,
    'configuration file FILE test failed',
  ];
}

/** Runs a program to its end; its exit status and stderr. */
async function run(
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

async function nginxTest(prefix: string, file: string): Promise<{ code: number | null; lines: string[] }> {
  const r = await run(nginx as string, [
    '-t',
    '-p',
    `${prefix}/`,
    '-c',
    file,
    '-e',
    join(prefix, 'error.log'),
  ]);
  return { code: r.code, lines: verdict(r.stderr, 'nginx', file) };
}

/** `logtally gateway -t -c file`, the real program (with a compile cache: dozens of starts). */
async function gatewayTest(file: string): Promise<{ code: number | null; lines: string[] }> {
  const r = await run(process.execPath, [BIN, 'gateway', '-t', '-c', file], {
    ...process.env,
    NODE_COMPILE_CACHE: CACHE,
  });
  return { code: r.code, lines: verdict(r.stderr, 'logtally gateway', file) };
}

describe('logtally gateway -t agrees with nginx -t', {
  skip,
  concurrency: Math.min(8, availableParallelism()),
}, () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'logtally-gateway-conf-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A fresh prefix with the directories nginx writes into. */
  async function prefixFor(i: number): Promise<string> {
    const prefix = join(root, String(i));
    await mkdir(join(prefix, 'logs'), { recursive: true });
    await mkdir(join(prefix, 'tmp'));
    return prefix;
  }

  CASES.forEach((c, i) => {
    const line = c.error !== undefined || c.gateway?.error !== undefined ? expectedLine(c) : 0;
    const want = expected(c.error, line, c.afterSyntax);
    const wantGateway = c.gateway ? expected(c.gateway.error, line) : want;
    const title = c.gateway ? `${c.name} (differs on purpose: ${c.gateway.why})` : c.name;

    it(title, async () => {
      const prefix = await prefixFor(i);
      const gatewayFile = join(prefix, 'gateway.conf');
      const nginxFile = join(prefix, 'nginx.conf');
      await writeFile(gatewayFile, configuration(c, prefix, false));

      const gw = await gatewayTest(gatewayFile);
      assert.deepEqual(gw.lines, wantGateway, 'the gateway');
      assert.equal(
        gw.code,
        c.gateway ? (c.gateway.error ? 1 : 0) : c.error ? 1 : 0,
        'the gateway exit status',
      );

      if (c.module) {
        // nginx lacks the module: both read the configuration without it, and both accept it.
        const stripped = (p: string) => withoutModule(configuration(c, prefix, p === nginxFile));
        await writeFile(nginxFile, stripped(nginxFile));
        await writeFile(gatewayFile, stripped(gatewayFile));
        const ng = await nginxTest(prefix, nginxFile);
        const gw2 = await gatewayTest(gatewayFile);
        assert.deepEqual(ng.lines, expected(undefined, 0), 'nginx, without the module');
        assert.deepEqual(gw2.lines, ng.lines, 'the gateway, without the module');
        assert.equal(ng.code, 0);
        assert.equal(gw2.code, 0);
        return;
      }

      await writeFile(nginxFile, configuration(c, prefix, true));
      const ng = await nginxTest(prefix, nginxFile);
      assert.deepEqual(ng.lines, want, 'nginx');
      assert.equal(ng.code, c.error === undefined ? 0 : 1);
      if (!c.gateway) assert.equal(gw.code, ng.code);
    });
  });
});
