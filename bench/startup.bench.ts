/**
 * Start-up cost of the `logtally` command: CPU time (user + system, every thread) and wall time of
 * `logtally --version` and `logtally topn --help`, from the installed package (`npm pack`, then
 * `npm install -g --prefix` a temporary directory) and from the checkout (the TypeScript sources,
 * types stripped by Node). The peer in the same run is `node -e 0`: what Node itself costs.
 *
 * Each child is started with a preloaded module that reports `process.cpuUsage()` and
 * `process.resourceUsage().maxRSS` on exit (through fd 3): the figures cover the whole process,
 * from exec to exit. RUNS (default 21) runs per case, interleaved; medians printed.
 *
 *   npm run bench:startup            RUNS=41 npm run bench:startup
 * @module
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installPackage, median } from './harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 21);
const dir = mkdtempSync(join(tmpdir(), 'logtally-startup-'));

const probe = join(dir, 'probe.mjs');
writeFileSync(
  probe,
  `import { writeSync } from 'node:fs';
process.on('exit', () => {
  const u = process.cpuUsage();
  writeSync(3, JSON.stringify({ cpu: (u.user + u.system) / 1000, rss: process.resourceUsage().maxRSS / 1024 }));
});
`,
);

interface Sample {
  cpu: number;
  wall: number;
  rss: number;
}

async function once_(args: readonly string[]): Promise<Sample> {
  const t = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', pathToFileURL(probe).href, ...args], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    cwd: dir,
  });
  let report = '';
  let stderr = '';
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
    report += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}: ${stderr}`);
  const r = JSON.parse(report) as { cpu: number; rss: number };
  return { cpu: r.cpu, wall, rss: r.rss };
}

// The installed package.
const installed = installPackage(dir);
const checkout = join(ROOT, 'bin', 'logtally');

const cases: [string, string[]][] = [
  ['node -e 0 (peer)', ['-e', '0']],
  ['installed: logtally --version', [installed, '--version']],
  ['installed: logtally topn --help', [installed, 'topn', '--help']],
  ['checkout: bin/logtally --version', [checkout, '--version']],
  ['checkout: bin/logtally topn --help', [checkout, 'topn', '--help']],
];
const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]));
for (const [, args] of cases) await once_(args); // warm the file cache
for (let r = 0; r < RUNS; r++) {
  for (const [name, args] of cases) samples.get(name)?.push(await once_(args));
}
rmSync(dir, { recursive: true, force: true });

console.log(
  `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${RUNS} runs per case, medians`,
);
console.log(`${'case'.padEnd(38)} ${'CPU ms'.padStart(8)} ${'wall ms'.padStart(8)} ${'RSS MB'.padStart(7)}`);
const peer = median((samples.get(cases[0]?.[0] ?? '') ?? []).map((s) => s.cpu));
for (const [name] of cases) {
  const s = samples.get(name) ?? [];
  const cpu = median(s.map((x) => x.cpu));
  console.log(
    `${name.padEnd(38)} ${cpu.toFixed(1).padStart(8)} ${median(s.map((x) => x.wall))
      .toFixed(1)
      .padStart(8)} ${median(s.map((x) => x.rss))
      .toFixed(1)
      .padStart(7)}   ${(cpu / peer).toFixed(2)}× peer`,
  );
}
