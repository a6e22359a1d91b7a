/**
 * Envoy's predefined format.
 * @module
 */

/**
 * Envoy's default access-log format (used when no format is configured), with its trailing
 * newline: the newline is part of Envoy's format string; `render` returns the line without it
 * (see `CompiledEnvoyFormat.lineTerminated`).
 */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  '%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

export interface EnvoyPreset {
  readonly name: string;
  readonly format: string;
  readonly description: string;
}

/** Presets by name, as `--preset` accepts them. */
export const ENVOY_PRESETS: Readonly<Record<string, EnvoyPreset>> = {
  'envoy-default': {
    name: 'envoy-default',
    format: ENVOY_DEFAULT_FORMAT,
    description: "Envoy's default access-log format",
  },
};
