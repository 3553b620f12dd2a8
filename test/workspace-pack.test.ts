// packWorkspace end to end: the block format, the prompt order (oldest first,
// then path) and its stability under edits, the token budget keeping the
// newest files, progress, cancellation and yielding, and bad tokenizers.
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AbortError } from '../server/src/engine/errors';
import { BlockTokenizer, firstChangedBlock, LineMap, packWorkspace, PackedWorkspace, PackProgress } from '../server/src/workspace';
import { rejectsWith } from './helpers/async-helpers';
import { useTempDir } from './helpers/temp-dir';
import { recordingTokenizer, wordTokenizer } from './helpers/workspace-fake-tokenizers';
import { freshFolder, gitCommitAll, gitInit, MTIME_BASE_S, setMtime, setMtimesInOrder, writeFiles } from './helpers/workspace-fixture-repo';

const order = (packed: PackedWorkspace): string[] => packed.blocks.map((b) => b.path);
const tokensOf = (text: string): number => wordTokenizer.encodeWithOffsets(text).ids.length;

describe('workspace packing', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('workspace-pack');

  describe('blocks', () => {
    it('writes each file as header, text ending in a newline, footer and a blank line', async () => {
      const root = freshFolder(tempDir(), 'format');
      writeFiles(root, {
        'src/a.ts': 'export const a = 1;\n',
        'no-newline.txt': 'last line',
        'crlf.txt': 'x\r\ny\r\n',
        'empty.txt': '',
        'we "quote" <tags> & more.md': 'odd name\n',
      });
      setMtimesInOrder(root, ['src/a.ts', 'no-newline.txt', 'crlf.txt', 'empty.txt', 'we "quote" <tags> & more.md']);
      const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.deepStrictEqual(
        packed.blocks.map((b) => b.text),
        [
          '<file path="src/a.ts">\nexport const a = 1;\n</file>\n\n',
          '<file path="no-newline.txt">\nlast line\n</file>\n\n',
          '<file path="crlf.txt">\nx\r\ny\r\n</file>\n\n',
          '<file path="empty.txt">\n</file>\n\n',
          '<file path="we &quot;quote&quot; &lt;tags&gt; &amp; more.md">\nodd name\n</file>\n\n',
        ],
      );
      for (const block of packed.blocks) {
        const file = path.join(root, ...block.path.split('/'));
        assert.strictEqual(block.contentHash, createHash('sha256').update(block.text).digest('hex'));
        assert.deepStrictEqual([...block.tokens], wordTokenizer.encodeWithOffsets(block.text).ids, 'each block is tokenized on its own');
        assert.strictEqual(block.size, fs.statSync(file).size);
        assert.strictEqual(block.mtimeMs, fs.statSync(file).mtimeMs);
      }
      assert.strictEqual(packed.totalTokens, packed.blocks.reduce((n, b) => n + b.tokens.length, 0));
      assert.strictEqual(packed.root, root);
      assert.strictEqual(packed.listing, 'walk');
    });

    it('escapes line breaks in a path so the header stays one line', async function () {
      const root = freshFolder(tempDir(), 'newline-name');
      try {
        writeFiles(root, { 'two\nlines.txt': 'x\n' });
      } catch {
        this.skip();
      }
      const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.strictEqual(packed.blocks[0].text, '<file path="two&#10;lines.txt">\nx\n</file>\n\n');
      assert.strictEqual(packed.blocks[0].path, 'two\nlines.txt');
    });
  });

  describe('order', () => {
    it('puts the least recently modified file first, breaking ties by path', async () => {
      const root = freshFolder(tempDir(), 'order');
      writeFiles(root, { 'z.ts': 'z\n', 'a.ts': 'a\n', 'm/b.ts': 'b\n', 'm/a.ts': 'a\n', 'B.ts': 'B\n' });
      setMtime(root, 'z.ts', 0);
      setMtime(root, 'm/b.ts', 10);
      setMtime(root, 'a.ts', 10);
      setMtime(root, 'B.ts', 10);
      setMtime(root, 'm/a.ts', 20);
      const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.deepStrictEqual(order(packed), ['z.ts', 'B.ts', 'a.ts', 'm/b.ts', 'm/a.ts']);
    });

    it('orders git-listed files the same way, untracked ones included', async () => {
      const root = freshFolder(tempDir(), 'git-order');
      gitInit(root);
      writeFiles(root, { 'old.ts': 'o\n', 'mid.ts': 'm\n' });
      gitCommitAll(root);
      writeFiles(root, { 'new-untracked.ts': 'n\n' });
      setMtimesInOrder(root, ['old.ts', 'mid.ts', 'new-untracked.ts']);
      const packed = await packWorkspace(root, wordTokenizer);
      assert.deepStrictEqual(order(packed), ['old.ts', 'mid.ts', 'new-untracked.ts']);
    });

    it('changes only the tail when files change: the newest edited, a middle one edited, one added, one removed', async () => {
      const root = freshFolder(tempDir(), 'stability');
      const names = ['f0.ts', 'f1.ts', 'f2.ts', 'f3.ts', 'f4.ts'];
      writeFiles(root, Object.fromEntries(names.map((n) => [n, `// ${n}\nexport {};\n`])));
      setMtimesInOrder(root, names);
      const first = await packWorkspace(root, wordTokenizer, { listing: 'walk' });

      // Editing the newest file changes its block only.
      writeFiles(root, { 'f4.ts': '// f4, edited\nexport {};\n' });
      setMtime(root, 'f4.ts', 100);
      const second = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.deepStrictEqual(order(second), names);
      assert.strictEqual(firstChangedBlock(first, second), 4);
      for (let i = 0; i < 4; i++) assert.deepStrictEqual(second.blocks[i].tokens, first.blocks[i].tokens);

      // Editing f1 moves it to the end: everything from its old place on changes.
      writeFiles(root, { 'f1.ts': '// f1, edited\n' });
      setMtime(root, 'f1.ts', 200);
      const third = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.deepStrictEqual(order(third), ['f0.ts', 'f2.ts', 'f3.ts', 'f4.ts', 'f1.ts']);
      assert.strictEqual(firstChangedBlock(second, third), 1);

      // A new file is appended: nothing before it changes.
      writeFiles(root, { 'g.ts': 'new\n' });
      setMtime(root, 'g.ts', 300);
      const fourth = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.strictEqual(firstChangedBlock(third, fourth), 5);
      const before = new LineMap(third.blocks, 7);
      const after = new LineMap(fourth.blocks, 7);
      assert.strictEqual(after.blockStartToken(5), before.endToken, 'the prompt up to the new block is unchanged');

      // Packing again with no change at all.
      assert.strictEqual(firstChangedBlock(fourth, await packWorkspace(root, wordTokenizer, { listing: 'walk' })), 6);

      // Removing f3 changes the prompt from f3's place on.
      fs.rmSync(path.join(root, 'f3.ts'));
      const fifth = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.strictEqual(firstChangedBlock(fourth, fifth), 2);
    });
  });

  describe('token budget', () => {
    // Five files, each of a known size in tokens; f0 is the oldest.
    let root: string;
    let sizes: Record<string, number>;
    before(async () => {
      root = freshFolder(tempDir(), 'budget');
      const files: Record<string, string> = { 'f0.ts': 'a b c d\n', 'f1.ts': 'a\n', 'f2.ts': 'a b c d e f g h i j k l\n', 'f3.ts': 'a b\n', 'f4.ts': 'a b c\n' };
      writeFiles(root, files);
      setMtimesInOrder(root, Object.keys(files));
      const all = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      sizes = Object.fromEntries(all.blocks.map((b) => [b.path, b.tokens.length]));
      assert.deepStrictEqual(Object.keys(sizes), Object.keys(files));
    });

    it('keeps everything when it fits exactly', async () => {
      const total = Object.values(sizes).reduce((a, b) => a + b, 0);
      const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk', maxTokens: total });
      assert.deepStrictEqual(order(packed), ['f0.ts', 'f1.ts', 'f2.ts', 'f3.ts', 'f4.ts']);
      assert.strictEqual(packed.totalTokens, total);
      assert.deepStrictEqual(packed.leftOut, []);
    });

    it('keeps the newest files, skipping one that does not fit but trying older, smaller ones', async () => {
      // Room for f4, f3 and f1 but not f2; f0 then no longer fits either.
      const budget = sizes['f4.ts'] + sizes['f3.ts'] + sizes['f1.ts'] + 1;
      assert.ok(budget < sizes['f4.ts'] + sizes['f3.ts'] + sizes['f2.ts'] && budget - sizes['f4.ts'] - sizes['f3.ts'] - sizes['f1.ts'] < sizes['f0.ts']);
      const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk', maxTokens: budget });
      assert.deepStrictEqual(order(packed), ['f1.ts', 'f3.ts', 'f4.ts']);
      assert.strictEqual(packed.totalTokens, sizes['f4.ts'] + sizes['f3.ts'] + sizes['f1.ts']);
      const left = budget - sizes['f4.ts'] - sizes['f3.ts'];
      assert.deepStrictEqual(packed.leftOut, [
        // One token left is less than any block's framing: f0 is not even tokenized.
        { path: 'f0.ts', reason: 'over-token-limit', detail: `the ${budget}-token budget was already full with newer files` },
        { path: 'f2.ts', reason: 'over-token-limit', detail: `${sizes['f2.ts']} tokens; ${left} of the ${budget}-token budget were left` },
      ]);
    });

    it('stops tokenizing once the budget is full, and says so', async () => {
      const tokenizer = recordingTokenizer(wordTokenizer);
      const packed = await packWorkspace(root, tokenizer, { listing: 'walk', maxTokens: sizes['f4.ts'] });
      assert.deepStrictEqual(order(packed), ['f4.ts']);
      // One call measures the framing of an empty block, one packs f4; no other file is tokenized.
      assert.strictEqual(tokenizer.texts.length, 2);
      assert.deepStrictEqual(
        packed.leftOut.map((l) => l.detail),
        ['f0.ts', 'f1.ts', 'f2.ts', 'f3.ts'].map(() => `the ${sizes['f4.ts']}-token budget was already full with newer files`),
      );
    });

    it('leaves everything out with a budget of 0', async () => {
      const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk', maxTokens: 0 });
      assert.deepStrictEqual(packed.blocks, []);
      assert.strictEqual(packed.totalTokens, 0);
      assert.strictEqual(packed.leftOut.length, 5);
      assert.ok(packed.leftOut.every((l) => l.reason === 'over-token-limit'));
    });

    it('reports a file left out by a rule with that rule, not the budget', async () => {
      const withRules = freshFolder(tempDir(), 'budget-rules');
      writeFiles(withRules, { 'a.ts': 'a\n', 'b.ts': 'b\n', 'yarn.lock': 'x\n', 'c.bin.txt': Buffer.from([0, 0]) });
      const packed = await packWorkspace(withRules, wordTokenizer, { listing: 'walk', maxTokens: tokensOf('<file path="a.ts">\na\n</file>\n\n') });
      assert.deepStrictEqual(
        packed.leftOut.map((l) => l.reason).sort(),
        ['binary', 'lock-file', 'over-token-limit'],
      );
    });
  });

  describe('progress, cancellation and yielding', () => {
    let many: string;
    before(() => {
      many = freshFolder(tempDir(), 'many');
      const files: Record<string, string> = { 'skip.png': 'x' };
      for (let i = 0; i < 300; i++) files[`src/m${String(i).padStart(3, '0')}.ts`] = `export const v${i} = ${i};\n`;
      writeFiles(many, files);
    });

    it('reports progress that only grows and ends with every file done', async () => {
      const reports: PackProgress[] = [];
      const packed = await packWorkspace(many, wordTokenizer, { listing: 'walk' }, undefined, (p) => reports.push({ ...p }));
      assert.ok(reports.length >= 2);
      for (let i = 1; i < reports.length; i++) {
        assert.ok(reports[i].filesDone >= reports[i - 1].filesDone && reports[i].tokens >= reports[i - 1].tokens);
        assert.strictEqual(reports[i].filesTotal, 301);
      }
      assert.deepStrictEqual(reports[reports.length - 1], { filesDone: 301, filesTotal: 301, tokens: packed.totalTokens });
    });

    it('rejects with AbortError when cancelled before it starts', async () => {
      const controller = new AbortController();
      controller.abort();
      await rejectsWith(packWorkspace(many, wordTokenizer, { listing: 'walk' }, controller.signal), AbortError);
    });

    it('stops between files when cancelled while tokenizing', async () => {
      const controller = new AbortController();
      const tokenizer = recordingTokenizer(wordTokenizer);
      const pending = packWorkspace(many, tokenizer, { listing: 'walk' }, controller.signal);
      // A timer can only fire if packing yields to the event loop between files.
      const timer = setInterval(() => {
        if (tokenizer.texts.length > 10) controller.abort();
      }, 0);
      try {
        await rejectsWith(pending, AbortError);
      } finally {
        clearInterval(timer);
      }
      assert.ok(tokenizer.texts.length < 301, `tokenized ${tokenizer.texts.length} texts before stopping`);
    });

    it('lets other work run while it tokenizes', async () => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      const slow: BlockTokenizer = {
        encodeWithOffsets: (text) => {
          const until = performance.now() + 1;
          while (performance.now() < until) {
            // a tokenizer that takes a millisecond a file
          }
          return wordTokenizer.encodeWithOffsets(text);
        },
      };
      try {
        await packWorkspace(many, slow, { listing: 'walk' });
      } finally {
        clearInterval(timer);
      }
      assert.ok(ticks > 20, `the timer ran ${ticks} times during packing`);
    });
  });

  describe('tokenizers that break the contract', () => {
    it('names the file when offsets and ids disagree or offsets go backwards', async () => {
      const root = freshFolder(tempDir(), 'bad-tokenizer');
      writeFiles(root, { 'a.ts': 'a b\n' });
      const fine = wordTokenizer.encodeWithOffsets('<file path="">\n</file>\n\n');
      const forFile = (broken: (text: string) => { ids: number[]; starts: number[] }): BlockTokenizer => ({
        encodeWithOffsets: (text) => (text.includes('a.ts') ? broken(text) : fine),
      });
      await assert.rejects(
        packWorkspace(root, forFile(() => ({ ids: [1, 2], starts: [0] })), { listing: 'walk' }),
        /returned 2 tokens but 1 offsets for a\.ts/,
      );
      await assert.rejects(
        packWorkspace(root, forFile(() => ({ ids: [1, 2], starts: [3, 1] })), { listing: 'walk' }),
        /bad offset 1 for token 1 of a\.ts/,
      );
      await assert.rejects(packWorkspace(root, forFile(() => ({ ids: [-1], starts: [0] })), { listing: 'walk' }), /bad token id -1/);
    });
  });

  it('keeps modification times as the file system reports them', async () => {
    const root = freshFolder(tempDir(), 'mtime');
    writeFiles(root, { 'a.ts': 'a\n' });
    setMtime(root, 'a.ts', 5);
    const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
    assert.strictEqual(packed.blocks[0].mtimeMs, (MTIME_BASE_S + 5) * 1000);
  });
});
