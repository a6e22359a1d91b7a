/**
 * `logtally frontend`: flags and process lifecycle.
 * @module
 */
import { Command, InvalidArgumentError } from 'commander';
import { daemonLog, runUntilSignal } from '../daemon.ts';
import { parseHostPortList } from '../rpc/address.ts';
import { addSecurityFlags } from '../rpc/flags.ts';
import type { SecurityFlags } from '../rpc/security.ts';
import { MAX_ROWS_HTML } from './limits.ts';

interface Flags extends SecurityFlags {
  listen: string;
  target: string;
  n: number;
  refresh: number;
  allowTarget?: string;
}

function intIn(min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** Splits `a:1, b:2` into addresses. */
export function frontendCommand(version: string, result: { code: number }): Command {
  return addSecurityFlags(
    new Command('frontend')
      .description(
        'the drilldown dashboard: server-rendered HTML (no JavaScript) over a collector or an aggregator',
      )
      .option('--listen <addr>', 'HTTP listen address', ':8080')
      .option('--target <host:port>', 'default gRPC endpoint (aggregator or collector)', 'localhost:9091')
      .option('--n <rows>', 'default number of table rows', intIn(1, MAX_ROWS_HTML), 25)
      .option('--refresh <seconds>', 'auto-refresh interval in seconds; 0 disables', intIn(0, 86_400), 30)
      .option(
        '--allow-target <list>',
        'comma-separated host:port endpoints that ?target= may also query (the default target always may)',
      )
      .addHelpText(
        'after',
        `
Open http://host:8080/ . All state is in the URL (share or bookmark it):
  w=1m|5m|15m|60m|6h|24h   by=website|prefix|uri|status|upstream|method   n=ROWS
  order=requests|bytes|time
  f_website f_prefix f_uri f_status f_upstream f_method   exact filters (f_status also >=400, !=200, …)
  f_website_re f_uri_re   regular expressions; f_website_re_neg=1 / f_uri_re_neg=1 negate them
  raw=1                   the TopN result as JSON instead of HTML
  target=host:port        query another endpoint (only the default and --allow-target ones)
/targets lists the collectors behind an aggregator, with links to their dashboards.

The filter box takes expressions such as  status>=400 AND website~=^api\\. AND uri~=^/v1/

--tls-* and --token-file apply to the gRPC connections to the targets; the dashboard itself
speaks plain HTTP: put a TLS-terminating proxy in front of it when it leaves the host.

Examples:
  logtally frontend --target agg:9091 --allow-target nginx1:9090,nginx2:9090
  curl -s 'http://localhost:8080/?f_status=429&by=prefix&w=1m&raw=1' | jq '.entries[0]'`,
      ),
  ).action(async (f: Flags) => {
    const [{ loadSecurity }, { startFrontend }] = await Promise.all([
      import('../rpc/security.ts'),
      import('./server.ts'),
    ]);
    const log = daemonLog;
    const running = await startFrontend({
      listen: f.listen,
      target: f.target,
      allowTargets: parseHostPortList(f.allowTarget, '--allow-target'),
      n: f.n,
      refresh: f.refresh,
      security: loadSecurity(f),
      version,
      log,
    });
    log(`frontend: http on ${f.listen} (port ${running.port}), default target ${f.target}`);
    await runUntilSignal(() => running.close(), log);
    result.code = 0;
  });
}
