/**
 * `--json-format FILE` / `--typed-json-format FILE`: Envoy dictionaries from a file.
 * @module
 */
import { readFileSync } from 'node:fs';
import { LogtallyError } from '../format/errors.ts';
import type { CompiledFormat } from '../format/types.ts';

export interface DictionaryFlags {
  jsonFormat?: string;
  typedJsonFormat?: string;
  omitEmptyValues?: boolean;
}

export function compileDictionaryFlag(flags: DictionaryFlags): CompiledFormat {
  const flag = flags.jsonFormat !== undefined ? '--json-format' : '--typed-json-format';
  throw new LogtallyError('ERR_FORMAT_OPTION', `${flag}: the Envoy dialect is not available yet`);
}

export function readFlagFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new LogtallyError('ERR_FORMAT_OPTION', `${flag}: ${(e as Error).message}`);
  }
}
