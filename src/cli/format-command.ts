/**
 * `logtally format list|parse|render`: the format engine from the shell.
 * @module
 */
import { Command, Option } from 'commander';
import { encodeLine } from '../format/bytes.ts';
import { LineParseError, LogtallyError } from '../format/errors.ts';
import { compileNginx } from '../format/nginx/compile.ts';
import type { EscapeMode } from '../format/nginx/escape.ts';
import { NGINX_PRESETS } from '../format/nginx/presets.ts';
import type { CompiledNginxFormat, RenderSource } from '../format/nginx/types.ts';
import { readNginxConf, unescapeConfWord } from '../format/nginx-conf/index.ts';
import { openInput, readLines } from './lines.ts';
import type { Output } from './output.ts';

/** Undoes the escapes nginx accepts inside a quoted configuration string: \t \r \n \" \' \\. */
export const unquoteConfString = unescapeConfWord;

interface FormatFlags {
  format?: string;
  preset?: string;
  name?: string;
  nginxConf?: string;
  escape?: EscapeMode;
}

/** Resolves the format flags to one compiled format, or throws a LogtallyError naming the flag. */
export function formatFromFlags(flags: FormatFlags): CompiledNginxFormat {
  const chosen = [flags.format !== undefined, flags.preset !== undefined, flags.name !== undefined].filter(
    Boolean,
  ).length;
  if (chosen !== 1) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      'give exactly one of --format STRING, --preset NAME or --name NAME --nginx-conf FILE',
    );
  }
  if (flags.format !== undefined) {
    return compileNginx(unquoteConfString(flags.format), { escape: flags.escape ?? 'default' });
  }
  if (flags.preset !== undefined) {
    const preset = Object.hasOwn(NGINX_PRESETS, flags.preset) ? NGINX_PRESETS[flags.preset] : undefined;
    if (!preset) {
      throw new LogtallyError(
        'ERR_FORMAT_UNKNOWN_PRESET',
        `--preset: unknown preset "${flags.preset}" (expected one of: ${Object.keys(NGINX_PRESETS).join(', ')})`,
      );
    }
    return compileNginx(preset.format, { escape: flags.escape ?? 'default' });
  }
  if (flags.nginxConf === undefined) {
    throw new LogtallyError('ERR_FORMAT_OPTION', '--name needs --nginx-conf FILE');
  }
  const conf = readNginxConf(flags.nginxConf);
  const def =
    conf.formats.find((f) => f.directive === 'log_format' && f.name === flags.name) ??
    conf.formats.find((f) => f.name === flags.name);
  if (def) return compileNginx(def.format, { escape: flags.escape ?? def.escape });
  if (flags.name === 'combined') return compileNginx(NGINX_PRESETS.combined?.format ?? '', {});
  throw new LogtallyError(
    'ERR_FORMAT_OPTION',
    `--name: no log_format "${flags.name}" in ${flags.nginxConf} (defined: ${
      conf.formats.map((f) => f.name).join(', ') || 'none'
    })`,
  );
}

function addFormatOptions(cmd: Command): Command {
  return cmd
    .option(
      '--format <string>',
      'an nginx log_format string (\\t, \\n, \\" and \\\\ are unescaped as in nginx.conf)',
    )
    .addOption(new Option('--preset <name>', 'a predefined format').choices(Object.keys(NGINX_PRESETS)))
    .option('--name <name>', 'a log_format or upstream_log_format defined in --nginx-conf')
    .option('--nginx-conf <file>', 'the nginx.conf to read --name from (includes are followed)')
    .addOption(
      new Option(
        '--escape <mode>',
        'escape mode of --format/--preset (default: default, or from nginx.conf)',
      ).choices(['default', 'json', 'none']),
    );
}

export interface Io {
  stdout: Output;
  stderr: (line: string) => void;
}

async function runParse(file: string, flags: FormatFlags, io: Io): Promise<number> {
  const fmt = formatFromFlags(flags);
  let lineNo = 0;
  let failed = 0;
  const where = file === '-' ? '<stdin>' : file;
  for await (const line of readLines(openInput(file))) {
    lineNo++;
    const r = fmt.parse(line);
    if (r instanceof LineParseError) {
      failed++;
      io.stderr(`${where}:${lineNo}:${r.column}: ${r.reason}`);
      continue;
    }
    await io.stdout.write(`${JSON.stringify(r)}\n`);
    if (io.stdout.closed) break;
  }
  if (failed > 0) io.stderr(`${where}: ${failed} of ${lineNo} lines did not match the format`);
  return failed > 0 ? 1 : 0;
}

