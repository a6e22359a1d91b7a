/**
 * Runs the conformance tables (./conformance.case.ts) through the renderer and the parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineParseError } from '../errors.ts';
import type { Fields } from '../types.ts';
import { compileEnvoy } from './compile.ts';
import { DICT_CASES, JSON_PARSE_CASES, TEXT_CASES } from './conformance.case.ts';
import { compileEnvoyJson } from './dictionary.ts';

function parsed(r: Fields | LineParseError): Fields {
  if (r instanceof LineParseError) throw r;
  return r;
}

describe('text formats: render as Envoy writes', () => {
  for (const c of TEXT_CASES) {
    it(c.what, () => {
      assert.equal(compileEnvoy(c.format, c.opts).render(c.vars), c.line);
    });
  }
});

describe('text formats: parse back', () => {
  for (const c of TEXT_CASES) {
    it(c.what, () => {
      assert.deepEqual(parsed(compileEnvoy(c.format, c.opts).parse(c.line)), c.fields ?? c.vars);
    });
  }
});

describe('text formats: a function as the render source gives the same line', () => {
  for (const c of TEXT_CASES) {
    it(c.what, () => {
      const seen: string[] = [];
      const line = compileEnvoy(c.format, c.opts).render((name) => {
        seen.push(name);
        return c.vars[name];
      });
      assert.equal(line, c.line);
      assert.ok(seen.length > 0 || !c.format.includes('%'));
    });
  }
});

describe('format dictionaries: render as Envoy writes', () => {
  for (const c of DICT_CASES) {
    it(c.what, () => {
      assert.equal(compileEnvoyJson(c.dict, c.opts).render(c.vars), c.line);
    });
  }
});

describe('format dictionaries: the output is JSON', () => {
  for (const c of DICT_CASES) {
    it(c.what, () => {
      assert.doesNotThrow(() => JSON.parse(c.line));
    });
  }
});

describe('format dictionaries: parse back', () => {
  for (const c of DICT_CASES) {
    it(c.what, () => {
      assert.deepEqual(parsed(compileEnvoyJson(c.dict, c.opts).parse(c.line)), c.fields ?? c.vars);
    });
  }
  for (const c of JSON_PARSE_CASES) {
    it(c.what, () => {
      assert.deepEqual(parsed(compileEnvoyJson(c.dict, c.opts).parse(c.line)), c.fields);
    });
  }
});

describe('format dictionaries: the general JSON path agrees with the fast path', () => {
  for (const c of DICT_CASES) {
    it(c.what, () => {
      // Re-spacing the line defeats the fast path (it matches the compiled text exactly).
      const respaced = JSON.stringify(JSON.parse(c.line), null, 1);
      assert.deepEqual(parsed(compileEnvoyJson(c.dict, c.opts).parse(respaced)), c.fields ?? c.vars);
    });
  }
});
