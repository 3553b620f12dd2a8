// The other vocabularies: byte-level BPE with the Llama 3 and DeepSeek Coder word rules, and
// SentencePiece BPE with byte fallback (llama). Each fixture vocabulary is checked against
// @huggingface/tokenizers loaded from an equivalent tokenizer.json written to disk here, and
// against splits worked out by hand.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { HfTokenizer, loadHfTokenizer } from '../server/src/text/hf-tokenizers';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { ByteLevelPre, FixtureVocabulary, byteLevel, byteLevelFixture, sentencePieceFixture } from './fixtures/tokenizer-fixture-vocabs';
import { tokenizerCorpus } from './fixtures/tokenizer-corpus';
import { useTempDir } from './helpers/temp-dir';

const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..');

/** Loads the fixture's tokenizer.json from a file, as a Hugging Face model folder would provide it. */
function referenceFromFile(dir: string, name: string, fixture: FixtureVocabulary): HfTokenizer {
  const file = path.join(dir, `${name}.tokenizer.json`);
  fs.writeFileSync(file, JSON.stringify(fixture.tokenizerJson));
  return loadHfTokenizer(JSON.parse(fs.readFileSync(file, 'utf8')) as object, { clean_up_tokenization_spaces: false });
}

/** Each token's text, decoded on its own (byte tokens of a split character show as U+FFFD). */
function pieces(tokenizer: TextTokenizer, ids: readonly number[]): string[] {
  return ids.map((id) => tokenizer.decode([id]));
}

/** Asserts that the tokens cover each expected word with whole tokens: no token crosses a word boundary. */
function assertWords(tokenizer: TextTokenizer, text: string, words: readonly string[]): void {
  assert.strictEqual(words.join(''), text, 'the expected words must spell the text');
  const { ids } = tokenizer.encodeWithOffsets(text);
  const bytesOf = (s: string): number => Buffer.byteLength(s);
  const wordEnds = new Set<number>();
  let end = 0;
  for (const word of words) wordEnds.add((end += bytesOf(word)));
  let byte = 0;
  const tokenEnds = new Set<number>();
  for (const id of ids) tokenEnds.add((byte += tokenizer.tokenBytes(id).length));
  for (const wordEnd of wordEnds) assert.ok(tokenEnds.has(wordEnd), `a token crosses the end of a word at byte ${wordEnd} in ${JSON.stringify(text)}: ${JSON.stringify(pieces(tokenizer, ids))}`);
}

const SAMPLES = [
  'hello world',
  "Don't stop: it's 12345 or 1234567, isn't it? DON'T SHOUT, we'll see.",
  'function add(a, b) {\r\n\treturn a + b; // 你好世界\r\n}\r\n',
  'abc你好def 안녕하세요 こんにちは Привет мир ½ ² ٣ 3.14159',
  'emoji 😀👩‍💻🇫🇷 and accents café naïve',
  '    indented\n\n\n  lines   with   spaces  \t\ttabs\n',
  '<|endoftext|> and <think> written out, <|eot_id|>',
];

