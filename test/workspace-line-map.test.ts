// The line map: prompt token index -> (file, 1-based line), checked against an
// independent count of line breaks for every token of blocks that stress the
// edges (CRLF, lone CR, empty files, no final newline, multi-line tokens,
// tokens that straddle the header, line ends and the footer, several tokens
// sharing one offset), plus the block boundaries the session cuts at.
import * as assert from 'assert';
import { createHash } from 'crypto';
import { BLOCK_FOOTER, blockHeader, BlockTokenizer, firstChangedBlock, LineMap, PackedBlock, packWorkspace } from '../server/src/workspace';
import { buildPackedBlock } from '../server/src/workspace/packed-block';
import { useTempDir } from './helpers/temp-dir';
import { byteFallbackTokenizer, chunkTokenizer, wordTokenizer } from './helpers/workspace-fake-tokenizers';
import { freshFolder, setMtimesInOrder, writeFiles } from './helpers/workspace-fixture-repo';

const EDGE_CASE_FILES: Record<string, string> = {
  'plain.ts': 'const a = 1;\nconst b = 2;\n',
  'no-final-newline.ts': 'first\nsecond\nthird',
  'crlf.ts': 'one\r\ntwo\r\n\r\nfour\r\n',
  'crlf-no-final.ts': 'one\r\ntwo',
  'lone-cr.txt': 'mac\rclassic\rend',
  'ends-with-cr.txt': 'x\r',
  'mixed.txt': 'a\r\nb\nc\rd\n\re',
  'empty.txt': '',
  'only-newline.txt': '\n',
  'blank-lines.py': '\n\n\ndef f():\n\n\n    return 1\n\n',
  'indent.py': 'class A:\n    def f(self):\n        pass\n',
  'unicode.md': 'Grüße 😀 und 日本語\nzweite Zeile 😀\n',
  'surrogates-at-edges.txt': '😀\n😀😀\n',
  'long-line.txt': `${'word '.repeat(300)}\nshort\n`,
  'path with "quotes" & <angles>.txt': 'escaped header\n',
};

const TOKENIZERS: Record<string, BlockTokenizer> = {
  words: wordTokenizer,
  'byte fallback': byteFallbackTokenizer,
  ...Object.fromEntries([1, 2, 3, 5, 7, 16].map((w) => [`chunks of ${w}`, chunkTokenizer(w)])),
};

/** The 1-based line of offset `s` counted from scratch: line breaks that end at or before s; 0 outside the file's text. */
function referenceLine(block: PackedBlock, s: number): number {
  const contentStart = blockHeader(block.path).length;
  const contentEnd = block.text.length - BLOCK_FOOTER.length;
  if (s < contentStart || s >= contentEnd) return 0;
  const content = block.text.slice(contentStart, contentEnd);
  let line = 1;
  for (const m of content.matchAll(/\r\n|\r|\n/g)) if ((m.index ?? 0) + m[0].length <= s - contentStart) line++;
  return line;
}

function blockFor(path: string, text: string, tokenizer: BlockTokenizer, mtimeMs = 0): PackedBlock {
  return buildPackedBlock({ path, mtimeMs, size: Buffer.byteLength(text), text }, tokenizer);
}

