/**
 * The canonical request record and the mapping of every dialect to and from it.
 * @example
 * const parsed = parseRecord(compileNginxPreset('combined'), line);
 * if (!(parsed instanceof LineParseError)) console.log(parsed.record.status, parsed.fields.request);
 * @module
 */
import { LineParseError } from '../errors.ts';
import type { CompiledFormat, Dialect, Fields, RenderValue } from '../types.ts';
import { envoyFromRecord, envoyToRecord } from './envoy.ts';

export { type EnvoyRequestField, envoyRequestField } from './envoy.ts';

import { nginxFromRecord, nginxToRecord } from './nginx.ts';
import type { RequestRecord } from './record.ts';
import { uwsgiFromRecord, uwsgiToRecord } from './uwsgi.ts';

export { type RequestRecord, splitRequestLine, type UpstreamContactRecord, uriPath } from './record.ts';

const TO: Record<Dialect, (f: Fields) => RequestRecord> = {
  nginx: nginxToRecord,
  uwsgi: uwsgiToRecord,
  envoy: envoyToRecord,
};
const FROM: Record<Dialect, (r: RequestRecord, name: string) => RenderValue> = {
  nginx: nginxFromRecord,
  uwsgi: uwsgiFromRecord,
  envoy: envoyFromRecord,
};

/** The canonical record of fields parsed in `dialect`. */
export function toRecord(dialect: Dialect, fields: Fields): RequestRecord {
  return TO[dialect](fields);
}

/** A render source that computes each variable of `dialect` from a record. */
export function recordSource(dialect: Dialect, record: RequestRecord): (name: string) => RenderValue {
  const from = FROM[dialect];
  return (name) => from(record, name);
}

/** A parsed line: the canonical record and the dialect's own fields. */
export interface ParsedRecord {
  readonly record: RequestRecord;
  readonly fields: Fields;
}

/** Parses a line and maps it to the canonical record. */
export function parseRecord(format: CompiledFormat, line: string): ParsedRecord | LineParseError {
  const fields = format.parse(line);
  if (fields instanceof LineParseError) return fields;
  return { record: TO[format.dialect](fields), fields };
}

/** Renders a record in any format. */
export function renderRecord(format: CompiledFormat, record: RequestRecord): string {
  return format.render(recordSource(format.dialect, record));
}
