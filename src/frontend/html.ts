/**
 * HTML built from tagged templates: every interpolated string is escaped for HTML text and
 * quoted attributes (`& < > " '`), so markup only ever comes from the template literals in
 * this module's callers. SVG inside HTML is parsed by the HTML parser, so the same escaping
 * holds for SVG text and attributes. URLs are never interpolated raw: `href()` builds them.
 * @module
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML text content and for a quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** Markup that is already safe: only `html` creates it. */
export class Html {
  readonly #markup: string;
  private constructor(markup: string) {
    this.#markup = markup;
  }
  /** @internal Used by `html` only. */
  static fromTemplate(markup: string): Html {
    return new Html(markup);
  }
  toString(): string {
    return this.#markup;
  }
}

/** What may be interpolated: markup, text (escaped), numbers, nothing, or lists of these. */
export type Child = Html | string | number | boolean | null | undefined | readonly Child[];

function append(out: string[], v: Child): void {
  if (v === null || v === undefined || v === false || v === true) return;
  if (v instanceof Html) out.push(v.toString());
  else if (typeof v === 'string') out.push(escapeHtml(v));
  else if (typeof v === 'number') out.push(escapeHtml(String(v)));
  else for (const c of v) append(out, c);
}

/** Tagged template: `html\`<td title="${label}">${label}</td>\`` escapes both uses of `label`. */
export function html(strings: TemplateStringsArray, ...values: readonly Child[]): Html {
  const out: string[] = [];
  for (let i = 0; i < strings.length; i++) {
    out.push(strings[i] as string);
    if (i < values.length) append(out, values[i] as Child);
  }
  return Html.fromTemplate(out.join(''));
}

/**
 * Makes attacker-controlled text visible as what it is: control characters, bidirectional
 * overrides, lone surrogates (undecodable log bytes) and other invisible formatting characters
 * become `\xHH` / `\u{HHHH}` escapes, so a label cannot hide or reorder what the operator sees.
 * The result still needs HTML escaping (done by `html`).
 */
export function visible(s: string): string {
  return s.replace(
    // C0/C1 controls, DEL, zero-width and bidi formatting, line/paragraph separators, BOM, lone surrogates.
    /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => {
      const code = c.charCodeAt(0);
      // Bytes that were not UTF-8 are kept as U+DC80..U+DCFF (surrogateescape): show the byte.
      if (code >= 0xdc80 && code <= 0xdcff) return `\\x${(code - 0xdc00).toString(16).padStart(2, '0')}`;
      if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
      return `\\u{${code.toString(16)}}`;
    },
  );
}

/** ` name="value"`, or nothing when `value` is undefined (for optional attributes). */
export function attr(name: string, value: string | undefined): Html {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`attr: bad attribute name ${name}`);
  return value === undefined ? Html.fromTemplate('') : Html.fromTemplate(` ${name}="${escapeHtml(value)}"`);
}

/**
 * Markup written in this repository (the stylesheet), inserted verbatim. Never pass anything
 * derived from a request or a query result.
 */
export function trustedConstant(markup: string): Html {
  if (/<\/?(style|script)/i.test(markup)) throw new Error('trustedConstant: markup closes its container');
  return Html.fromTemplate(markup);
}
