import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { runCli } from '../../test/support/cli.ts';
import { unquoteConfString } from './format-command.ts';

const COMBINED_LINE =
  '192.0.2.7 - - [22/Nov/2026:18:55:06 +0000] "GET /q\\x22 HTTP/1.1" 200 612 "-" "curl/8.0"';

describe('logtally format', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logtally-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--help lists the format subcommands with examples', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    const text = r.stdout.toString();
    assert.match(text, /format/);
    assert.match(text, /logtally format parse --preset combined/);
    const sub = await runCli(['format', 'parse', '--help']);
    assert.equal(sub.code, 0);
    for (const flag of ['--format', '--preset', '--name', '--nginx-conf', '--escape']) {
      assert.ok(sub.stdout.toString().includes(flag), `parse --help mentions ${flag}`);
    }
  });

  it('format --help lists exactly its subcommands; parse and render --help have examples that work', async () => {
    const r = await runCli(['format', '--help']);
    const text = r.stdout.toString();
    assert.match(text, /^list, parse, render and convert log formats$/m);
    const commands = [...text.slice(text.indexOf('Commands:')).matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]);
    assert.deepEqual(commands, ['list', 'parse', 'render', 'convert', 'help']);
    assert.doesNotMatch(text, /compile/);
    const parseHelp = (await runCli(['format', 'parse', '--help'])).stdout.toString();
    const renderHelp = (await runCli(['format', 'render', '--help'])).stdout.toString();
    const example = (help: string, start: string) => {
      const line = help.split('\n').find((l) => l.trim().startsWith(start));
      assert.ok(line, `an example starting with ${start}`);
      // echo 'INPUT' | logtally format SUB --format 'FORMAT'
      const m = /^ {2}echo '([^']*)' \| logtally (format \w+) --format '([^']*)'$/.exec(line);
      assert.ok(m, line);
      return { input: `${m[1]}\n`, args: [...(m[2] as string).split(' '), '--format', m[3] as string] };
    };
    assert.match(parseHelp, /\nExamples:\n {2}logtally format parse --preset combined /);
    const p = example(parseHelp, 'echo');
    const parsed = await runCli(p.args, p.input);
    assert.equal(parsed.stdout.toString(), '{"remote_addr":"192.0.2.9","status":503,"request_uri":"/api"}\n');
    assert.match(renderHelp, /\nExamples:\n/);
    const rd = example(renderHelp, 'echo');
    const rendered = await runCli(rd.args, rd.input);
    assert.equal(rendered.stdout.toString(), '192.0.2.9 404 /x\n');
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout.toString(), /^\d+\.\d+\.\d+\n$/);
  });

  it('parse --preset combined writes NDJSON and reports bad lines with line:column', async () => {
    const input = `${COMBINED_LINE}\nnot a log line\n${COMBINED_LINE}`;
    const r = await runCli(['format', 'parse', '--preset', 'combined'], input);
    assert.equal(r.code, 1);
    const rows = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], {
      remote_addr: '192.0.2.7',
      remote_user: null,
      time_local: 1795373706,
      request: 'GET /q" HTTP/1.1',
      status: 200,
      body_bytes_sent: 612,
      http_referer: null,
      http_user_agent: 'curl/8.0',
    });
    assert.equal(
      r.stderr,
      '<stdin>:2:1: expected " - " after $remote_addr\n<stdin>: 1 of 3 lines did not match the format\n',
    );
  });

  it('parse reads a gzip file given as an argument', async () => {
    const file = join(dir, 'access.log.gz');
    await writeFile(file, Buffer.concat([gzipSync(`${COMBINED_LINE}\n`), gzipSync(`${COMBINED_LINE}\n`)]));
    const r = await runCli(['format', 'parse', '--preset', 'combined', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().trim().split('\n').length, 2);
  });

  it('parse --format unescapes \\t like nginx.conf and keeps raw bytes', async () => {
    const r = await runCli(
      ['format', 'parse', '--format', '$host\\t$request_uri'],
      Buffer.from('example.com\t/raw/\\x80\\xFF\n', 'latin1'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), '{"host":"example.com","request_uri":"/raw/\\udc80\\udcff"}\n');
  });

  it('render turns NDJSON variables into lines, byte-exact', async () => {
    const r = await runCli(
      ['format', 'render', '--format', '"$request_uri" $status', '--escape', 'none'],
      '{"request_uri":"/a\\"b/\\udc80","status":7}\n{"status":404}\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, Buffer.from('"/a"b/\x80" 007\n"" 404\n', 'latin1'));
  });

  it('render reports invalid JSON with its line number', async () => {
    const r = await runCli(['format', 'render', '--preset', 'logtail'], '{"host":"a"}\n{oops\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^<stdin>:2: invalid JSON/);
    assert.equal(r.stdout.toString().split('\t')[0], 'a');
  });

  it('rejects conflicting or missing format flags with one clear line', async () => {
    const none = await runCli(['format', 'parse']);
    assert.equal(none.code, 2);
    assert.equal(
      none.stderr,
      'logtally: give exactly one of --format STRING, --preset NAME, --name NAME --nginx-conf FILE, --json-format FILE or --typed-json-format FILE\n',
    );
    const bad = await runCli(['format', 'parse', '--format', '$a ${b']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'logtally: the closing bracket in "b" variable is missing at column 4\n');
    const missing = await runCli(['format', 'parse', '--preset', 'combined', join(dir, 'nope.log')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^logtally: ENOENT: no such file or directory, open '.*nope\.log'\n$/);
  });
});

describe('logtally format convert and --dialect', () => {
  it('converts uWSGI apache-combined into nginx logtail, reporting lines that do not match', async () => {
    const r = await runCli(
      ['format', 'convert', '--from', 'uwsgi:apache-combined', '--to', 'nginx:logtail'],
      '192.0.2.7 - - [22/Nov/2026:18:55:06 +0000] "GET /a?b=1 HTTP/1.1" 200 1234 "-" "curl/8 "x""\nbroken\n',
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout.toString(), '-\t192.0.2.7\t1795373706.000\tGET\t/a?b=1\t200\t-\t-\n');
    assert.equal(
      r.stderr,
      '<stdin>:2:1: expected " - " after %(addr)\n<stdin>: 1 of 2 lines did not match the format\n',
    );
  });

  it('parses with --dialect uwsgi', async () => {
    const r = await runCli(
      ['format', 'parse', '--dialect', 'uwsgi', '--format', '%(addr) "%(uagent)" %(status)'],
      '10.0.0.1 "a "quoted" \\ ua" 404\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.toString()), {
      addr: '10.0.0.1',
      uagent: 'a "quoted" \\ ua',
      status: 404,
    });
  });

  it('renders and parses Envoy typed_json_format dictionaries given as YAML', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logtally-envoy-'));
    try {
      const file = join(dir, 'format.yaml');
      await writeFile(file, 'status: "%RESPONSE_CODE%"\npath: "%REQ(:PATH)%"\nduration: "%DURATION%.0"\n');
      const r = await runCli(
        ['format', 'render', '--typed-json-format', file],
        '{"RESPONSE_CODE":404,"REQ(:PATH)":"/x","DURATION":12}\n',
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), '{"status": 404, "path": "/x", "duration": "12.0"}\n');
      const back = await runCli(['format', 'parse', '--typed-json-format', file], r.stdout);
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(JSON.parse(back.stdout.toString()), {
        RESPONSE_CODE: 404,
        'REQ(:PATH)': '/x',
        DURATION: 12,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('converts the Envoy default format into nginx logtail', async () => {
    const r = await runCli(
      ['format', 'convert', '--from', 'envoy:envoy-default', '--to', 'logtail'],
      '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "id" "locations" "tcp://10.0.2.1:80"\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.toString(),
      'locations\t10.0.35.28\t1460751420.310\tPOST\t/api/v1/locations\t204\t0\t0.226\n',
    );
  });

  it('names the flag of a format that does not compile', async () => {
    const r = await runCli(['format', 'convert', '--from', 'combined', '--to', 'nginx:$a ${b']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'logtally: --to: the closing bracket in "b" variable is missing at column 4\n');
  });
});

describe('unquoteConfString', () => {
  it('undoes the escapes of a quoted nginx.conf string', () => {
    assert.equal(unquoteConfString('a\\tb\\nc\\"d\\\\e\\x'), 'a\tb\nc"d\\e\\x');
  });
});