describe('tokenizer: other families against @huggingface/tokenizers', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('tokenizer-families');
  let corpusSample: string[];

  before(() => {
    // A slice of the parity corpus: enough real code and prose to exercise every rule.
    corpusSample = tokenizerCorpus(REPOSITORY_ROOT)
      .filter((_, i) => i % 12 === 0)
      .map((file) => file.text);
  });

  for (const pre of ['llama-bpe', 'deepseek-coder'] as const satisfies readonly ByteLevelPre[]) {
    describe(`byte-level BPE, pre = ${pre}`, () => {
      let fixture: FixtureVocabulary;
      let ours: TextTokenizer;
      let reference: HfTokenizer;
      before(() => {
        fixture = byteLevelFixture(pre);
        ours = TextTokenizer.fromMetadata(fixture.metadata);
        reference = referenceFromFile(tempDir(), pre, fixture);
      });

      it('gives the same ids as tokenizer.json on samples and real files, and decodes them back', () => {
        for (const text of [...SAMPLES, ...corpusSample]) {
          const ids = ours.encode(text, { parseSpecial: true });
          assert.deepStrictEqual(ids, reference.encode(text, { add_special_tokens: false }).ids, text.slice(0, 80));
          assert.strictEqual(ours.decode(ids), text);
        }
      });

      it('gives the same ids with a warm word cache as a fresh tokenizer', () => {
        const text = corpusSample.join('\n');
        const warm = ours.encode(text, { parseSpecial: true });
        assert.deepStrictEqual(warm, TextTokenizer.fromMetadata(fixture.metadata).encode(text, { parseSpecial: true }));
      });
    });
  }

  describe('byte-level word rules, by hand', () => {
    const tokenizers = new Map<ByteLevelPre, TextTokenizer>();
    before(() => {
      for (const pre of ['qwen2', 'llama-bpe', 'deepseek-coder'] as const) tokenizers.set(pre, TextTokenizer.fromMetadata(byteLevelFixture(pre).metadata));
    });
    const text = "12345 don't DON'T 你好世界 a\r\n\r\nb";

    it('qwen2: single digits, contractions in any case, line breaks kept together', () => {
      const t = tokenizers.get('qwen2')!;
      assertWords(t, text, ['1', '2', '3', '4', '5', ' don', "'t", ' DON', "'T", ' 你好世界', ' a', '\r\n\r\n', 'b']);
      assert.deepStrictEqual(pieces(t, t.encode('12345')), ['1', '2', '3', '4', '5']);
    });

    it('llama-bpe: digits in groups of three', () => {
      const t = tokenizers.get('llama-bpe')!;
      assertWords(t, text, ['123', '45', ' don', "'t", ' DON', "'T", ' 你好世界', ' a', '\r\n\r\n', 'b']);
      // The vocabulary has a merge for "34", but "3" and "4" sit in different groups.
      assert.deepStrictEqual(pieces(t, t.encode('12345')), ['123', '45']);
      assert.deepStrictEqual(pieces(t, t.encode("'t")), ["'t"]);
      assert.deepStrictEqual(pieces(t, t.encode("DON'T")).slice(-1), ["'T"]);
    });

    it('deepseek-coder: single digits, punctuation apart, CJK runs apart, each line break alone', () => {
      const t = tokenizers.get('deepseek-coder')!;
      assertWords(t, text, ['1', '2', '3', '4', '5', ' don', "'", 't', ' DON', "'", 'T', ' ', '你好世界', ' a', '\r', '\n', '\r', '\n', 'b']);
      // "c" + "你好" is a token, but DeepSeek Coder cuts CJK runs out of letter runs; Qwen does not.
      assert.deepStrictEqual(pieces(t, t.encode('c你好')), ['c', '你好']);
      const q = tokenizers.get('qwen2')!;
      assert.deepStrictEqual(pieces(q, q.encode('c你好')), ['c你好']);
    });

    it('byte-level BPE spells characters it has no token for in bytes, and decodes them whole', () => {
      const t = tokenizers.get('llama-bpe')!;
      const emoji = '😀';
      const ids = t.encode(emoji);
      assert.ok(ids.length > 1, 'the small vocabulary has no emoji token');
      assert.deepStrictEqual(ids.map((id) => Buffer.from(t.tokenBytes(id)).toString('hex')).join(''), Buffer.from(emoji).toString('hex'));
      assert.strictEqual(t.decode(ids), emoji);
      assert.strictEqual(t.tokenId(byteLevel('你好')), t.encode('你好')[0]);
    });
  });

  describe('SentencePiece BPE with byte fallback (llama)', () => {
    let fixture: FixtureVocabulary;
    let ours: TextTokenizer;
    let reference: HfTokenizer;
    const id = (text: string): number => fixture.idOf.get(text)!;
    before(() => {
      fixture = sentencePieceFixture();
      ours = TextTokenizer.fromMetadata(fixture.metadata);
      reference = referenceFromFile(tempDir(), 'spm', fixture);
    });

    it('gives the same ids as tokenizer.json (merges from scores = the converted merges) and decodes them back', () => {
      for (const text of [...SAMPLES, 'the cat is in', '<s>the</s>cat', ...corpusSample.slice(0, 6)]) {
        const ids = ours.encode(text, { parseSpecial: true, startsPrompt: true });
        assert.deepStrictEqual(ids, reference.encode(text, { add_special_tokens: false }).ids, text.slice(0, 80));
        // The reference decoder drops the one space that the prefix put before the first word.
        assert.strictEqual(reference.decode(ids, { clean_up_tokenization_spaces: false }), ours.decode(ids).replace(/^ /, ''));
        // Without the prefix and without parsing special tokens, the text comes back exactly.
        assert.strictEqual(ours.decode(ours.encode(text)), text);
      }
    });

    it('splits by hand-checked rules: ▁ words, byte fallback for CJK and emoji, <0x0A> for newlines', () => {
      const tokenText = new Map([...fixture.idOf].map(([text, i]) => [i, text]));
      const spm = (text: string, startsPrompt = true): string[] => ours.encode(text, { startsPrompt, parseSpecial: true }).map((i) => tokenText.get(i)!);
      assert.deepStrictEqual(spm('the cat is in'), ['▁the', '▁cat', '▁is', '▁in']);
      assert.deepStrictEqual(spm('the cat', false), ['t', 'he', '▁cat']);
      assert.deepStrictEqual(spm('你好'), ['▁', '<0xE4>', '<0xBD>', '<0xA0>', '好']);
      assert.deepStrictEqual(spm('😀'), ['▁', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
      assert.deepStrictEqual(spm('a\nb'), ['▁a', '<0x0A>', 'b']);
      assert.deepStrictEqual(spm('    x'), ['▁▁▁▁', '▁', 'x']);
      assert.deepStrictEqual(spm('<s>the</s>cat'), ['<s>', '▁the', '</s>', '▁cat']);
      assert.deepStrictEqual(ours.encode('the', { startsPrompt: true }), [id('▁the')]);
    });

    it('places offsets at the characters, the prefix at the start and byte tokens at their character', () => {
      assert.deepStrictEqual(ours.encodeWithOffsets('the 你', { startsPrompt: true }), {
        ids: [id('▁the'), id('▁'), id('<0xE4>'), id('<0xBD>'), id('<0xA0>')],
        starts: [0, 3, 4, 4, 4],
      });
    });

    it('without add_space_prefix, no ▁ is added anywhere', () => {
      const plain = sentencePieceFixture({ addSpacePrefix: false });
      const t = TextTokenizer.fromMetadata(plain.metadata);
      const r = referenceFromFile(tempDir(), 'spm-no-prefix', plain);
      for (const text of ['the cat', ' the cat', '<s>the cat</s> is in']) {
        assert.deepStrictEqual(t.encode(text, { parseSpecial: true, startsPrompt: true }), r.encode(text, { add_special_tokens: false }).ids);
      }
      assert.strictEqual(t.decode(t.encode(' the cat')), ' the cat');
    });
  });
});
