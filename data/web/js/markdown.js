// markdown.js — a small, safe Markdown renderer for replies and notes.
//
// Model output is untrusted text.  It is never turned into HTML by the
// browser's parser: parseMarkdown() builds a tree of a fixed set of node
// types (paragraphs, headings, emphasis, code, lists, quotes, tables, rules
// and links to http(s) URLs), and renderMarkdown() turns that tree into DOM
// nodes with createElement/createTextNode, so every character of the input
// ends up as text.  Anything else — raw HTML, javascript: or data: links,
// images — stays visible as the literal text it was.  markdownToHTML() is
// the same tree serialized with every text and attribute escaped; the unit
// tests (tests/web/markdown.test.mjs) read it, the pages never need it.
//
// The parser is linear in practice: each delimiter search that fails is
// remembered, so a reply of ten thousand lone '*' costs no more than one
// of ten thousand letters, and nesting is capped.  It runs again on every
// streamed token, so that matters.

const MAX_INPUT = 200000;
const MAX_DEPTH = 6;

// ---- blocks -----------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BULLET = /^( {0,3})([-*+])\s+(.*)$/;
const ORDERED = /^( {0,3})(\d{1,9})[.)]\s+(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

function isBlank(line) {
  return /^\s*$/.test(line);
}

function listMarker(line) {
  let m = BULLET.exec(line);
  if (m) return { ordered: false, indent: m[1].length, text: m[3], width: m[1].length + 2 };
  m = ORDERED.exec(line);
  if (m)
    return {
      ordered: true,
      start: parseInt(m[2], 10),
      indent: m[1].length,
      text: m[3],
      width: m[1].length + m[2].length + 2,
    };
  return null;
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (s[i] === '|') {
      cells.push(cur.trim());
      cur = '';
    } else cur += s[i];
  }
  cells.push(cur.trim());
  return cells;
}

function startsBlock(line) {
  return (
    FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || !!listMarker(line)
  );
}

