/**
 * Splits nginx configuration text into statements, exactly as nginx's `ngx_conf_read_token`
 * does (src/core/ngx_conf_file.c): words separated by whitespace, `;` ends a directive, `{`
 * opens and `}` closes a block, `#` starts a comment when it starts a word, `'…'` and `"…"`
 * quote, and a backslash protects the next character.
 *
 * Faithful details that surprise people:
 * - `#` and `}` inside an unquoted word are ordinary characters (`a#b}c` is one word);
 * - a closing quote must be followed by whitespace, `;`, `{` or `)`; anything else
 *   (including `}` and `#`) is `unexpected "x"`;
 * - `${` inside a word does not open a block (`x${host}y` is one word);
 * - in the final word `\"` `\'` `\\` become the character, `\t` `\r` `\n` become tab, CR and LF,
 *   and any other `\c` keeps both characters (`\d` stays `\d`, `\;` stays `\;`).
 * @module
 */
import { ConfError } from '../errors.ts';

/** One word of a statement, unquoted and unescaped. `line` is where the word starts. */
export interface ConfWord {
  readonly value: string;
  readonly line: number;
}

/**
 * - `directive`: words ended by `;`;
 * - `block`: words ended by `{` (the block's contents follow, up to the matching `end`);
 * - `end`: a `}`.
 *
 * `line` is the line of the first word (of the `}` for `end`); `endLine` the line of the `;` or `{`.
 */
export type ConfStatement =
  | {
      readonly kind: 'directive' | 'block';
      readonly words: readonly ConfWord[];
      readonly line: number;
      readonly endLine: number;
    }
  | { readonly kind: 'end'; readonly line: number };

const LF = 0x0a;

/** A single word (a log_format string, a map value…) longer than this is refused. */
export const MAX_WORD_BYTES = 1024 * 1024;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const SEMICOLON = 0x3b;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const HASH = 0x23;
const BACKSLASH = 0x5c;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const DOLLAR = 0x24;
const RPAREN = 0x29;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === LF;
}

/** Resolves backslash escapes in a raw word the way nginx copies a finished word. */
export function unescapeConfWord(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i] as string;
    if (c === '\\' && i + 1 < raw.length) {
      const next = raw[i + 1] as string;
      if (next === '"' || next === "'" || next === '\\') {
        out += next;
        i += 2;
        continue;
      }
      if (next === 't' || next === 'r' || next === 'n') {
        out += next === 't' ? '\t' : next === 'r' ? '\r' : '\n';
        i += 2;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

/** Prints a character for an `unexpected "x"` message. */
function shown(text: string, i: number): string {
  const cp = text.codePointAt(i) ?? 0;
  return String.fromCodePoint(cp);
}

/**
 * Tokenizes a whole configuration file.
 * @param file the name used in error messages (`file:line: message`).
 * @throws ConfError (ERR_CONF_SYNTAX) on `unexpected "x"` and `unexpected end of file` errors.
 * @example lexNginxConf('events {}\n', 'nginx.conf')
 */
export function lexNginxConf(text: string, file: string): ConfStatement[] {
  const out: ConfStatement[] = [];
  const n = text.length;
  let line = 1;
  let i = 0;

  // nginx's per-statement state, reset after each statement.
  let words: ConfWord[] = [];
  let needSpace = false;
  let lastSpace = true;
  let sharpComment = false;
  let variable = false;
  let quoted = false;
  let sQuoted = false;
  let dQuoted = false;
  let start = 0;
  let startLine = 1;

  const fail = (message: string): never => {
    throw new ConfError('ERR_CONF_SYNTAX', message, file, line);
  };
  const emit = (kind: 'directive' | 'block'): void => {
    const first = words[0];
    out.push({ kind, words, line: first ? first.line : line, endLine: line });
    words = [];
    needSpace = false;
    lastSpace = true;
    variable = false;
    sQuoted = false;
    dQuoted = false;
  };

  while (i < n) {
    const ch = text.charCodeAt(i);
    i++;

    if (ch === LF) {
      line++;
      if (sharpComment) sharpComment = false;
    }
    if (sharpComment) continue;
    if (quoted) {
      quoted = false;
      continue;
    }

    if (needSpace) {
      if (isSpace(ch)) {
        lastSpace = true;
        needSpace = false;
        continue;
      }
      if (ch === SEMICOLON) {
        emit('directive');
        continue;
      }
      if (ch === LBRACE) {
        emit('block');
        continue;
      }
      if (ch === RPAREN) {
        lastSpace = true;
        needSpace = false;
      } else {
        fail(`unexpected "${shown(text, i - 1)}"`);
      }
    }

    if (lastSpace) {
      start = i - 1;
      startLine = line;
      if (isSpace(ch)) continue;
      switch (ch) {
        case SEMICOLON:
        case LBRACE:
          if (words.length === 0) fail(`unexpected "${ch === SEMICOLON ? ';' : '{'}"`);
          emit(ch === LBRACE ? 'block' : 'directive');
          continue;
        case RBRACE:
          if (words.length !== 0) fail('unexpected "}"');
          out.push({ kind: 'end', line });
          continue;
        case HASH:
          sharpComment = true;
          continue;
        case BACKSLASH:
          quoted = true;
          lastSpace = false;
          continue;
        case DQUOTE:
          start++;
          dQuoted = true;
          lastSpace = false;
          continue;
        case SQUOTE:
          start++;
          sQuoted = true;
          lastSpace = false;
          continue;
        case DOLLAR:
          variable = true;
          lastSpace = false;
          continue;
        default:
          lastSpace = false;
      }
      continue;
    }

    if (ch === LBRACE && variable) continue;
    variable = false;
    if (ch === BACKSLASH) {
      quoted = true;
      continue;
    }
    if (ch === DOLLAR) {
      variable = true;
      continue;
    }

    let found = false;
    if (dQuoted) {
      if (ch === DQUOTE) {
        dQuoted = false;
        needSpace = true;
        found = true;
      }
    } else if (sQuoted) {
      if (ch === SQUOTE) {
        sQuoted = false;
        needSpace = true;
        found = true;
      }
    } else if (isSpace(ch) || ch === SEMICOLON || ch === LBRACE) {
      lastSpace = true;
      found = true;
    }

    if (found) {
      if (i - 1 - start > MAX_WORD_BYTES) fail(`a word longer than ${MAX_WORD_BYTES / 1024 / 1024} MiB`);
      words.push({ value: unescapeConfWord(text.slice(start, i - 1)), line: startLine });
      if (ch === SEMICOLON) emit('directive');
      else if (ch === LBRACE) emit('block');
    }
  }

  if (words.length > 0 || !lastSpace) fail('unexpected end of file, expecting ";" or "}"');
  return out;
}
