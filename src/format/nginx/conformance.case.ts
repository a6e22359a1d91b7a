/**
 * Conformance table shared by the renderer and parser tests: how one string value is written
 * inside `"..."` by nginx under each escape mode (seen with nginx 1.22; see shared/spec/formats.md),
 * and what parsing that text gives back. `value: null` is a variable that was not found.
 */
import type { EscapeMode } from './escape.ts';

export interface EscapeCase {
  readonly what: string;
  readonly escape: EscapeMode;
  readonly value: string | null;
  /** The text nginx writes for the value. */
  readonly written: string;
  /** What parsing gives back when it differs from `value` (ambiguous renderings). */
  readonly parsed?: string | null;
}

const rawBytes = '/raw/\udc80\udcff'; // bytes 0x80 0xFF, invalid UTF-8 (see ../bytes.ts)

export const ESCAPE_CASES: readonly EscapeCase[] = [
  // escape=default
  { what: 'plain text', escape: 'default', value: 'GET / HTTP/1.1', written: 'GET / HTTP/1.1' },
  { what: 'double quote', escape: 'default', value: 'q"uote', written: 'q\\x22uote' },
  { what: 'backslash', escape: 'default', value: 'a\\b', written: 'a\\x5Cb' },
  { what: 'tab and newline', escape: 'default', value: 'a\tb\n', written: 'a\\x09b\\x0A' },
  { what: 'NUL and 0x1F', escape: 'default', value: '\x00\x1f', written: '\\x00\\x1F' },
  { what: 'DEL', escape: 'default', value: '\x7f', written: '\\x7F' },
  {
    what: 'UTF-8',
    escape: 'default',
    value: 'é€😀',
    written: '\\xC3\\xA9\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80',
  },
  { what: 'raw bytes > 0x7f', escape: 'default', value: rawBytes, written: '/raw/\\x80\\xFF' },
  { what: 'single quote and braces', escape: 'default', value: "'{}$", written: "'{}$" },
  { what: 'empty', escape: 'default', value: '', written: '' },
  { what: 'missing', escape: 'default', value: null, written: '-' },
  { what: 'literal dash', escape: 'default', value: '-', written: '-', parsed: null },
  // escape=json
  { what: 'plain text', escape: 'json', value: 'GET / HTTP/1.1', written: 'GET / HTTP/1.1' },
  { what: 'double quote', escape: 'json', value: 'q"uote', written: 'q\\"uote' },
  { what: 'backslash', escape: 'json', value: 'a\\b', written: 'a\\\\b' },
  { what: 'named controls', escape: 'json', value: '\n\r\t\b\f', written: '\\n\\r\\t\\b\\f' },
  { what: 'other controls', escape: 'json', value: '\x00\x01\x1f', written: '\\u0000\\u0001\\u001F' },
  { what: 'DEL is copied', escape: 'json', value: '\x7f', written: '\x7f' },
  { what: 'UTF-8 is copied', escape: 'json', value: 'é€😀', written: 'é€😀' },
  { what: 'raw bytes are copied', escape: 'json', value: rawBytes, written: rawBytes },
  { what: 'empty', escape: 'json', value: '', written: '' },
  { what: 'missing', escape: 'json', value: null, written: '', parsed: '' },
  // escape=none
  { what: 'plain text', escape: 'none', value: 'GET / HTTP/1.1', written: 'GET / HTTP/1.1' },
  { what: 'quote and backslash', escape: 'none', value: 'a"b\\c', written: 'a"b\\c' },
  { what: 'controls', escape: 'none', value: '\t\x01', written: '\t\x01' },
  { what: 'UTF-8 and raw bytes', escape: 'none', value: `é${rawBytes}`, written: `é${rawBytes}` },
  { what: 'missing', escape: 'none', value: null, written: '', parsed: '' },
];
