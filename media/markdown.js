// @ts-check
// A small markdown parser for answers streamed from a local model. It returns a plain tree of blocks and inline
// spans; chat.js turns that tree into DOM nodes with textContent, never innerHTML, so nothing in an answer is
// ever parsed as HTML. Only a limited set of constructs is recognised: paragraphs, headings, fenced code, lists,
// block quotes, rules, inline code, bold, italic, and links to files of the workspace. Everything else stays text.
'use strict';

(function (root) {
  /**
   * @typedef {{ kind: 'text', text: string }
   *   | { kind: 'code', text: string }
   *   | { kind: 'strong', children: Inline[] }
   *   | { kind: 'em', children: Inline[] }
   *   | { kind: 'fileLink', text: string, path: string, startLine: number, endLine: number }} Inline
   * @typedef {{ kind: 'paragraph', inlines: Inline[] }
   *   | { kind: 'heading', level: number, inlines: Inline[] }
   *   | { kind: 'code', language: string, text: string, closed: boolean }
   *   | { kind: 'list', ordered: boolean, start: number, items: { depth: number, inlines: Inline[] }[] }
   *   | { kind: 'quote', inlines: Inline[] }
   *   | { kind: 'rule' }} Block
   */

  const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
  const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const LIST_ITEM = /^(\s*)([-*+]|(\d{1,9})[.)])\s+(.*)$/;
  const QUOTE = /^ {0,3}>\s?(.*)$/;
  const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
  const MAX_LIST_DEPTH = 3;

  /**
   * Parses markdown text (possibly cut off mid-stream) into blocks.
   * @param {string} source
   * @returns {Block[]}
   */
  function parseMarkdown(source) {
    const lines = String(source).replace(/\r\n?/g, '\n').split('\n');
    /** @type {Block[]} */
    const blocks = [];
    /** @type {string[]} */
    let paragraph = [];
    const flushParagraph = () => {
      if (paragraph.length > 0) blocks.push({ kind: 'paragraph', inlines: parseInline(paragraph.join('\n')) });
      paragraph = [];
    };

    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = FENCE.exec(line);
      if (fence) {
        flushParagraph();
        const marker = fence[1];
        const body = [];
        let closed = false;
        for (i++; i < lines.length; i++) {
          const closing = lines[i].trim();
          if (closing.length >= marker.length && closing === marker[0].repeat(closing.length)) {
            closed = true;
            break;
          }
          body.push(lines[i]);
        }
        blocks.push({ kind: 'code', language: fence[2].slice(0, 32), text: body.join('\n'), closed });
        continue;
      }
      if (line.trim() === '') {
        flushParagraph();
        continue;
      }
      const heading = HEADING.exec(line);
      if (heading) {
        flushParagraph();
        blocks.push({ kind: 'heading', level: heading[1].length, inlines: parseInline(heading[2]) });
        continue;
      }
      if (RULE.test(line)) {
        flushParagraph();
        blocks.push({ kind: 'rule' });
        continue;
      }
      const item = LIST_ITEM.exec(line);
      if (item) {
        flushParagraph();
        const ordered = item[3] !== undefined;
        const last = blocks[blocks.length - 1];
        const depth = Math.min(MAX_LIST_DEPTH, Math.floor(item[1].replace(/\t/g, '    ').length / 2));
        const entry = { depth, inlines: parseInline(item[4]) };
        if (last && last.kind === 'list' && (last.ordered === ordered || depth > 0)) last.items.push(entry);
        else blocks.push({ kind: 'list', ordered, start: ordered ? Number(item[3]) : 1, items: [entry] });
        continue;
      }
      const quote = QUOTE.exec(line);
      if (quote) {
        flushParagraph();
        const last = blocks[blocks.length - 1];
        if (last && last.kind === 'quote') last.inlines.push({ kind: 'text', text: '\n' }, ...parseInline(quote[1]));
        else blocks.push({ kind: 'quote', inlines: parseInline(quote[1]) });
        continue;
      }
      // A line that continues a list item (indented, right after it) joins that item.
      const last = blocks[blocks.length - 1];
      if (paragraph.length === 0 && last && last.kind === 'list' && /^\s+\S/.test(line) && lines[i - 1].trim() !== '') {
        last.items[last.items.length - 1].inlines.push({ kind: 'text', text: ' ' }, ...parseInline(line.trim()));
        continue;
      }
      paragraph.push(line);
    }
    flushParagraph();
    return blocks;
  }

  /**
   * Parses the inline spans of one block's text.
   * @param {string} text
   * @returns {Inline[]}
   */
  function parseInline(text) {
    /** @type {Inline[]} */
    const out = [];
    let plain = '';
    const pushText = (/** @type {string} */ value) => {
      plain += value;
    };
    const flush = () => {
      if (plain) out.push({ kind: 'text', text: plain });
      plain = '';
    };
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '\\' && i + 1 < text.length && /[\\`*_[\]()#>~-]/.test(text[i + 1])) {
        pushText(text[i + 1]);
        i += 2;
        continue;
      }
      if (ch === '`') {
        const run = countRun(text, i, '`');
        const close = text.indexOf('`'.repeat(run), i + run);
        if (close >= 0 && text[close + run] !== '`') {
          flush();
          const code = text.slice(i + run, close);
          out.push({ kind: 'code', text: code.length > 2 && code.startsWith(' ') && code.endsWith(' ') ? code.slice(1, -1) : code });
          i = close + run;
          continue;
        }
        pushText('`'.repeat(run));
        i += run;
        continue;
      }
      if ((ch === '*' || ch === '_') && canOpen(text, i, ch)) {
        const run = Math.min(countRun(text, i, ch), 2);
        const marker = ch.repeat(run);
        const close = findClose(text, i + run, marker);
        if (close > i + run) {
          flush();
          const children = parseInline(text.slice(i + run, close));
          out.push(run === 2 ? { kind: 'strong', children } : { kind: 'em', children });
          i = close + run;
          continue;
        }
      }
      if (ch === '[') {
        const link = parseLink(text, i);
        if (link) {
          flush();
          const target = fileTarget(link.target);
          if (target) out.push({ kind: 'fileLink', text: link.label || target.path, ...target });
          else out.push({ kind: 'text', text: link.label === link.target ? link.label : `${link.label} (${link.target})` });
          i = link.end;
          continue;
        }
      }
      pushText(ch);
      i++;
    }
    flush();
    return out;
  }

  /** @param {string} text @param {number} at @param {string} ch */
  function countRun(text, at, ch) {
    let n = 0;
    while (text[at + n] === ch) n++;
    return n;
  }

  /** Emphasis opens before a non-space; `_` only at a word start, so snake_case stays text. */
  function canOpen(/** @type {string} */ text, /** @type {number} */ at, /** @type {string} */ ch) {
    const next = text[at + countRun(text, at, ch)];
    if (next === undefined || /\s/.test(next)) return false;
    return ch === '*' || at === 0 || !/[A-Za-z0-9]/.test(text[at - 1]);
  }

  /** The closing marker: preceded by a non-space, and for `_` not followed by a word character. */
  function findClose(/** @type {string} */ text, /** @type {number} */ from, /** @type {string} */ marker) {
    let at = text.indexOf(marker, from);
    while (at >= 0) {
      const before = text[at - 1];
      const after = text[at + marker.length];
      const tooLong = after === marker[0] && marker.length === 1 && text[at + 1] === marker[0];
      if (before !== undefined && !/\s/.test(before) && !tooLong && !(marker[0] === '_' && after !== undefined && /[A-Za-z0-9]/.test(after))) return at;
      at = text.indexOf(marker, at + 1);
    }
    return -1;
  }

  /** `[label](target)` starting at `at`, or null. */
  function parseLink(/** @type {string} */ text, /** @type {number} */ at) {
    const labelEnd = text.indexOf('](', at + 1);
    if (labelEnd < 0 || text.slice(at + 1, labelEnd).includes('\n')) return null;
    const targetEnd = text.indexOf(')', labelEnd + 2);
    if (targetEnd < 0) return null;
    const target = text.slice(labelEnd + 2, targetEnd).trim();
    if (!target || /\s/.test(target)) return null;
    return { label: text.slice(at + 1, labelEnd), target, end: targetEnd + 1 };
  }

  /**
   * A link target that names a file of the workspace: a relative path with an optional line
   * (`src/a.ts`, `src/a.ts#L10`, `src/a.ts#L10-L20`, `src/a.ts:10`). Anything with a scheme (http:, javascript:, data:,
   * command:), an absolute or parent path, or only a fragment is not a file link.
   * @param {string} target
   * @returns {{ path: string, startLine: number, endLine: number } | null}
   */
  function fileTarget(target) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('/') || target.startsWith('#') || target.startsWith('\\')) return null;
    const match = /^([^#:?]+?)(?:#L(\d+)(?:-L?(\d+))?|:(\d+)(?:-(\d+))?)?$/.exec(target);
    if (!match) return null;
    const path = match[1].replace(/^\.\//, '');
    if (path.split('/').some((part) => part === '..') || /[<>"|*?]/.test(path)) return null;
    const startLine = Number(match[2] ?? match[4] ?? 1);
    const endLine = Math.max(startLine, Number(match[3] ?? match[5] ?? startLine));
    return { path, startLine, endLine };
  }

  const api = { parseMarkdown, parseInline, fileTarget };
  if (typeof module === 'object' && module && module.exports) module.exports = api;
  else /** @type {Record<string, unknown>} */ (root).snapkvMarkdown = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
