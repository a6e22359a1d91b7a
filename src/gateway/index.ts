/**
 * The gateway: a reverse proxy configured in nginx syntax that writes an access_log line per
 * request and an upstream_log line per upstream contact, as nginx's upstream log module does.
 * @example
 * import { Gateway, renderRecord, compileFormat } from 'logtally';
 * const envoy = compileFormat({ dialect: 'envoy', format: '%UPSTREAM_HOST% %RESPONSE_CODE% %RESPONSE_FLAGS%' });
 * const gw = await Gateway.start({ config: '/etc/logtally/gateway.conf',
 *   hooks: { onContact: (r) => console.log(renderRecord(envoy, r)) } });
 * @module
 */
export { type GatewayConfig, loadGatewayConfig } from './config.ts';
export type { GatewayHooks } from './runtime.ts';
export { Gateway, type GatewayOptions } from './server.ts';
