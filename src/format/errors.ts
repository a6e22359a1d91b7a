/**
 * Typed errors with stable string codes. Match on `code`, never on the message text.
 * @module
 */

/** Every error code logtally raises, with a one-line meaning. */
export const ErrorCodes = {
  ERR_FORMAT_SYNTAX: 'a log format string is malformed (bad variable name, missing bracket)',
  ERR_FORMAT_UNKNOWN_PRESET: 'a predefined format name is not known',
  ERR_FORMAT_OPTION: 'a compile option is invalid (unknown escape mode)',
  ERR_PARSE_MISMATCH: 'a log line does not match its format',
  ERR_RENDER_VALUE: 'a value cannot be rendered for its variable type',
  ERR_CONF_SYNTAX: 'an nginx configuration file is malformed',
  ERR_CONF_DIRECTIVE: 'an nginx directive has invalid arguments',
  ERR_CONF_INCLUDE: 'an nginx include could not be read',
  ERR_CONF_FORMAT: 'an nginx log directive names an unknown format',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Base class of every error logtally throws on purpose. */
export class LogtallyError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogtallyError';
    this.code = code;
  }
}

/** A format string that does not compile; `column` is 1-based into the format string. */
export class FormatSyntaxError extends LogtallyError {
  readonly column: number;
  constructor(message: string, column: number) {
    super('ERR_FORMAT_SYNTAX', `${message} at column ${column}`);
    this.name = 'FormatSyntaxError';
    this.column = column;
  }
}

/** A log line that does not match its format; `column` is 1-based into the line. */
export class LineParseError extends LogtallyError {
  readonly column: number;
  readonly reason: string;
  constructor(reason: string, column: number) {
    super('ERR_PARSE_MISMATCH', `${reason} at column ${column}`);
    this.name = 'LineParseError';
    this.column = column;
    this.reason = reason;
  }
}

/** An error in an nginx configuration file, located as `file:line`. */
export class ConfError extends LogtallyError {
  readonly file: string;
  readonly line: number;
  constructor(code: ErrorCode, message: string, file: string, line: number, options?: { cause?: unknown }) {
    super(code, `${file}:${line}: ${message}`, options);
    this.name = 'ConfError';
    this.file = file;
    this.line = line;
  }
}
