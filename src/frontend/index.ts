/**
 * The drilldown dashboard (`logtally frontend`): server-rendered HTML over any
 * LogtallyService endpoint, no JavaScript.
 * @module
 */
export { createFrontendApp, type FrontendAppOptions } from './app.ts';
export { frontendCommand } from './command.ts';
export { applyExpression, ExpressionError, parseExpression, toExpression } from './expression.ts';
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS, TargetPolicy } from './security.ts';
export { type FrontendOptions, type RunningFrontend, startFrontend } from './server.ts';
export {
  drill,
  type Filters,
  NEXT_DIMENSION,
  parseFilters,
  parseView,
  toQuery,
  type ViewState,
} from './state.ts';
