// The chat panel's markdown parser (media/markdown.js): model output never becomes HTML or a live link.
// A unit test, run by `npm test` (it needs no VS Code); it lives with the e2e tests because it tests the webview.
import * as assert from 'assert';
import * as path from 'path';

type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong' | 'em'; children: Inline[] }
  | { kind: 'fileLink'; text: string; path: string; startLine: number; endLine: number };

type Block =
  | { kind: 'paragraph' | 'quote'; inlines: Inline[] }
  | { kind: 'heading'; level: number; inlines: Inline[] }
  | { kind: 'code'; language: string; text: string; closed: boolean }
  | { kind: 'list'; ordered: boolean; start: number; items: Array<{ depth: number; inlines: Inline[] }> }
  | { kind: 'rule' };

interface MarkdownParser {
  parseMarkdown(text: string): Block[];
  parseInline(text: string): Inline[];
  fileTarget(target: string): { path: string; startLine: number; endLine: number } | null;
}

const markdown = require(path.resolve(__dirname, '..', '..', '..', 'media', 'markdown.js')) as MarkdownParser;

/** All text of the inline tree, as the panel would show it. */
function textOf(inlines: Inline[]): string {
  return inlines.map((inline) => ('children' in inline ? textOf(inline.children) : inline.text)).join('');
}

describe('chat panel markdown (media/markdown.js)', () => {
  it('keeps raw HTML as text', () => {
    const blocks = markdown.parseMarkdown('<img src=x onerror=alert(1)> <script>alert(2)</script>\n\n<b>bold?</b>');
    assert.deepStrictEqual(blocks.map((block) => block.kind), ['paragraph', 'paragraph']);
    const inlines = blocks.flatMap((block) => ('inlines' in block ? block.inlines : []));
    assert.ok(inlines.every((inline) => inline.kind === 'text'));
    assert.strictEqual(textOf(inlines), '<img src=x onerror=alert(1)> <script>alert(2)</script><b>bold?</b>');
  });

  it('makes links only to workspace files; other links stay text', () => {
    const inlines = markdown.parseInline('[a](src/a.ts#L3-L9) [b](javascript:alert(1)) [c](https://example.com) [d](../etc/passwd) [e](/etc/passwd) [f](data:text/html,x) [g](command:workbench.action.quit)');
    const links = inlines.filter((inline) => inline.kind === 'fileLink');
    assert.deepStrictEqual(links, [{ kind: 'fileLink', text: 'a', path: 'src/a.ts', startLine: 3, endLine: 9 }]);
    assert.match(textOf(inlines), /b \(javascript:alert\(1\)/);
    assert.match(textOf(inlines), /c \(https:\/\/example\.com\)/);
  });

  it('reads line suffixes of file links', () => {
    assert.deepStrictEqual(markdown.fileTarget('lib/x.py:12'), { path: 'lib/x.py', startLine: 12, endLine: 12 });
    assert.deepStrictEqual(markdown.fileTarget('./lib/x.py#L4'), { path: 'lib/x.py', startLine: 4, endLine: 4 });
    assert.deepStrictEqual(markdown.fileTarget('README.md'), { path: 'README.md', startLine: 1, endLine: 1 });
    assert.strictEqual(markdown.fileTarget('#section'), null);
    assert.strictEqual(markdown.fileTarget('vscode:extension/x'), null);
  });

  it('parses code fences, closed and still streaming', () => {
    const blocks = markdown.parseMarkdown('Look:\n```ts\nconst a = 1 < 2;\n```\nthen\n```py\nprint(1)');
    assert.deepStrictEqual(blocks, [
      { kind: 'paragraph', inlines: [{ kind: 'text', text: 'Look:' }] },
      { kind: 'code', language: 'ts', text: 'const a = 1 < 2;', closed: true },
      { kind: 'paragraph', inlines: [{ kind: 'text', text: 'then' }] },
      { kind: 'code', language: 'py', text: 'print(1)', closed: false },
    ]);
  });

  it('parses emphasis and inline code, but not inside identifiers or unclosed', () => {
    const inlines = markdown.parseInline('**bold** *it* _em_ snake_case_name `a*b*c` 2 * 3 * 4 **open');
    assert.deepStrictEqual(inlines.filter((inline) => inline.kind !== 'text').map((inline) => inline.kind), ['strong', 'em', 'em', 'code']);
    assert.strictEqual(textOf(inlines), 'bold it em snake_case_name a*b*c 2 * 3 * 4 **open');
  });

  it('parses headings, lists, quotes and rules', () => {
    const blocks = markdown.parseMarkdown('## Files\n- one\n  continued\n- two\n  - nested\n\n3. three\n4. four\n> quoted\n\n---');
    assert.deepStrictEqual(blocks.map((block) => block.kind), ['heading', 'list', 'list', 'quote', 'rule']);
    const [heading, bullets, numbers] = blocks;
    assert.ok(heading.kind === 'heading' && heading.level === 2);
    assert.ok(bullets.kind === 'list' && !bullets.ordered);
    assert.deepStrictEqual(bullets.items.map((item) => [item.depth, textOf(item.inlines)]), [[0, 'one continued'], [0, 'two'], [1, 'nested']]);
    assert.ok(numbers.kind === 'list' && numbers.ordered && numbers.start === 3 && numbers.items.length === 2);
  });
});
