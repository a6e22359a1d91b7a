/**
 * `--json-format FILE` / `--typed-json-format FILE`: Envoy dictionaries from a file (JSON or YAML).
 * @module
 */
import { readFileSync } from 'node:fs';
import { compileEnvoyJson } from '../format/envoy/dictionary.ts';
import { parseEnvoyDictionary } from '../format/envoy/yaml.ts';
import { LogtallyError } from '../format/errors.ts';
import type { CompiledFormat } from '../format/types.ts';

export interface DictionaryFlags {
  jsonFormat?: string;
  typedJsonFormat?: string;
  omitEmptyValues?: boolean;
}

export function compileDictionaryFlag(flags: DictionaryFlags): CompiledFormat {
  const typed = flags.typedJsonFormat !== undefined;
  const flag = typed ? '--typed-json-format' : '--json-format';
  const path = (typed ? flags.typedJsonFormat : flags.jsonFormat) as string;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LogtallyError('ERR_FORMAT_OPTION', `${flag}: ${(e as Error).message}`);
  }
  try {
    return compileEnvoyJson(parseEnvoyDictionary(text), {
      typed,
      omitEmptyValues: flags.omitEmptyValues === true,
    });
  } catch (e) {
    if (e instanceof LogtallyError) throw new LogtallyError(e.code, `${flag}: ${path}: ${e.message}`);
    throw new LogtallyError('ERR_FORMAT_OPTION', `${flag}: ${path}: ${(e as Error).message}`);
  }
}
