/**
 * Access logging for Node HTTP servers: `accessLog` (node:http, Express, Connect) in any
 * dialect, and uWSGI-style user logvars.
 * @module
 */
export {
  type AccessLogHandler,
  type AccessLogOptions,
  accessLog,
  type RequestContext,
} from './access-log.ts';
export { envoyGetter } from './envoy-vars.ts';
export type { Getter, VariableContext } from './getter.ts';
export { getLogvar, setLogvar } from './logvars.ts';
export { nginxGetter, requestId } from './nginx-vars.ts';
export { RequestState } from './state.ts';
export { uwsgiGetter } from './uwsgi-vars.ts';