function parseBlocks(lines, depth) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length) {
        const t = lines[i].trim();
        if (t.startsWith(fence[0].repeat(fence.length)) && /^[`~]+$/.test(t)) {
          i++;
          break;
        }
        body.push(lines[i]);
        i++;
      }
      out.push({ type: 'code', lang: m[2] || '', text: body.join('\n') });
      continue;
    }
    if ((m = HEADING.exec(line))) {
      out.push({ type: 'heading', level: m[1].length, children: parseInline(m[2] || '', depth) });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push({ type: 'rule' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        inner.push(m[1]);
        i++;
      }
      out.push({
        type: 'quote',
        children: depth < MAX_DEPTH ? parseBlocks(inner, depth + 1) : [para(inner, depth)],
      });
      continue;
    }
    const first = listMarker(line);
    if (first) {
      const list = { type: 'list', ordered: first.ordered, start: first.start || 1, items: [] };
      while (i < lines.length) {
        const mk = listMarker(lines[i]);
        if (!mk || mk.ordered !== first.ordered || mk.indent > first.indent + 1) break;
        const itemLines = [mk.text];
        i++;
        // Continuation: indented lines (nested lists, wrapped text), and
        // lazy lines of the same paragraph.
        while (i < lines.length) {
          const l = lines[i];
          if (isBlank(l)) {
            const next = lines[i + 1];
            if (next !== undefined && /^\s{2,}\S/.test(next) && !listMarker(next.trimStart())) {
              itemLines.push('');
              i++;
              continue;
            }
            if (next !== undefined && /^\s{2,}\S/.test(next)) {
              itemLines.push('');
              i++;
              continue;
            }
            break;
          }
          const sub = listMarker(l);
          if (sub && sub.indent <= first.indent + 1) break;
          if (/^\s{2,}/.test(l)) {
            itemLines.push(l.replace(/^\s{2,4}/, ''));
            i++;
            continue;
          }
          if (startsBlock(l)) break;
          itemLines.push(l);
          i++;
        }
        const blocks =
          depth < MAX_DEPTH ? parseBlocks(itemLines, depth + 1) : [para(itemLines, depth)];
        list.items.push(blocks);
        // A blank line between items keeps the list going.
        if (i < lines.length && isBlank(lines[i])) {
          const next = lines[i + 1];
          const nm = next !== undefined ? listMarker(next) : null;
          if (nm && nm.ordered === first.ordered && nm.indent <= first.indent + 1) i++;
        }
      }
      out.push(list);
      continue;
    }
    // A table: a header row, then a separator row.
    if (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) &&
        lines[i + 1].includes('-')) {
      const head = splitRow(line);
      const aligns = splitRow(lines[i + 1]).map((c) =>
        c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : c.startsWith(':') ? 'left' : '',
      );
      i += 2;
      const rows = [];
      while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) {
        rows.push(splitRow(lines[i]));
        i++;
      }
      const width = head.length;
      const cells = (r) => {
        const out2 = [];
        for (let c = 0; c < width; c++) out2.push(parseInline(r[c] || '', depth));
        return out2;
      };
      out.push({ type: 'table', aligns: aligns.slice(0, width), head: cells(head), rows: rows.map(cells) });
      continue;
    }
    const plines = [];
    while (i < lines.length && !isBlank(lines[i]) && (plines.length === 0 || !startsBlock(lines[i]))) {
      plines.push(lines[i]);
      i++;
    }
    out.push(para(plines, depth));
  }
  return out;
}

function para(lines, depth) {
  return { type: 'paragraph', children: parseInline(lines.map((l) => l.trim()).join('\n'), depth) };
}

// ---- inline -------------------------------------------------------------

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;

export function safeUrl(text) {
  if (typeof text !== 'string' || text.length > 2048) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f<>"'`]/.test(text)) return null;
  if (!/^https?:\/\//i.test(text)) return null;
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  return url.href;
}

function isSpace(c) {
  return c === undefined || /\s/.test(c);
}

function isAlnum(c) {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

function parseInline(text, depth) {
  const failed = new Set(); // delimiter searches known to fail from here on
  return inline(text, depth, failed, false);
}

function pushText(out, s) {
  if (!s) return;
  const last = out[out.length - 1];
  if (last && last.type === 'text') last.text += s;
  else out.push({ type: 'text', text: s });
}

// Find a closing @delim for an opener ending at @from: not preceded by
// space, and (for '_') not followed by a letter or digit.
function findCloser(text, delim, from, failed) {
  if (failed.has(delim)) return -1;
  let j = from;
  for (;;) {
    j = text.indexOf(delim, j);
    if (j < 0) {
      failed.add(delim);
      return -1;
    }
    const before = text[j - 1];
    const after = text[j + delim.length];
    if (j > from && !isSpace(before) && before !== '\\' &&
        !(delim[0] === '_' && isAlnum(after)) && !(after === delim[0] && delim.length === 1)) {
      return j;
    }
    j += 1;
  }
}

function inline(text, depth, failed, inLink) {
  const out = [];
  let buf = '';
  let i = 0;
  const flush = () => {
    pushText(out, buf);
    buf = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && PUNCT.test(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      flush();
      out.push({ type: 'break' });
      i++;
      continue;
    }
    if (c === '`') {
      let n = 1;
      while (text[i + n] === '`') n++;
      const ticks = '`'.repeat(n);
      const key = 'code' + n;
      let end = -1;
      if (!failed.has(key)) {
        let j = i + n;
        for (;;) {
          j = text.indexOf(ticks, j);
          if (j < 0) break;
          if (text[j + n] !== '`' && text[j - 1] !== '`') {
            end = j;
            break;
          }
          while (text[j] === '`') j++;
        }
        if (end < 0) failed.add(key);
      }
      if (end >= 0) {
        flush();
        let code = text.slice(i + n, end).replace(/\n/g, ' ');
        if (/^ .* $/.test(code) && code.trim()) code = code.slice(1, -1);
        out.push({ type: 'code', text: code });
        i = end + n;
      } else {
        buf += ticks;
        i += n;
      }
      continue;
    }
    if ((c === '*' || c === '_' || c === '~') && depth < MAX_DEPTH) {
      const two = text[i + 1] === c;
      const delim = two ? c + c : c;
      const prev = text[i - 1];
      const next = text[i + delim.length];
      const canOpen = !isSpace(next) && next !== c && !(c === '_' && isAlnum(prev)) && (c !== '~' || two);
      if (canOpen) {
        const end = findCloser(text, delim, i + delim.length, failed);
        if (end > i + delim.length) {
          flush();
          const type = c === '~' ? 'del' : two ? 'strong' : 'em';
          // A fresh failure set: the inner text is a different string.
          out.push({ type, children: inline(text.slice(i + delim.length, end), depth + 1, new Set(), inLink) });
          i = end + delim.length;
          continue;
        }
      }
      buf += delim;
      i += delim.length;
      continue;
    }
    if (c === '[' && !inLink && depth < MAX_DEPTH) {
      const link = matchLink(text, i, failed);
      if (link) {
        flush();
        out.push({
          type: 'link',
          href: link.href,
          children: inline(link.label, depth + 1, new Set(), true),
        });
        i = link.end;
        continue;
      }
      buf += c;
      i++;
      continue;
    }
    if (c === '<' && !inLink) {
      const close = text.indexOf('>', i);
      if (close > 0 && close - i < 2050) {
        const href = safeUrl(text.slice(i + 1, close));
        if (href) {
          flush();
          out.push({ type: 'link', href, children: [{ type: 'text', text: text.slice(i + 1, close) }] });
          i = close + 1;
          continue;
        }
      }
      buf += c;
      i++;
      continue;
    }
    if ((c === 'h' || c === 'H') && !inLink && /^https?:\/\//i.test(text.slice(i, i + 8)) &&
        !isAlnum(text[i - 1])) {
      let j = i;
      while (j < text.length && j - i <= 2048 && !/[\s<>"'`]/.test(text[j])) j++;
      let raw = text.slice(i, j);
      // Trailing punctuation belongs to the sentence, and a ')' without
      // its '(' to the surrounding parentheses.
      for (;;) {
        if (/[.,;:!?*_~]$/.test(raw)) raw = raw.slice(0, -1);
        else if (raw.endsWith(')') && (raw.match(/\(/g) || []).length < (raw.match(/\)/g) || []).length)
          raw = raw.slice(0, -1);
        else break;
      }
      const href = safeUrl(raw);
      if (href && raw.length > 8) {
        flush();
        out.push({ type: 'link', href, children: [{ type: 'text', text: raw }] });
        i += raw.length;
        continue;
      }
      // Not a link: the whole run is text (scanning it again from each
      // later 'h' would make a long run quadratic).
      buf += text.slice(i, j);
      i = j;
      continue;
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

// [label](url "title") with an http(s) URL; null when it is not a link.
function matchLink(text, i, failed) {
  if (failed.has(']')) return null;
  let level = 0;
  let j = i;
  for (; j < text.length; j++) {
    const ch = text[j];
    if (ch === '\\') {
      j++;
      continue;
    }
    if (ch === '[') level++;
    else if (ch === ']') {
      level--;
      if (level === 0) break;
    }
  }
  if (j >= text.length) {
    if (text.indexOf(']', i) < 0) failed.add(']');
    return null;
  }
  if (text[j + 1] !== '(') return null;
  const close = text.indexOf(')', j + 2);
  if (close < 0) return null;
  let target = text.slice(j + 2, close).trim();
  const titled = /^(\S+)\s+"[^"]*"$/.exec(target);
  if (titled) target = titled[1];
  if (target.startsWith('<') && target.endsWith('>')) target = target.slice(1, -1);
  const href = safeUrl(target);
  if (!href) return null;
  return { label: text.slice(i + 1, j), href, end: close + 1 };
}

// ---- public API -------------------------------------------------------

export function parseMarkdown(src) {
  let text = typeof src === 'string' ? src : String(src ?? '');
  if (text.length > MAX_INPUT) text = text.slice(0, MAX_INPUT);
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  return parseBlocks(lines, 0);
}

const BLOCK_TAGS = { paragraph: 'p', rule: 'hr', quote: 'blockquote' };
const INLINE_TAGS = { em: 'em', strong: 'strong', del: 'del', code: 'code', break: 'br' };

function headingTag(level) {
  // Inside a chat bubble, a '#' heading is a section title, not a page's.
  return 'h' + Math.min(6, level + 2);
}

function domNodes(nodes, doc, parent) {
  for (const n of nodes) parent.appendChild(domNode(n, doc));
}

function domNode(n, doc) {
  switch (n.type) {
    case 'text':
      return doc.createTextNode(n.text);
    case 'break':
    case 'rule':
      return doc.createElement(n.type === 'break' ? 'br' : 'hr');
    case 'code': {
      if (n.lang !== undefined) {
        const pre = doc.createElement('pre');
        const code = doc.createElement('code');
        if (/^[\w+#.-]{1,32}$/.test(n.lang)) code.dataset.lang = n.lang;
        code.textContent = n.text;
        pre.appendChild(code);
        return pre;
      }
      const code = doc.createElement('code');
      code.textContent = n.text;
      return code;
    }
    case 'link': {
      const a = doc.createElement('a');
      a.href = n.href;
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      domNodes(n.children, doc, a);
      return a;
    }
    case 'heading': {
      const h = doc.createElement(headingTag(n.level));
      domNodes(n.children, doc, h);
      return h;
    }
    case 'list': {
      const l = doc.createElement(n.ordered ? 'ol' : 'ul');
      if (n.ordered && n.start !== 1) l.start = n.start;
      for (const item of n.items) {
        const li = doc.createElement('li');
        // A tight item: its single paragraph's content, without the <p>.
        if (item.length === 1 && item[0].type === 'paragraph') domNodes(item[0].children, doc, li);
        else domNodes(item, doc, li);
        l.appendChild(li);
      }
      return l;
    }
    case 'table': {
      const wrap = doc.createElement('div');
      wrap.className = 'md-table';
      const t = doc.createElement('table');
      const thead = doc.createElement('thead');
      const tr = doc.createElement('tr');
      n.head.forEach((cell, k) => {
        const th = doc.createElement('th');
        if (n.aligns[k]) th.className = 'align-' + n.aligns[k];
        domNodes(cell, doc, th);
        tr.appendChild(th);
      });
      thead.appendChild(tr);
      t.appendChild(thead);
      const tbody = doc.createElement('tbody');
      for (const row of n.rows) {
        const r = doc.createElement('tr');
        row.forEach((cell, k) => {
          const td = doc.createElement('td');
          if (n.aligns[k]) td.className = 'align-' + n.aligns[k];
          domNodes(cell, doc, td);
          r.appendChild(td);
        });
        tbody.appendChild(r);
      }
      t.appendChild(tbody);
      wrap.appendChild(t);
      return wrap;
    }
    default: {
      const el = doc.createElement(BLOCK_TAGS[n.type] || INLINE_TAGS[n.type] || 'span');
      domNodes(n.children || [], doc, el);
      return el;
    }
  }
}

// A DocumentFragment for @src, built without any HTML parsing.
export function renderMarkdown(src, doc = globalThis.document) {
  const frag = doc.createDocumentFragment();
  domNodes(parseMarkdown(src), doc, frag);
  return frag;
}

// ---- HTML (tests) -----------------------------------------------------

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function html(nodes) {
  return nodes.map(htmlNode).join('');
}

function htmlNode(n) {
  switch (n.type) {
    case 'text':
      return escapeHtml(n.text);
    case 'break':
      return '<br>';
    case 'rule':
      return '<hr>';
    case 'code':
      if (n.lang !== undefined) {
        const lang = /^[\w+#.-]{1,32}$/.test(n.lang) ? ` data-lang="${escapeHtml(n.lang)}"` : '';
        return `<pre><code${lang}>${escapeHtml(n.text)}</code></pre>`;
      }
      return `<code>${escapeHtml(n.text)}</code>`;
    case 'link':
      return `<a href="${escapeHtml(n.href)}" rel="noopener noreferrer nofollow" target="_blank">${html(n.children)}</a>`;
    case 'heading': {
      const tag = headingTag(n.level);
      return `<${tag}>${html(n.children)}</${tag}>`;
    }
    case 'list': {
      const tag = n.ordered ? 'ol' : 'ul';
      const start = n.ordered && n.start !== 1 ? ` start="${n.start}"` : '';
      const items = n.items
        .map((item) =>
          item.length === 1 && item[0].type === 'paragraph' ? `<li>${html(item[0].children)}</li>` : `<li>${html(item)}</li>`,
        )
        .join('');
      return `<${tag}${start}>${items}</${tag}>`;
    }
    case 'table': {
      const cls = (k) => (n.aligns[k] ? ` class="align-${n.aligns[k]}"` : '');
      const head = n.head.map((c, k) => `<th${cls(k)}>${html(c)}</th>`).join('');
      const rows = n.rows.map((r) => `<tr>${r.map((c, k) => `<td${cls(k)}>${html(c)}</td>`).join('')}</tr>`).join('');
      return `<div class="md-table"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
    }
    default: {
      const tag = BLOCK_TAGS[n.type] || INLINE_TAGS[n.type] || 'span';
      return `<${tag}>${html(n.children || [])}</${tag}>`;
    }
  }
}

export function markdownToHTML(src) {
  return html(parseMarkdown(src));
}