describe('workspace line map', function () {
  this.timeout(60_000);
  const tempDir = useTempDir('workspace-line-map');

  for (const [name, tokenizer] of Object.entries(TOKENIZERS)) {
    it(`maps every token to the line it starts on (${name})`, () => {
      const blocks = Object.entries(EDGE_CASE_FILES).map(([path, text]) => blockFor(path, text, tokenizer));
      const head = 17;
      const map = new LineMap(blocks, head);
      let prompt = head;
      for (const block of blocks) {
        const { starts } = tokenizer.encodeWithOffsets(block.text);
        assert.strictEqual(starts.length, block.tokens.length);
        for (let t = 0; t < starts.length; t++, prompt++) {
          const expected = referenceLine(block, starts[t]);
          assert.deepStrictEqual(map.locate(prompt), { path: block.path, line: expected }, `${block.path} token ${t} at offset ${starts[t]}`);
        }
      }
      assert.strictEqual(prompt, map.endToken);
      for (const outside of [-1, 0, head - 1, map.endToken, map.endToken + 1, Number.NaN, 2.5e9]) {
        assert.strictEqual(map.locate(outside), undefined, `token ${outside}`);
      }
    });
  }

  it('counts lines as the editor does and records where each begins', () => {
    const expectedLines: Record<string, number> = {
      'plain.ts': 2, 'no-final-newline.ts': 3, 'crlf.ts': 4, 'crlf-no-final.ts': 2, 'lone-cr.txt': 3, 'ends-with-cr.txt': 1,
      'mixed.txt': 6, 'empty.txt': 0, 'only-newline.txt': 1, 'blank-lines.py': 8, 'unicode.md': 2,
    };
    for (const [path, lines] of Object.entries(expectedLines)) {
      const block = blockFor(path, EDGE_CASE_FILES[path], chunkTokenizer(1));
      assert.strictEqual(block.lineCount, lines, path);
      // One token per character: each line's first token is its first character.
      const contentStart = blockHeader(path).length;
      const text = EDGE_CASE_FILES[path];
      const starts = [0];
      for (const m of text.matchAll(/\r\n|\r|\n/g)) starts.push((m.index ?? 0) + m[0].length);
      assert.deepStrictEqual([...block.lineStartTokens], starts.slice(0, lines).map((s) => contentStart + s), path);
    }
  });

  it('puts block edges where they belong: header and footer on line 0, the first text token on line 1', () => {
    const a = blockFor('a.ts', 'alpha beta\ngamma\n', wordTokenizer);
    const b = blockFor('b.ts', 'delta', wordTokenizer);
    const map = new LineMap([a, b], 5);
    assert.strictEqual(map.blockStartToken(0), 5);
    assert.strictEqual(map.blockEndToken(0), 5 + a.tokens.length);
    assert.strictEqual(map.blockStartToken(1), map.blockEndToken(0));
    assert.strictEqual(map.blockEndToken(1), map.endToken);
    assert.strictEqual(map.blockStartToken(2), map.endToken);
    // First and last token of each block: its header's "<" and the footer's closing blank line.
    assert.deepStrictEqual(map.locate(5), { path: 'a.ts', line: 0 });
    assert.deepStrictEqual(map.locate(map.blockEndToken(0) - 1), { path: 'a.ts', line: 0 });
    assert.deepStrictEqual(map.locate(map.blockStartToken(1)), { path: 'b.ts', line: 0 });
    assert.deepStrictEqual(map.locate(map.endToken - 1), { path: 'b.ts', line: 0 });
    // The first token of the text, the newline ending line 1, the first token of line 2.
    assert.deepStrictEqual(map.locate(5 + a.contentStartToken), { path: 'a.ts', line: 1 });
    const newline = a.lineStartTokens[1] - 1;
    assert.strictEqual(a.text.slice(...spanOf(a, newline, wordTokenizer)), '\n');
    assert.deepStrictEqual(map.locate(5 + newline), { path: 'a.ts', line: 1 });
    assert.deepStrictEqual(map.locate(5 + a.lineStartTokens[1]), { path: 'a.ts', line: 2 });
    // "delta" had no final newline: the one added ends its only line.
    assert.strictEqual(b.text, '<file path="b.ts">\ndelta\n</file>\n\n');
    assert.deepStrictEqual(map.locate(map.blockStartToken(1) + b.contentStartToken + 1), { path: 'b.ts', line: 1 });
    assert.deepStrictEqual(map.locate(map.blockStartToken(1) + b.footerStartToken), { path: 'b.ts', line: 0 });
  });

  it('gives a multi-line token the line it starts on, and lines it covers no own token', () => {
    const block = blockFor('gaps.py', 'x = 1\n\n\n\ny = 2\n', wordTokenizer);
    const map = new LineMap([block]);
    const blank = block.lineStartTokens[0] + 5; // after "x", " ", "=", " ", "1": the "\n\n\n\n" run
    assert.strictEqual(block.text.slice(...spanOf(block, blank, wordTokenizer)), '\n\n\n\n');
    assert.deepStrictEqual(map.locate(blank), { path: 'gaps.py', line: 1 });
    // Lines 2..4 start inside that token, so they share the next token's index with line 5.
    assert.deepStrictEqual([...block.lineStartTokens.slice(1)], [blank + 1, blank + 1, blank + 1, blank + 1]);
    assert.deepStrictEqual(map.locate(blank + 1), { path: 'gaps.py', line: 5 });
  });

  it('maps a token that straddles the header and the text to the header', () => {
    const tokenizer = chunkTokenizer(4);
    const block = blockFor('abc.ts', 'line one\nline two\n', tokenizer);
    const header = blockHeader('abc.ts').length; // 21: the chunk starting at 20 holds the header's "\n" and "lin"
    assert.strictEqual(header % 4, 1);
    const straddling = Math.floor(header / 4);
    assert.strictEqual(block.contentStartToken, straddling + 1);
    const map = new LineMap([block]);
    assert.deepStrictEqual(map.locate(straddling), { path: 'abc.ts', line: 0 });
    assert.deepStrictEqual(map.locate(straddling + 1), { path: 'abc.ts', line: 1 });
  });

  it('maps an empty file to line 0 only', () => {
    const block = blockFor('empty.txt', '', wordTokenizer);
    assert.strictEqual(block.text, '<file path="empty.txt">\n</file>\n\n');
    assert.strictEqual(block.lineCount, 0);
    assert.strictEqual(block.contentStartToken, block.footerStartToken);
    const map = new LineMap([block]);
    for (let t = 0; t < block.tokens.length; t++) assert.deepStrictEqual(map.locate(t), { path: 'empty.txt', line: 0 });
  });

  it('finds blocks and cut points by binary search', () => {
    const blocks = Array.from({ length: 20_000 }, (_, i) => blockFor(`f${i}.ts`, `const v${i} = ${i};\n`.repeat(1 + (i % 5)), wordTokenizer));
    const map = new LineMap(blocks, 100);
    assert.strictEqual(map.blockCount, 20_000);
    for (const i of [0, 1, 9_999, 19_999]) {
      const start = map.blockStartToken(i);
      assert.strictEqual(map.blockIndexAt(start), i);
      assert.strictEqual(map.blockIndexAt(map.blockEndToken(i) - 1), i);
      assert.strictEqual(map.blockStartAtOrBefore(start), start);
      assert.strictEqual(map.blockStartAtOrBefore(map.blockEndToken(i) - 1), start);
    }
    assert.strictEqual(map.blockIndexAt(99), -1);
    assert.strictEqual(map.blockIndexAt(map.endToken), -1);
    assert.strictEqual(map.blockStartAtOrBefore(42), 42);
    assert.strictEqual(map.blockStartAtOrBefore(map.endToken + 5), map.endToken);
    const started = performance.now();
    let found = 0;
    for (let t = 0; t < 1_000_000; t++) if (map.locate(100 + ((t * 7919) % (map.endToken - 100)))) found++;
    const ms = performance.now() - started;
    assert.strictEqual(found, 1_000_000);
    assert.ok(ms < 3000, `a million lookups took ${ms.toFixed(0)} ms`);
  });

  it('refuses block indices and head lengths that do not exist', () => {
    const map = new LineMap([blockFor('a', 'a\n', wordTokenizer)]);
    assert.throws(() => map.blockStartToken(2), RangeError);
    assert.throws(() => map.blockEndToken(1), RangeError);
    assert.throws(() => map.blockStartToken(-1), RangeError);
    assert.throws(() => new LineMap([], -1), RangeError);
    const empty = new LineMap([], 12);
    assert.strictEqual(empty.endToken, 12);
    assert.strictEqual(empty.blockStartToken(0), 12);
    assert.strictEqual(empty.locate(12), undefined);
  });

  it('maps the tokens of a packed CRLF repository to the lines the editor shows', async () => {
    const root = freshFolder(tempDir(), 'crlf');
    writeFiles(root, { 'win.cs': 'class A\r\n{\r\n    int x;\r\n}', 'unix.ts': 'let y;\n' });
    setMtimesInOrder(root, ['win.cs', 'unix.ts']);
    const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
    const map = new LineMap(packed.blocks, 3);
    const win = packed.blocks[0];
    const { starts } = wordTokenizer.encodeWithOffsets(win.text);
    const lineOfWord = (word: string): number | undefined => {
      const offset = win.text.indexOf(word);
      return map.locate(3 + starts.indexOf(offset))?.line;
    };
    assert.deepStrictEqual(['class', '{', 'int', '}'].map(lineOfWord), [1, 2, 3, 4]);
    assert.strictEqual(win.lineCount, 4);
    assert.deepStrictEqual(map.locate(map.blockStartToken(1) + packed.blocks[1].contentStartToken), { path: 'unix.ts', line: 1 });
  });

  describe('firstChangedBlock', () => {
    const b = (path: string, text: string): Pick<PackedBlock, 'path' | 'contentHash'> => ({ path, contentHash: createHash('sha256').update(text).digest('hex') });
    const old = { blocks: [b('a', '1'), b('b', '2'), b('c', '3')] };
    it('is the length when nothing changed, and the shorter length when one is a prefix of the other', () => {
      assert.strictEqual(firstChangedBlock(old, { blocks: [b('a', '1'), b('b', '2'), b('c', '3')] }), 3);
      assert.strictEqual(firstChangedBlock(old, { blocks: [...old.blocks, b('d', '4')] }), 3);
      assert.strictEqual(firstChangedBlock(old, { blocks: old.blocks.slice(0, 2) }), 2);
      assert.strictEqual(firstChangedBlock({ blocks: [] }, old), 0);
    });
    it('is the first position whose path or content differs', () => {
      assert.strictEqual(firstChangedBlock(old, { blocks: [b('a', '1'), b('b', '2!'), b('c', '3')] }), 1);
      assert.strictEqual(firstChangedBlock(old, { blocks: [b('a', '1'), b('c', '3'), b('b', '2')] }), 1);
      assert.strictEqual(firstChangedBlock(old, { blocks: [b('x', '1'), b('b', '2'), b('c', '3')] }), 0);
    });
  });
});

/** [start, end) in the block text of token t, for a tokenizer whose tokens tile the text. */
function spanOf(block: PackedBlock, t: number, tokenizer: BlockTokenizer): [number, number] {
  const { starts } = tokenizer.encodeWithOffsets(block.text);
  return [starts[t], t + 1 < starts.length ? starts[t + 1] : block.text.length];
}
