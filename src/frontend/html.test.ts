import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attr, escapeHtml, html, trustedConstant, visible } from './html.ts';

describe('html', () => {
  it('escapes interpolated text for text content and quoted attributes', () => {
    const label = `"><script>alert('x')</script>&`;
    const out = html`<a title="${label}">${label}</a>`.toString();
    assert.equal(
      out,
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
    );
    assert.equal(escapeHtml(`<>&"'`), '&lt;&gt;&amp;&quot;&#39;');
  });

  it('nests markup without escaping it twice, and flattens lists', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(
      html`<p>${inner}${[html`<br>`, 'a&b', 3, undefined, null, false]}</p>`.toString(),
      '<p><b>&lt;i&gt;</b><br>a&amp;b3</p>',
    );
  });

  it('escapes inside SVG text and attributes the same way', () => {
    const label = '</title><script>alert(1)</script>';
    const out = html`<svg><g data-x="${label}"><title>${label}</title></g></svg>`.toString();
    assert.ok(!out.includes('<script>'));
    assert.ok(!out.includes('</title><script'));
    assert.ok(out.includes('&lt;/title&gt;&lt;script&gt;'));
  });

  it('attr() writes optional attributes and refuses odd names', () => {
    assert.equal(html`<a${attr('aria-current', 'page')}>`.toString(), '<a aria-current="page">');
    assert.equal(html`<a${attr('aria-current', undefined)}>`.toString(), '<a>');
    assert.equal(html`<a${attr('title', '"x"')}>`.toString(), '<a title="&quot;x&quot;">');
    assert.throws(() => attr('onclick x', 'y'));
  });

  it('trustedConstant refuses markup that would close its container', () => {
    assert.throws(() => trustedConstant('a{}</style><script>'));
    assert.equal(trustedConstant('a{color:red}').toString(), 'a{color:red}');
  });

  it('visible() shows control, bidi and undecodable characters as escapes', () => {
    assert.equal(visible('a\u0007b'), 'a\\x07b');
    assert.equal(visible('\u202egnp.exe'), '\\u{202e}gnp.exe');
    assert.equal(visible('/caf\udcc3\udca9'), '/caf\\xc3\\xa9');
    assert.equal(visible('\u200b'), '\\u{200b}');
    assert.equal(visible('café 😀 日本'), 'café 😀 日本');
    assert.equal(visible('\ud800x'), '\\u{d800}x');
  });
});