async function runRender(file: string, flags: FormatFlags, io: Io): Promise<number> {
  const fmt = formatFromFlags(flags);
  let lineNo = 0;
  let failed = 0;
  const where = file === '-' ? '<stdin>' : file;
  for await (const line of readLines(openInput(file))) {
    lineNo++;
    if (line.trim() === '') continue;
    let vars: unknown;
    try {
      vars = JSON.parse(line);
    } catch (e) {
      failed++;
      io.stderr(`${where}:${lineNo}: invalid JSON: ${(e as Error).message}`);
      continue;
    }
    if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) {
      failed++;
      io.stderr(`${where}:${lineNo}: expected a JSON object of variables`);
      continue;
    }
    await io.stdout.write(encodeLine(`${fmt.render(vars as RenderSource)}\n`));
    if (io.stdout.closed) break;
  }
  return failed > 0 ? 1 : 0;
}

/** `32768` → `32k`, as nginx.conf would say it. */
function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}m`;
  if (bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}

/** `90000` → `90s`, as nginx.conf would say it. */
function timeText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

async function runList(confPath: string, json: boolean, io: Io): Promise<number> {
  const conf = readNginxConf(confPath);
  if (json) {
    const { root: _root, ...model } = conf;
    await io.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
  } else {
    for (const f of conf.formats) {
      const escape = f.escape === 'default' ? '' : ` escape=${f.escape}`;
      const stream = f.module === 'stream' ? ' (stream)' : '';
      await io.stdout.write(
        `${f.file}:${f.line}: ${f.directive} ${f.name}${escape}${stream} ${JSON.stringify(f.format)}\n`,
      );
    }
    for (const l of conf.logs) {
      if (l.off) {
        await io.stdout.write(`${l.file}:${l.line}: ${l.directive} off\n`);
        continue;
      }
      const opts: string[] = [];
      if (l.buffer !== undefined) opts.push(`buffer=${sizeText(l.buffer)}`);
      if (l.gzip !== undefined) opts.push(`gzip=${l.gzip}`);
      if (l.flush !== undefined) opts.push(`flush=${timeText(l.flush)}`);
      if (l.if !== undefined) opts.push(`if=${l.if}`);
      const source = l.format.source === 'predefined' ? ' (predefined)' : '';
      await io.stdout.write(
        `${l.file}:${l.line}: ${l.directive} ${l.path} ${l.formatName}${source}${opts.length ? ` ${opts.join(' ')}` : ''}\n`,
      );
    }
  }
  for (const w of conf.warnings) io.stderr(`${w.file}:${w.line}: warning: ${w.message}`);
  return 0;
}

/** Builds the `format` command; `result` receives each action's exit status. */
export function formatCommand(io: Io, result: { code: number }): Command {
  const cmd = new Command('format').description('compile, list, parse and render log formats');
  cmd
    .command('list')
    .description(
      'list every log format and every log (path, format, options) in an nginx.conf, with file:line',
    )
    .requiredOption('--nginx-conf <file>', 'the nginx.conf to read (includes are followed)')
    .option('--json', 'print the whole model (formats, logs, caches, maps, warnings) as JSON')
    .action(async (o: { nginxConf: string; json?: boolean }) => {
      result.code = await runList(o.nginxConf, o.json === true, io);
    });
  addFormatOptions(
    cmd
      .command('parse')
      .description(
        'parse log lines into NDJSON fields; a line that does not match is reported on stderr as file:line:column and parsing continues (exit 1 if any failed)',
      )
      .argument('[file]', 'log file to read (.gz is decompressed); - or nothing for stdin', '-'),
  ).action(async (file: string, o: FormatFlags) => {
    result.code = await runParse(file, o, io);
  });
  addFormatOptions(
    cmd
      .command('render')
      .description('render NDJSON objects of variables (one per line) into log lines')
      .argument('[file]', 'NDJSON file to read; - or nothing for stdin', '-'),
  ).action(async (file: string, o: FormatFlags) => {
    result.code = await runRender(file, o, io);
  });
  return cmd;
}
