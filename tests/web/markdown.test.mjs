// markdown.test.mjs — the chat's Markdown renderer (data/web/js/markdown.js)
// against ordinary and hostile input, under node's own test runner.
//
// The renderer never produces HTML for the browser to parse (pages build DOM
// nodes from its tree); these tests read the same tree serialized with
// every text and attribute escaped, and check that no input can produce a
// tag, an attribute or a URL scheme outside the whitelist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownToHTML as md, parseMarkdown, safeUrl } from '../../data/web/js/markdown.js';

const ALLOWED_TAGS = new Set(['p', 'br', 'em', 'strong', 'del', 'code', 'pre', 'ul', 'ol', 'li', 'blockquote', 'hr',
  'h3', 'h4', 'h5', 'h6', 'a', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td']);
const ALLOWED_ATTRS = new Set(['href', 'rel', 'target', 'class', 'data-lang', 'start']);

// Every tag and attribute in @html is on the whitelist, every href is
// http(s), and no raw '<' survives outside a tag.
function assertSafe(html, input) {
  const tagRe = /<\/?([a-zA-Z0-9]+)((?:\s+[a-zA-Z-]+="[^"<>]*")*)\s*\/?>/g;
  let m;
  let stripped = html;
  while ((m = tagRe.exec(html))) {
    assert.ok(ALLOWED_TAGS.has(m[1]), `tag <${m[1]}> from ${JSON.stringify(input)}`);
    for (const a of m[2].matchAll(/([a-zA-Z-]+)="([^"]*)"/g)) {
      assert.ok(ALLOWED_ATTRS.has(a[1]), `attribute ${a[1]} from ${JSON.stringify(input)}`);
      if (a[1] === 'href') assert.match(a[2], /^https?:\/\//, `href from ${JSON.stringify(input)}`);
      if (a[1] === 'class') assert.match(a[2], /^(md-table|align-(left|right|center))$/);
    }
  }
  stripped = html.replace(tagRe, '');
  assert.ok(!stripped.includes('<') && !stripped.includes('>'), `raw markup left in ${JSON.stringify(html)}`);
  assert.doesNotMatch(html, /<[^>]*\son[a-z]+=/i, `event handler in ${html}`);
}

const cases = [
  // [bug ref, input, expected HTML]
  ['basic', 'Hello **world** and *you*', '<p>Hello <strong>world</strong> and <em>you</em></p>'],
  ['code', 'use `a<b>` here', '<p>use <code>a&lt;b&gt;</code> here</p>'],
  ['fence', '```sh\necho "<hi>"\n```', '<pre><code data-lang="sh">echo &quot;&lt;hi&gt;&quot;</code></pre>'],
  ['list', '- one\n- two', '<ul><li>one</li><li>two</li></ul>'],
  ['ordered', '3. c\n4. d', '<ol start="3"><li>c</li><li>d</li></ol>'],
  ['heading', '# Title', '<h3>Title</h3>'],
  ['quote', '> said', '<blockquote><p>said</p></blockquote>'],
  ['link', '[lares](https://example.org/x?a=1&b=2)', '<p><a href="https://example.org/x?a=1&amp;b=2" rel="noopener noreferrer nofollow" target="_blank">lares</a></p>'],
  ['autolink', 'see https://example.org.', '<p>see <a href="https://example.org/" rel="noopener noreferrer nofollow" target="_blank">https://example.org</a>.</p>'],
  ['break', 'a\nb', '<p>a<br>b</p>'],
  ['snake', 'my_var_name', '<p>my_var_name</p>'],
  ['strike', '~~no~~', '<p><del>no</del></p>'],
  ['escape', '\\*not em\\*', '<p>*not em*</p>'],
  ['table', '| a | b |\n|---|--:|\n| 1 | 2 |', '<div class="md-table"><table><thead><tr><th>a</th><th class="align-right">b</th></tr></thead><tbody><tr><td>1</td><td class="align-right">2</td></tr></tbody></table></div>'],
];

for (const [ref, input, want] of cases) {
  test(`renders: ${ref}`, () => {
    assert.equal(md(input), want);
    assertSafe(md(input), input);
  });
}

const hostile = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<a href="javascript:alert(1)">x</a>',
  '[x](javascript:alert(1))',
  '[x](JaVaScRiPt:alert(1))',
  '[x]( javascript:alert(1) )',
  '[x](data:text/html;base64,PHNjcmlwdD4=)',
  '[x](vbscript:msgbox(1))',
  '[x](//evil.example/)',
  '[x](https://user:pass@evil.example/)',
  '[x](https://a.b/"onmouseover="alert(1))',
  '[x](https://a.b/ "title" onclick="x")',
  '![x](https://evil.example/track.png)',
  '<https://a.b/"onload=x>',
  'https://a.b/<script>',
  '```"><script>alert(1)</script>\ncode\n```',
  '```js onload=alert(1)\nx\n```',
  '| <b>x</b> | y |\n|---|---|\n| <i onclick=z> | w |',
  '**<svg onload=alert(1)>**',
  '`<iframe src=x>`',
  '> <style>body{display:none}</style>',
  '- <form action=https://evil>',
  '[<img src=x onerror=1>](https://a.b)',
  '[a](https://a.b)[b](javascript:1)',
  '&lt;script&gt; &amp; &#x3C;',
  '\u0000<script>\u202e',
  '[x](https://a.b/\u0000)',
  '<!-- comment --> <![CDATA[ x ]]>',
  'h\u200bttps://evil.example',
];

for (const input of hostile) {
  test(`hostile input stays text: ${JSON.stringify(input).slice(0, 50)}`, () => {
    const html = md(input);
    assertSafe(html, input);
    assert.doesNotMatch(html, /<(script|img|iframe|svg|style|form|object|embed|b|i)\b/i);
    assert.doesNotMatch(html, /href="(?!https?:\/\/)/i);
  });
}

test('URLs: only http and https, no credentials', () => {
  assert.equal(safeUrl('https://example.org/a'), 'https://example.org/a');
  assert.equal(safeUrl('http://localhost:8765/#x'), 'http://localhost:8765/#x');
  for (const bad of ['javascript:alert(1)', 'data:,x', 'ftp://x', '//x', '/local', 'https://a b', 'https://u:p@x/', 'https://x/\n', '']) {
    assert.equal(safeUrl(bad), null, bad);
  }
});

test('pathological input stays fast and bounded', () => {
  const inputs = ['*'.repeat(50000), '_a '.repeat(20000), '['.repeat(50000), '`'.repeat(50000), '[a]('.repeat(10000),
    '> '.repeat(5000) + 'x', '- '.repeat(5000) + 'x', '**a'.repeat(20000), '~~'.repeat(25000), 'https://'.repeat(10000)];
  for (const input of inputs) {
    const t = process.hrtime.bigint();
    const html = md(input);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    assertSafe(html, input.slice(0, 20));
    assert.ok(ms < 2000, `${JSON.stringify(input.slice(0, 10))}… took ${ms} ms`);
  }
});

test('deep nesting is capped', () => {
  const tree = parseMarkdown('> '.repeat(100) + 'deep');
  let depth = 0;
  let node = tree[0];
  while (node && node.type === 'quote') {
    depth++;
    node = node.children[0];
  }
  assert.ok(depth <= 8, `depth ${depth}`);
});

test('non-strings and huge input do not throw', () => {
  assert.equal(md(undefined), '');
  assert.equal(md(null), '');
  assert.equal(md(42), '<p>42</p>');
  assert.ok(md('x'.repeat(300000)).length <= 200010);
});
