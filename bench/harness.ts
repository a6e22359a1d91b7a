/**
 * What every throughput benchmark shares: the median of several runs, measured in one process;
 * and the program as a user installs it.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Packs this checkout (`npm pack`, which builds `dist/`) and installs the tarball under `dir`
 * (`npm install -g --prefix`), as a user installs logtally; returns the installed `logtally`.
 */
export function installPackage(dir: string): string {
  const env = { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}` };
  const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const tarball = join(
    dir,
    (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [{ filename: string }])[0].filename,
  );
  const prefix = join(dir, 'prefix');
  const install = spawnSync(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { cwd: dir, env, encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`npm install failed: ${install.stderr}`);
  return join(prefix, 'bin', 'logtally');
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Runs `fn` `runs` times; each run handles `count` items and returns a sink value (so the work
 * cannot be optimised away). Prints and returns the median rate in items/s.
 */
export function measure(label: string, count: number, fn: () => number, runs: number, width = 44): number {
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint();
    sink += fn();
    rates.push(count / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  const m = median(rates);
  console.log(
    `${label.padEnd(width)} ${Math.round(m).toLocaleString('en-US').padStart(12)} lines/s  (sink ${sink})`,
  );
  return m;
}
