import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import { FilterSchema } from '../gen/logtally/v1/logtally_pb.ts';
import { filterMessage, plainFilter } from './filter-message.ts';

describe('Filter message', () => {
  it('keeps the wire and JSON forms of proto3 optional: a value set to "" is sent, an unset one is not', () => {
    // Field 1 (website), length-delimited, empty; field 6 (method) "GET"; field 8 (website_re_negate) true.
    const m = filterMessage({ website: '', method: 'GET', websiteReNegate: true });
    assert.deepEqual([...toBinary(FilterSchema, m)], [0x0a, 0x00, 0x32, 0x03, 0x47, 0x45, 0x54, 0x40, 0x01]);
    assert.deepEqual(toJson(FilterSchema, m), { website: '', method: 'GET', websiteReNegate: true });
    assert.deepEqual([...toBinary(FilterSchema, filterMessage({}))], []);
  });

  it('reads back what it wrote', () => {
    const plain = {
      website: 'a',
      prefix: '192.0.2.0/24',
      uri: '',
      status: '>=500',
      upstream: '10.0.0.1:80',
      method: 'GET',
      websiteRe: '^a',
      websiteReNegate: true,
      uriRe: 'x',
      uriReNegate: false,
    };
    assert.deepEqual(
      plainFilter(fromBinary(FilterSchema, toBinary(FilterSchema, filterMessage(plain)))),
      plain,
    );
    assert.deepEqual(plainFilter(filterMessage({})), { websiteReNegate: false, uriReNegate: false });
  });
});
