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
import { readNginxConf, unescapeConfWord } from '../format/nginx-conf/index.ts';
import { parseRecord, renderRecord } from '../format/record/index.ts';
import { compileFormat, DIALECTS, findPreset, presets } from '../format/registry.ts';
import type { CompiledFormat, Dialect, RenderSource } from '../format/types.ts';
import { compileDictionaryFlag } from './dictionary-flag.ts';
import { openInput, readLines } from './lines.ts';
import type { Output } from './output.ts';

/** Undoes the escapes nginx accepts inside a quoted configuration string: \t \r \n \" \' \\. */
export const unquoteConfString = unescapeConfWord;

interface FormatFlags {
  dialect?: Dialect;
  format?: string;
  preset?: string;
  name?: string;
  nginxConf?: string;
  escape?: EscapeMode;
  logdate?: string;
  jsonFormat?: string;
  typedJsonFormat?: string;
  omitEmptyValues?: boolean;
}

/** Resolves the format flags to one compiled format, or throws a LogtallyError naming the flag. */
export function formatFromFlags(flags: FormatFlags): CompiledFormat {
  const dialect = flags.dialect ?? 'nginx';
  const chosen = [
    flags.format !== undefined,
    flags.preset !== undefined,
    flags.name !== undefined,
    flags.jsonFormat !== undefined,
    flags.typedJsonFormat !== undefined,
  ].filter(Boolean).length;
  if (chosen !== 1) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      'give exactly one of --format STRING, --preset NAME, --name NAME --nginx-conf FILE, --json-format FILE or --typed-json-format FILE',
    );
  }
  if (flags.jsonFormat !== undefined || flags.typedJsonFormat !== undefined) {
    return compileDictionaryFlag(flags);
  }
  if (flags.format !== undefined) {
    return compileFormat({
      dialect,
      format: flags.format,
      ...(flags.escape ? { escape: flags.escape } : {}),
      ...(flags.logdate !== undefined ? { logdate: flags.logdate } : {}),
    });
  }
  if (flags.preset !== undefined) {
    const preset = findPreset(dialect, flags.preset);
    if (!preset) {
      const names = presets()
        .filter((p) => p.dialect === dialect)
        .map((p) => p.name);
      throw new LogtallyError(
        'ERR_FORMAT_UNKNOWN_PRESET',
        `--preset: unknown ${dialect} preset "${flags.preset}" (expected one of: ${names.join(', ')})`,
      );
    }
    return compileFormat({ dialect, format: preset.name, ...(flags.escape ? { escape: flags.escape } : {}) });
  }
  if (dialect !== 'nginx')
    throw new LogtallyError('ERR_FORMAT_OPTION', '--name reads nginx.conf: it needs --dialect nginx');
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

/** `dialect:preset-or-format` (dialect nginx when absent), as --from and --to take it. */
export function formatFromSpec(spec: string, flag: string): CompiledFormat {
  const m = /^(nginx|uwsgi|envoy):/.exec(spec);
  const dialect = (m?.[1] ?? 'nginx') as Dialect;
  const text = m ? spec.slice(m[0].length) : spec;
  try {
    return compileFormat({ dialect, format: text });
  } catch (e) {
    if (e instanceof LogtallyError) throw new LogtallyError(e.code, `${flag}: ${e.message}`);
    throw e;
  }
}

function addFormatOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--dialect <dialect>', 'dialect of --format and --preset')
        .choices(DIALECTS)
        .default('nginx'),
    )
    .option(
      '--format <string>',
      'a format string of the dialect (nginx: \\t, \\n, \\" and \\\\ are unescaped as in nginx.conf)',
    )
    .option(
      '--preset <name>',
      `a predefined format (${presets()
        .map((p) => `${p.dialect}:${p.name}`)
        .join(', ')})`,
    )
    .option('--name <name>', 'a log_format or upstream_log_format defined in --nginx-conf')
    .option('--nginx-conf <file>', 'the nginx.conf to read --name from (includes are followed)')
    .addOption(
      new Option(
        '--escape <mode>',
        'nginx escape= mode of --format/--preset (default: default, or from nginx.conf)',
      ).choices(['default', 'json', 'none']),
    )
    .option('--logdate <strftime>', 'uWSGI: the --logdate format used by %(ftime)')
    .option('--json-format <file>', 'Envoy: a json_format dictionary (JSON or YAML)')
    .option('--typed-json-format <file>', 'Envoy: a typed_json_format dictionary (JSON or YAML)')
    .option('--omit-empty-values', 'Envoy: omit_empty_values for the dictionary formats');
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

