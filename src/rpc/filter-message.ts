/**
 * The Filter message in plain form. Each filter value of the proto sits alone in a oneof (so
 * that protoc 3.5 compiles it while presence is kept); this module hides those wrappers: a
 * plain filter has a property where the message has its value set.
 * @module
 */
import { create } from '@bufbuild/protobuf';
import { type Filter, FilterSchema } from '../gen/logtally/v1/logtally_pb.ts';

/** A Filter message's fields, each value present only when set. */
export interface PlainFilter {
  website?: string;
  prefix?: string;
  uri?: string;
  status?: string;
  upstream?: string;
  method?: string;
  websiteRe?: string;
  websiteReNegate?: boolean;
  uriRe?: string;
  uriReNegate?: boolean;
}

const set = (value: string | undefined, name: string) =>
  value === undefined ? { case: undefined } : { case: name, value };

/** The Filter message of a plain filter. */
export function filterMessage(f: PlainFilter): Filter {
  return create(FilterSchema, {
    websiteSet: set(f.website, 'website') as Filter['websiteSet'],
    prefixSet: set(f.prefix, 'prefix') as Filter['prefixSet'],
    uriSet: set(f.uri, 'uri') as Filter['uriSet'],
    statusSet: set(f.status, 'status') as Filter['statusSet'],
    upstreamSet: set(f.upstream, 'upstream') as Filter['upstreamSet'],
    methodSet: set(f.method, 'method') as Filter['methodSet'],
    websiteReSet: set(f.websiteRe, 'websiteRe') as Filter['websiteReSet'],
    websiteReNegate: f.websiteReNegate === true,
    uriReSet: set(f.uriRe, 'uriRe') as Filter['uriReSet'],
    uriReNegate: f.uriReNegate === true,
  });
}

/** The values a Filter message sets. */
export function plainFilter(m: Filter): PlainFilter {
  const out: PlainFilter = {};
  if (m.websiteSet.case) out.website = m.websiteSet.value;
  if (m.prefixSet.case) out.prefix = m.prefixSet.value;
  if (m.uriSet.case) out.uri = m.uriSet.value;
  if (m.statusSet.case) out.status = m.statusSet.value;
  if (m.upstreamSet.case) out.upstream = m.upstreamSet.value;
  if (m.methodSet.case) out.method = m.methodSet.value;
  if (m.websiteReSet.case) out.websiteRe = m.websiteReSet.value;
  if (m.uriReSet.case) out.uriRe = m.uriReSet.value;
  out.websiteReNegate = m.websiteReNegate;
  out.uriReNegate = m.uriReNegate;
  return out;
}
