/**
 * The flags the query commands share (targets, output, filters, transport security), without
 * their validation (in options.ts): defining a command, for its help, loads nothing heavy.
 * @module
 */
import type { Command } from 'commander';
import { addSecurityFlags } from '../../rpc/flags.ts';
import type { SecurityFlags } from '../../rpc/security.ts';

export const DEFAULT_TARGET = 'localhost:9090';

export interface TargetFlags extends SecurityFlags {
  target: string;
  json?: boolean;
  timeout?: string;
}

export interface FilterFlags {
  website?: string;
  prefix?: string;
  uri?: string;
  status?: string;
  upstream?: string;
  method?: string;
  websiteRe?: string;
  websiteReNeg?: boolean;
  uriRe?: string;
  uriReNeg?: boolean;
}

/** Adds --target, --json and the transport-security flags. */
export function addTargetOptions(
  cmd: Command,
  timeout: boolean,
  json = 'print newline-delimited JSON (one object per target) instead of a table',
): Command {
  cmd
    .option(
      '--target <host:port,...>',
      'comma-separated endpoints (collectors or aggregators), queried concurrently',
      DEFAULT_TARGET,
    )
    .option('--json', json);
  if (timeout)
    cmd.option('--timeout <seconds>', 'give up on a target that has not answered after this long', '10');
  return addSecurityFlags(cmd);
}

/** Adds the filter flags. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--website <name>', 'only this website (Host)')
    .option('--prefix <prefix>', 'only this client prefix, like 192.0.2.0/24 or 2001:db8:1::/48')
    .option('--uri <path>', 'only this request path (without query string)')
    .option('--status <expr>', 'only this HTTP status (429) or a comparison: >=500, <400, !=200')
    .option('--upstream <addr>', 'only this upstream address (host:port)')
    .option('--method <method>', 'only this request method (GET, POST, ...)')
    .option('--website-re <regex>', 'only websites matching this regular expression (RE2 syntax)')
    .option(
      '--website-re-neg',
      'negate --website-re: only websites NOT matching it (with "(other)": requests not known one by one)',
    )
    .option('--uri-re <regex>', 'only paths matching this regular expression (RE2 syntax)')
    .option(
      '--uri-re-neg',
      'negate --uri-re: only paths NOT matching it (with "(other)": requests not known one by one, so --uri-re and --uri-re-neg add up to the whole)',
    );
}

export interface RangeFlags {
  window: string;
  from?: string;
  to?: string;
}

/** Adds --window (with its description) and --from/--to. */
export function addWindowOptions(cmd: Command): Command {
  return cmd
    .option(
      '--window <window>',
      'time window: 1m, 5m, 15m, 60m, 6h or 24h (from memory), 7d or 30d (from the --history sink)',
      '5m',
    )
    .option(
      '--from <time>',
      'a range instead of --window, from the history sink: -3d, -12h, -90m, now, or an ISO time (2026-11-02T14:00Z); default 7 days before --to',
    )
    .option('--to <time>', 'end of the range (default now); same forms as --from');
}