async function runConvert(file: string, from: CompiledFormat, to: CompiledFormat, io: Io): Promise<number> {
  let lineNo = 0;
  let failed = 0;
  const where = file === '-' ? '<stdin>' : file;
  for await (const line of readLines(openInput(file))) {
    lineNo++;
    const r = parseRecord(from, line);
    if (r instanceof LineParseError) {
      failed++;
      io.stderr(`${where}:${lineNo}:${r.column}: ${r.reason}`);
      continue;
    }
    await io.stdout.write(encodeLine(`${renderRecord(to, r.record)}\n`));
    if (io.stdout.closed) break;
  }
  if (failed > 0) io.stderr(`${where}: ${failed} of ${lineNo} lines did not match the format`);
  return failed > 0 ? 1 : 0;
}

/** Builds the `format` command; `result` receives each action's exit status. */
export function formatCommand(io: Io, result: { code: number }): Command {
  const cmd = new Command('format').description('list, parse, render and convert log formats');
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
      .argument('[file]', 'log file to read (.gz is decompressed); - or nothing for stdin', '-')
      .addHelpText(
        'after',
        `
One of --format, --preset or --name gives the format. Each line becomes one JSON object of the
format's variables (numbers as numbers, "-" as null, times as epoch seconds).

Examples:
  logtally format parse --preset combined /var/log/nginx/access.log
  logtally format parse --name main --nginx-conf /etc/nginx/nginx.conf access.log.1.gz
  logtally format parse --dialect uwsgi --preset apache-combined /var/log/uwsgi/app.log
  echo '192.0.2.9 503 /api' | logtally format parse --format '$remote_addr $status $request_uri'`,
      ),
  ).action(async (file: string, o: FormatFlags) => {
    result.code = await runParse(file, o, io);
  });
  addFormatOptions(
    cmd
      .command('render')
      .description('render NDJSON objects of variables (one per line) into log lines')
      .argument('[file]', 'NDJSON file to read; - or nothing for stdin', '-')
      .addHelpText(
        'after',
        `
One of --format, --preset or --name gives the format; a variable an object lacks is written as
the dialect writes a missing value ("-" in nginx).

Examples:
  echo '{"remote_addr":"192.0.2.9","status":404,"request_uri":"/x"}' | logtally format render --format '$remote_addr $status $request_uri'
  logtally format parse --preset combined access.log | logtally format render --preset combined
  logtally format render --name main --nginx-conf /etc/nginx/nginx.conf requests.ndjson`,
      ),
  ).action(async (file: string, o: FormatFlags) => {
    result.code = await runRender(file, o, io);
  });
  cmd
    .command('convert')
    .description(
      'turn a log in one format into another through the canonical request record (e.g. uWSGI apache-combined into nginx logtail)',
    )
    .requiredOption('--from <spec>', 'the input format: [nginx:|uwsgi:|envoy:]PRESET-OR-FORMAT')
    .requiredOption('--to <spec>', 'the output format: [nginx:|uwsgi:|envoy:]PRESET-OR-FORMAT')
    .argument('[file]', 'log file to read (.gz is decompressed); - or nothing for stdin', '-')
    .addHelpText(
      'after',
      `
Fields the input does not have are written as the output dialect writes a missing value.

Examples:
  logtally format convert --from uwsgi:apache-combined --to nginx:logtail app.log
  logtally format convert --from combined --to 'envoy:[%START_TIME%] %REQ(:METHOD)% %RESPONSE_CODE%' access.log`,
    )
    .action(async (file: string, o: { from: string; to: string }) => {
      result.code = await runConvert(
        file,
        formatFromSpec(o.from, '--from'),
        formatFromSpec(o.to, '--to'),
        io,
      );
    });
  return cmd;
}
