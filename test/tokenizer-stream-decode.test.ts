// Streaming detokenization: characters split across tokens never come out broken, and the
// pushes plus end() add up to decode().
import * as assert from 'assert';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { qwenTokenizerMetadata } from './fixtures/qwen-vocab';
import { byteLevelFixture, sentencePieceFixture } from './fixtures/tokenizer-fixture-vocabs';
import { metadataRecord } from './fixtures/tokenizer-metadata';

/** A string with no lone surrogates and no U+FFFD: only whole characters. */
function assertWholeCharacters(text: string, what: string): void {
  assert.ok(!text.includes('\ufffd'), `${what}: ${JSON.stringify(text)} has U+FFFD`);
  assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text), `${what}: lone surrogate in ${JSON.stringify(text)}`);
}

function streamAll(tokenizer: TextTokenizer, ids: readonly number[], skipSpecial = false): { pushes: string[]; end: string } {
  const stream = tokenizer.createStreamDecoder({ skipSpecial });
  const pushes = ids.map((id) => stream.push(id));
  return { pushes, end: stream.end() };
}

const TEXTS = [
  'plain ascii',
  'café naïve façade Ωmega',
  '你好，世界！ 日本語のテキスト 한국어 텍스트',
  'emoji 😀 family 👨‍👩‍👧 flag 🇫🇷 math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '\ufeffBOM first, then\r\nCRLF',
];

describe('tokenizer: streaming decode', function () {
  this.timeout(60_000);
  const tokenizers: [string, () => TextTokenizer][] = [];
  let qwen: TextTokenizer | undefined;
  tokenizers.push(['Qwen (byte-level BPE)', () => (qwen ??= TextTokenizer.fromMetadata(metadataRecord(qwenTokenizerMetadata())))]);
  tokenizers.push(['small byte-level vocabulary (no CJK or emoji tokens)', () => TextTokenizer.fromMetadata(byteLevelFixture('llama-bpe', { qwenMerges: 200 }).metadata)]);
  tokenizers.push(['SentencePiece with byte fallback', () => TextTokenizer.fromMetadata(sentencePieceFixture().metadata)]);

  for (const [name, make] of tokenizers) {
    it(`${name}: every push is whole characters, and pushes + end() == decode()`, () => {
      const tokenizer = make();
      let heldBack = 0;
      for (const text of TEXTS) {
        const ids = tokenizer.encode(text);
        const { pushes, end } = streamAll(tokenizer, ids);
        pushes.forEach((piece, k) => assertWholeCharacters(piece, `${name}, token ${k} of ${JSON.stringify(text)}`));
        heldBack += pushes.filter((piece) => piece === '').length;
        assert.strictEqual(end, '');
        assert.strictEqual(pushes.join('') + end, tokenizer.decode(ids));
        assert.strictEqual(pushes.join(''), text);
      }
      if (name !== 'Qwen (byte-level BPE)') assert.ok(heldBack > 10, `${name}: characters were split across tokens (${heldBack} held back)`);
    });
  }

  it('holds an emoji back until its last byte token, then gives it whole', () => {
    const tokenizer = TextTokenizer.fromMetadata(sentencePieceFixture().metadata);
    const ids = tokenizer.encode('😀');
    assert.strictEqual(ids.length, 4);
    const stream = tokenizer.createStreamDecoder();
    assert.deepStrictEqual(ids.map((id) => stream.push(id)), ['', '', '', '😀']);
    assert.strictEqual(stream.end(), '');
  });

  it('turns leftover bytes of an unfinished character into U+FFFD at end(), and invalid bytes in between as they come', () => {
    const tokenizer = TextTokenizer.fromMetadata(sentencePieceFixture().metadata);
    const byte = (value: number): number => tokenizer.tokenId(`<0x${value.toString(16).toUpperCase().padStart(2, '0')}>`)!;
    const unfinished = tokenizer.createStreamDecoder();
    assert.strictEqual(unfinished.push(byte(0xf0)) + unfinished.push(byte(0x9f)), '');
    assert.strictEqual(unfinished.end(), '\ufffd');
    assert.strictEqual(tokenizer.decode([byte(0xf0), byte(0x9f)]), '\ufffd');

    const broken = tokenizer.createStreamDecoder();
    const parts = [byte(0xe4), tokenizer.tokenId('x')!, byte(0xe4), byte(0xbd), byte(0xa0)].map((id) => broken.push(id));
    assert.deepStrictEqual(parts, ['', '\ufffdx', '', '', '你']);
    assert.strictEqual(broken.end(), '');
    assert.strictEqual(parts.join(''), tokenizer.decode([byte(0xe4), tokenizer.tokenId('x')!, byte(0xe4), byte(0xbd), byte(0xa0)]));
  });

  it('skips control tokens when asked, in the stream as in decode()', () => {
    const tokenizer = qwen ?? TextTokenizer.fromMetadata(metadataRecord(qwenTokenizerMetadata()));
    const ids = tokenizer.encode('<|im_start|>assistant\n你好<|im_end|>', { parseSpecial: true });
    const skipped = streamAll(tokenizer, ids, true);
    assert.strictEqual(skipped.pushes.join('') + skipped.end, 'assistant\n你好');
    assert.strictEqual(tokenizer.decode(ids, { skipSpecial: true }), 'assistant\n你好');
    const kept = streamAll(tokenizer, ids);
    assert.strictEqual(kept.pushes.join('') + kept.end, '<|im_start|>assistant\n你好<|im_end|>');
  });
});
