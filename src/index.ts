/**
 * logtally: write web request logs in the formats operators know, and read them back.
 * @module
 */
export * from './format/index.ts';
export * from './gateway/index.ts';
export * from './http/index.ts';
export * from './writer/index.ts';
