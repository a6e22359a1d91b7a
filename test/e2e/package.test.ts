/**
 * The published package, as a user gets it: `npm pack` (prepack builds dist/), the tarball
 * installed into a temporary prefix (`npm install -g --prefix`), and the installed `logtally`
 * run. The tarball holds the compiled program, the proto, README and LICENSE, and no tests, test
 * tables or sources. On a Node older than 22.19 (the system Node here, if there is one) the
 * installed command says in one line which Node it needs and exits 2; a checkout's bin/logtally
 * runs on the repository's own Node instead.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BIN } from '../support/cli.ts';
import { freePort, waitForListening } from '../support/listening.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const LINE =
  '192.0.2.7 - - [02/Dec/2026:16:47:52 +0000] "GET /cart?id=7 HTTP/1.1" 200 524 "-" "curl/7.88.1"\n';

/** A Node older than 22.19 on this machine (the system Node), or undefined. */
function oldNode(): { path: string; version: string } | undefined {
  const r = spawnSync('sh', ['-c', 'which -a node; ls /usr/bin/node /usr/local/bin/node 2>/dev/null'], {
    encoding: 'utf8',
  });
  for (const path of new Set(r.stdout.split('\n').filter(Boolean))) {
    const v = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const [major = 0, minor = 0] = v.replace(/^v/, '').split('.').map(Number);
    if (v && (major < 22 || (major === 22 && minor < 19))) return { path, version: v };
  }
  return undefined;
}

async function run(
  cmd: string,
  args: readonly string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd ?? ROOT,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(options.stdin ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe('the npm package', { timeout: 600_000 }, () => {
  let dir: string;
  let tarball: string;
  let files: string[];
  let installed: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logtally-pack-'));
    // npm runs on whatever Node is first on PATH; prepack's `npm run build` needs this one (24).
    const env = { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}` };
    const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], { env });
    assert.equal(pack.code, 0, pack.stderr);
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [
      { filename: string; files: { path: string }[] },
    ];
    tarball = join(dir, info[0].filename);
    files = info[0].files.map((f) => f.path);
    const prefix = join(dir, 'prefix');
    const install = await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { env },
    );
    assert.equal(install.code, 0, install.stderr);
    installed = join(prefix, 'bin', 'logtally');
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds the compiled program, the proto, README and LICENSE, and no tests, tables or sources', () => {
    for (const f of ['bin/logtally', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts']) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    for (const f of ['proto/logtally/v1/logtally.proto', 'README.md', 'LICENSE', 'package.json']) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    const unwanted = files.filter(
      (f) =>
        /\.test\.|\.case\.|\.map$/.test(f) ||
        f.startsWith('src/') ||
        f.startsWith('test/') ||
        f.startsWith('bench/'),
    );
    assert.deepEqual(unwanted, []);
  });

  it('runs from the prefix on Node 24: --version, and format parse --preset combined', async () => {
    const env = { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}` };
    // As a program (its sh line starts the `node` on PATH), as a shell runs it.
    const v = await run(installed, ['--version'], { env, cwd: dir });
    assert.deepEqual(v, { code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const p = await run(installed, ['format', 'parse', '--preset', 'combined'], {
      stdin: LINE,
      env,
      cwd: dir,
    });
    assert.equal(p.stderr, '');
    assert.equal(p.code, 0);
    assert.deepEqual(JSON.parse(p.stdout), {
      remote_addr: '192.0.2.7',
      remote_user: null,
      time_local: 1796230072,
      request: 'GET /cart?id=7 HTTP/1.1',
      status: 200,
      body_bytes_sent: 524,
      http_referer: null,
      http_user_agent: 'curl/7.88.1',
    });
    // The installed package is the build, not the sources.
    const pkg = await readdir(join(dir, 'prefix', 'lib', 'node_modules', 'logtally'));
    assert.deepEqual(pkg.sort(), [
      'LICENSE',
      'README.md',
      'bin',
      'dist',
      'node_modules',
      'package.json',
      'proto',
    ]);
  });

  it('starts the collector, run as a program, with its young generation capped (--max-semi-space-size=8) and glibc malloc set', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`,
    };
    // A setting of the operator's own is kept; the other gets the default.
    env.MALLOC_ARENA_MAX = '4';
    delete env.MALLOC_MMAP_THRESHOLD_;
    delete env.GLIBC_TUNABLES;
    const port = await freePort();
    const log = join(dir, 'empty.log');
    writeFileSync(log, '');
    const child = spawn(
      installed,
      ['collector', '--logs', log, '--listen', `127.0.0.1:${port}`, '--metrics-listen', ''],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env,
        cwd: dir,
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      await waitForListening('collector', child, port, () => stderr, 60_000);
      // sh exec'd Node in its own process: the pid is Node's, its command line the flags.
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').split('\0');
      assert.equal(cmdline[1], '--max-semi-space-size=8', cmdline.join(' '));
      assert.equal(cmdline[3], 'collector', cmdline.join(' '));
      const environ = readFileSync(`/proc/${child.pid}/environ`, 'latin1').split('\0');
      assert.deepEqual(environ.filter((e) => /^(MALLOC_|GLIBC_TUNABLES=)/.test(e)).sort(), [
        'GLIBC_TUNABLES=glibc.malloc.hugetlb=1',
        'MALLOC_ARENA_MAX=4',
        'MALLOC_MMAP_THRESHOLD_=131072',
      ]);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
    // Other commands start Node with its defaults.
    const v = await run(installed, ['--version'], { env, cwd: dir });
    assert.equal(v.code, 0);
  });

  const old = oldNode();
  it(`says which Node it needs on ${old ? `${old.path} (${old.version})` : 'an old Node (none here)'}`, {
    skip: old ? false : 'no Node older than 22.19 on this machine',
  }, async () => {
    const o = old as { path: string; version: string };
    const r = await run(o.path, [installed, '--version'], { cwd: dir });
    assert.deepEqual(r, {
      code: 2,
      stdout: '',
      stderr: `logtally needs Node >= 22.19 (this is ${o.version})\n`,
    });
  });

  it(`in a checkout, bin/logtally on ${old ? old.version : 'an old Node'} runs on the repository's own Node`, {
    skip: old ? false : 'no Node older than 22.19 on this machine',
  }, async () => {
    const o = old as { path: string; version: string };
    const r = await run(o.path, [BIN, 'format', 'parse', '--preset', 'combined'], { stdin: LINE });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).status, 200);
  });
});

describe('the benchmarks of the collector store and the aggregator', () => {
  it('run Node with the malloc settings bin/logtally starts the collector and the aggregator with', () => {
    // The launcher's sh line: NAME="${NAME:-VALUE}" for each setting it gives a default.
    const line = readFileSync(join(ROOT, 'bin', 'logtally'), 'utf8').split('\n')[1] ?? '';
    const settings = [...line.matchAll(/(\w+)="\$\{\1:-([^}]*)\}"/g)].map((m) => `${m[1]}=${m[2]}`);
    assert.deepEqual(settings, [
      'MALLOC_ARENA_MAX=2',
      'MALLOC_MMAP_THRESHOLD_=131072',
      'GLIBC_TUNABLES=glibc.malloc.hugetlb=1',
    ]);
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    for (const name of ['bench:store', 'bench:aggregator'])
      assert.ok(
        scripts[name]?.startsWith(`${settings.join(' ')} node --expose-gc --max-semi-space-size=8 `),
        name,
      );
  });
});
