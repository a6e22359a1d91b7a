/**
 * Zips nginx's upstream list variables into one record per upstream contact.
 * @module
 */
import type { Fields, ListValue } from './types.ts';

/** One contact with an upstream server, from the position-aligned `$upstream_*` lists. */
export interface UpstreamContact {
  /** Index of the group (0 for the first; a new group starts after each internal redirect). */
  readonly group: number;
  readonly addr: string | null;
  readonly status: number | null;
  readonly connectTime: number | null;
  readonly headerTime: number | null;
  readonly responseTime: number | null;
  readonly queueTime: number | null;
  readonly responseLength: number | null;
  readonly bytesSent: number | null;
  readonly bytesReceived: number | null;
}

const LISTS = {
  addr: 'upstream_addr',
  status: 'upstream_status',
  connectTime: 'upstream_connect_time',
  headerTime: 'upstream_header_time',
  responseTime: 'upstream_response_time',
  queueTime: 'upstream_queue_time',
  responseLength: 'upstream_response_length',
  bytesSent: 'upstream_bytes_sent',
  bytesReceived: 'upstream_bytes_received',
} as const;

function asList(v: unknown): ListValue | undefined {
  return Array.isArray(v) ? (v as ListValue) : undefined;
}

/**
 * The list of upstream contacts in parsed fields. The shape is taken from the first list
 * variable present (normally `$upstream_addr`); a value missing at a position is null.
 * @example upstreamContacts(fmt.parse(line) as Fields)
 */
export function upstreamContacts(fields: Fields): UpstreamContact[] {
  const lists: Partial<Record<keyof typeof LISTS, ListValue>> = {};
  let shape: ListValue | undefined;
  for (const [key, name] of Object.entries(LISTS) as [keyof typeof LISTS, string][]) {
    const l = asList(fields[name]);
    if (l) {
      lists[key] = l;
      shape ??= l;
    }
  }
  if (!shape) return [];
  const out: UpstreamContact[] = [];
  const at = (k: keyof typeof LISTS, g: number, i: number) => lists[k]?.[g]?.[i] ?? null;
  const num = (k: keyof typeof LISTS, g: number, i: number) => {
    const v = at(k, g, i);
    return typeof v === 'number' ? v : null;
  };
  shape.forEach((group, g) => {
    for (let i = 0; i < group.length; i++) {
      const addr = at('addr', g, i);
      out.push({
        group: g,
        addr: addr === null ? null : String(addr),
        status: num('status', g, i),
        connectTime: num('connectTime', g, i),
        headerTime: num('headerTime', g, i),
        responseTime: num('responseTime', g, i),
        queueTime: num('queueTime', g, i),
        responseLength: num('responseLength', g, i),
        bytesSent: num('bytesSent', g, i),
        bytesReceived: num('bytesReceived', g, i),
      });
    }
  });
  return out;
}
