/**
 * `logtally demo`: flags; the demo itself is loaded when it runs (src/demo/run.ts).
 * @module
 */
import { Command, InvalidArgumentError } from 'commander';

/** `25s`, `10m`, `1h`, or seconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 25s, 10m or 1h');
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (!(ms > 0)) throw new InvalidArgumentError('expected a duration greater than 0');
  return ms;
}

function portBase(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1024 || n > 65_535 - 20) {
    throw new InvalidArgumentError('expected a port from 1024 to 65515');
  }
  return n;
}

export function demoCommand(result: { code: number }): Command {
  return new Command('demo')
    .description(
      'the whole system on live generated traffic, on loopback: gateway, apps, collectors, aggregator, dashboard',
    )
    .option(
      '--duration <time>',
      'stop by itself after this long (25s, 10m, 1h); default: until Ctrl-C',
      parseDuration,
    )
    .option(
      '--port-base <port>',
      'use 11 consecutive ports from this one (default: free ports chosen by the system)',
      portBase,
    )
    .option(
      '--dir <dir>',
      'keep the logs, configuration and diagnostics here (default: a temporary directory, removed at the end)',
    )
    .addHelpText(
      'after',
      `
Starts, on 127.0.0.1 only: four backends (one answers 502 for a minute every five, one is slow
in episodes) behind \`logtally gateway\` (access log in combined-with-host, upstream log with the
upstream variables), a second app logging in a uWSGI layout and a third (an API with a rate
limit: 429) logging in Envoy's default format, a traffic generator (many websites, IPv4 and IPv6
client prefixes, a 429 burst from one prefix), two collectors (one finds the gateway's logs with
--nginx-conf), an aggregator and the dashboard. The logs begin with 24 hours of generated
history, so the 6h and 24h windows are not empty. It prints what runs where and three things to
try; Ctrl-C (or --duration) stops every process it started.

Gateway clients connect from loopback source addresses (127.a.b.c), so the gateway logs a real
peer address per client; the two apps take the client from X-Forwarded-For, as apps behind a
proxy do.

Examples:
  logtally demo                        (npm start in a checkout)
  logtally demo --duration 10m --port-base 18000`,
    )
    .action(async (f: { duration?: number; portBase?: number; dir?: string }) => {
      const { runDemo } = await import('./run.ts');
      result.code = await runDemo({
        ...(f.duration !== undefined ? { durationMs: f.duration } : {}),
        ...(f.portBase !== undefined ? { portBase: f.portBase } : {}),
        ...(f.dir !== undefined ? { dir: f.dir } : {}),
        out: (line) => process.stdout.write(`${line}\n`),
      });
    });
}
