/**
 * Deterministic generator of a realistic access-log mix: a few hundred client prefixes with a
 * heavy head, twenty virtual hosts, paths with query strings, weighted statuses, common user
 * agents. The same seed always gives the same records.
 *
 *   node bench/generate.ts [--lines N] [--format combined|logtail] [--seed S] > file
 * @module
 */

import { compileNginx } from '../src/format/nginx/compile.ts';
import { NGINX_COMBINED, NGINX_LOGTAIL } from '../src/format/nginx/presets.ts';
import type { Fields } from '../src/format/nginx/types.ts';
import { prng } from '../test/support/prng.ts';

const HOSTS = Array.from({ length: 20 }, (_, i) => (i === 0 ? 'www.example.com' : `site${i}.example.org`));
const PATHS = [
  '/',
  '/index.html',
  '/api/v1/users',
  '/api/v1/orders',
  '/api/v2/search',
  '/static/app.js',
  '/static/app.css',
  '/images/logo.png',
  '/login',
  '/wp-login.php',
  '/feed.xml',
  '/product/12345',
  '/blog/2026/11/hello-world',
  '/favicon.ico',
  '/health',
];
const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'curl/8.5.0',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
  'python-requests/2.32.3',
  '',
];
const REFERERS = [null, null, 'https://www.google.com/', 'https://www.example.com/', 'https://t.co/abc'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT'];
const STATUSES: [number, number][] = [
  [200, 0.78],
  [304, 0.06],
  [404, 0.05],
  [301, 0.04],
  [429, 0.03],
  [500, 0.01],
  [502, 0.01],
  [503, 0.01],
  [403, 0.01],
];

export { prng };

/** Yields `count` request records with the variables of both presets. */
export function* records(count: number, seed = 42): Generator<Fields> {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  // Heavy head: a few prefixes send most of the traffic.
  const prefixes = Array.from({ length: 400 }, (_, i) =>
    i % 10 === 9 ? `2001:db8:${i.toString(16)}::` : `${10 + (i % 200)}.${(i * 7) % 256}.${(i * 13) % 256}.`,
  );
  let t = 1763837706;
  for (let i = 0; i < count; i++) {
    if (rand() < 0.05) t += 1;
    const p = prefixes[Math.floor(prefixes.length * rand() ** 3)] as string;
    const addr = p.endsWith('::')
      ? `${p}${Math.floor(rand() * 65535).toString(16)}`
      : `${p}${Math.floor(rand() * 256)}`;
    let status = 200;
    let r = rand();
    for (const [s, w] of STATUSES) {
      if (r < w) {
        status = s;
        break;
      }
      r -= w;
    }
    const path = pick(PATHS);
    const uri = rand() < 0.3 ? `${path}?q=${Math.floor(rand() * 1e6)}&page=${Math.floor(rand() * 20)}` : path;
    const method = pick(METHODS);
    const ms = Math.floor(rand() * 1000);
    yield {
      host: pick(HOSTS),
      remote_addr: addr,
      remote_user: null,
      time_local: t,
      msec: (t * 1000 + ms) / 1000,
      request_method: method,
      request_uri: uri,
      request: `${method} ${uri} HTTP/1.1`,
      status,
      body_bytes_sent: status === 304 ? 0 : Math.floor(rand() * 50_000),
      request_time: Math.floor(rand() ** 4 * 5000) / 1000,
      http_referer: pick(REFERERS),
      http_user_agent: pick(UAS),
    };
  }
}

export const BENCH_FORMATS = { combined: NGINX_COMBINED, logtail: NGINX_LOGTAIL } as const;

if (import.meta.main) {
  const arg = (name: string, def: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i === -1 ? def : (process.argv[i + 1] ?? def);
  };
  const name = arg('format', 'combined') as keyof typeof BENCH_FORMATS;
  const fmt = compileNginx(BENCH_FORMATS[name], { utcOffset: 0 });
  let out = '';
  for (const rec of records(Number(arg('lines', '1000000')), Number(arg('seed', '42')))) {
    out += `${fmt.render(rec)}\n`;
    if (out.length > 1 << 20) {
      process.stdout.write(out);
      out = '';
    }
  }
  process.stdout.write(out);
}
