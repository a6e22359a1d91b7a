/**
 * `logtally gateway`: flags, `-t`, and the process lifecycle (SIGHUP reload, SIGUSR1 reopen,
 * SIGTERM/SIGINT drain and stop).
 * @module
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { daemonLog } from '../daemon.ts';
import { ConfError } from '../format/errors.ts';
import type { Gateway } from './server.ts';

interface Flags {
  c: string;
  t?: boolean;
  p?: string;
}

const NAME = 'logtally gateway';

/** nginx's wording: `message in file:line`. */
export function emergMessage(e: unknown): string {
  if (e instanceof ConfError) {
    const prefix = `${e.file}:${e.line}: `;
    const m = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return `${m} in ${e.file}:${e.line}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function gatewayCommand(result: { code: number }): Command {
  return new Command('gateway')
    .description(
      'a reverse proxy configured in nginx syntax that writes an access log line per request and an upstream log line per upstream contact',
    )
    .requiredOption('-c, --config <file>', 'the configuration file (nginx syntax)')
    .option('-t, --test', 'only check the configuration (as nginx -t), then exit 0 or 1')
    .option(
      '-p, --prefix <dir>',
      "directory relative log paths are resolved against (default: the configuration file's)",
    )
    .addHelpText(
      'after',
      `
The configuration is the nginx subset that makes sense for a logging reverse proxy:
  http, server (listen [ssl] [default_server], server_name, ssl_certificate[_key], root),
  location (prefix, =, ^~, ~, ~*, @named, nested), if (in server/location), limit_except
  (allow/deny), upstream (server ADDR [weight= max_fails= fail_timeout= backup down]; keepalive N),
  proxy_pass (group or URL, nginx's URI replacement), proxy_next_upstream (error timeout
  invalid_header http_500 http_502 http_503 http_504 http_403 http_404 http_429 non_idempotent off),
  proxy_next_upstream_tries/_timeout, proxy_connect/send/read_timeout, proxy_set_header,
  proxy_pass_request_headers, proxy_intercept_errors, proxy_ignore_headers X-Accel-Redirect,
  client_body_timeout and send_timeout (60s, as nginx),
  return, error_page (URI or @named, =code), internal, client_max_body_size, map,
  log_format, upstream_log_format, access_log, upstream_log (buffer= gzip[=level] flush= if= if!=,
  syslog:, variables in the path, off), open_log_file_cache, upstream_open_log_file_cache.
  events/worker_processes/worker_connections/daemon/master_process/user are accepted and have no
  effect (one Node process); pid writes the pid file; error_log is accepted, diagnostics go to stderr.
A directive nginx has and the gateway does not implement is refused by name, never ignored.

Logs are written as the upstream log module writes them: an upstream_log line when each upstream
contact ends (a failed attempt's line before the retry begins), an access_log line per request.

Signals: SIGHUP reloads the configuration (a bad one is reported and the old one keeps serving),
SIGUSR1 reopens the log files, SIGTERM/SIGINT stop accepting, finish requests in flight, flush logs.

Examples:
  logtally gateway -t -c examples/gateway.conf
  logtally gateway -c examples/gateway.conf`,
    )
    .action(async (f: { config: string; test?: boolean; prefix?: string }) => {
      const path = resolve(f.config);
      const { Gateway, prepare } = await import('./server.ts');
      if (f.test) {
        try {
          const { runtime } = await prepare(path, f.prefix, () => {});
          runtime.close();
        } catch (e) {
          process.stderr.write(`${NAME}: [emerg] ${emergMessage(e)}\n`);
          process.stderr.write(`${NAME}: configuration file ${path} test failed\n`);
          result.code = 1;
          return;
        }
        process.stderr.write(`${NAME}: the configuration file ${path} syntax is ok\n`);
        process.stderr.write(`${NAME}: configuration file ${path} test is successful\n`);
        result.code = 0;
        return;
      }
      let gw: Gateway;
      try {
        gw = await Gateway.start({
          config: path,
          ...(f.prefix !== undefined ? { prefix: f.prefix } : {}),
          log: daemonLog,
        });
      } catch (e) {
        process.stderr.write(`${NAME}: [emerg] ${emergMessage(e)}\n`);
        result.code = 1;
        return;
      }
      daemonLog(`gateway: listening on ${gw.addresses.join(' ')} (pid ${process.pid})`);
      await new Promise<void>((done) => {
        const onHup = () => {
          void gw.reload().then((err) => {
            if (err)
              daemonLog(
                `gateway: [emerg] reload refused, the old configuration keeps serving: ${err.replace(/^(\S+):(\d+): (.*)$/s, '$3 in $1:$2')}`,
              );
            else daemonLog(`gateway: configuration reloaded; listening on ${gw.addresses.join(' ')}`);
          });
        };
        const onUsr1 = () => {
          gw.reopen();
          daemonLog('gateway: log files reopened');
        };
        const onStop = (sig: NodeJS.Signals) => {
          process.off('SIGHUP', onHup);
          process.off('SIGUSR1', onUsr1);
          process.off('SIGTERM', onStop);
          process.off('SIGINT', onStop);
          daemonLog(`${sig}: gateway draining`);
          void gw.stop().then(done, done);
        };
        process.on('SIGHUP', onHup);
        process.on('SIGUSR1', onUsr1);
        process.on('SIGTERM', onStop);
        process.on('SIGINT', onStop);
      });
      result.code = 0;
    });
}

export type { Flags };
