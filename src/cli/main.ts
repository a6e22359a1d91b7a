/**
 * `logtally <command>`: the one executable.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { aggregatorCommand } from '../aggregator/command.ts';
import { collectorCommand } from '../collector/command.ts';
import { demoCommand } from '../demo/command.ts';
import { LogtallyError } from '../format/errors.ts';
import { frontendCommand } from '../frontend/command.ts';
import { gatewayCommand } from '../gateway/command.ts';
import { formatCommand, type Io } from './format-command.ts';
import { Output } from './output.ts';
import { queryCommands } from './query/index.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const io: Io = {
    stdout: new Output(process.stdout),
    stderr: (line) => process.stderr.write(`${line}\n`),
  };
  const result = { code: 0 };
  const program = new Command('logtally')
    .description('write web request logs in the formats operators know, and read them back')
    .version(version(), '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(formatCommand(io, result));
  program.addCommand(collectorCommand(version(), result));
  program.addCommand(aggregatorCommand(version(), result));
  for (const c of queryCommands(io, result)) program.addCommand(c);
  program.addCommand(frontendCommand(version(), result));
  program.addCommand(gatewayCommand(result));
  program.addCommand(demoCommand(result));
  program.commands.forEach((c) => {
    c.exitOverride();
    c.commands.forEach((s) => {
      s.exitOverride();
    });
  });
  program.addHelpText(
    'after',
    `
Examples:
  logtally demo                  (the whole system on generated traffic; npm start)
  logtally format list --nginx-conf /etc/nginx/nginx.conf
  logtally format parse --preset combined /var/log/nginx/access.log
  logtally collector --nginx-conf /etc/nginx/nginx.conf --source web1
  logtally aggregator --collectors web1:9090,web2:9090
  logtally topn --target agg:9091 --group-by prefix --window 1m --status '>=429'
  logtally trend --target web1:9090 --window 60m --website example.com
  logtally frontend --target agg:9091 --listen :8080
  logtally gateway -c examples/gateway.conf
  logtally format parse --name main --nginx-conf /etc/nginx/nginx.conf access.log.1.gz
  echo '{"status":200,"request":"GET / HTTP/1.1"}' | logtally format render --format '$status "$request"'`,
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof LogtallyError) {
      process.stderr.write(`logtally: ${e.message}\n`);
      return 2;
    }
    // System errors (a file that cannot be read, a port already in use …): one line, no stack.
    const err = e as NodeJS.ErrnoException;
    if (typeof err?.code === 'string' && (err.syscall !== undefined || /^E[A-Z]+$/.test(err.code))) {
      process.stderr.write(`logtally: ${err.message}\n`);
      return 2;
    }
    throw e;
  }
}
