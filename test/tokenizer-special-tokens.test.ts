// Control tokens only where asked for, BOS/EOS rules, stop ids, isSpecial / tokenId, and the
// errors for metadata the tokenizer cannot use.
import * as assert from 'assert';
import { SpecialTokenSplitter } from '../server/src/text/special-token-splitter';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { gguf } from './fixtures/gguf-values';
import { qwenTokenizerMetadata, qwenVocab } from './fixtures/qwen-vocab';
import { byteLevelFixture, sentencePieceFixture, withEntry } from './fixtures/tokenizer-fixture-vocabs';
import { metadataRecord } from './fixtures/tokenizer-metadata';

describe('tokenizer: special tokens, BOS/EOS, stop ids', function () {
  this.timeout(60_000);
  let qwen: TextTokenizer;
  const qwenId = (text: string): number => qwenVocab().idOf.get(text)!;

  before(() => {
    qwen = TextTokenizer.fromMetadata(metadataRecord(qwenTokenizerMetadata()));
  });

  describe('parseSpecial', () => {
    it('keeps "<|im_end|>" in text as ordinary tokens by default, and gives the control id when asked', () => {
      const text = 'say <|im_end|> now';
      const plain = qwen.encode(text);
      assert.ok(!plain.includes(qwenId('<|im_end|>')));
      assert.ok(plain.every((id) => !qwen.isSpecial(id)));
      assert.strictEqual(qwen.decode(plain), text);
      const parsed = qwen.encode(text, { parseSpecial: true });
      assert.deepStrictEqual(parsed, [...qwen.encode('say '), qwenId('<|im_end|>'), ...qwen.encode(' now')]);
      assert.strictEqual(qwen.decode(parsed), text);
      assert.strictEqual(qwen.decode(parsed, { skipSpecial: true }), 'say  now');
    });

    it('matches user-defined tokens (<think>) in any mode, as llama.cpp and tokenizer.json do; they stay text for skipSpecial', () => {
      assert.deepStrictEqual(qwen.encode('<think>'), [qwenId('<think>')]);
      assert.deepStrictEqual(qwen.encode('a <think> b'), qwen.encode('a <think> b', { parseSpecial: true }));
      assert.strictEqual(qwen.isSpecial(qwenId('<think>')), false, '<think> is text, kept by skipSpecial');
      assert.strictEqual(qwen.decode([qwenId('<think>')], { skipSpecial: true }), '<think>');
      const { ids, starts } = qwen.encodeWithOffsets('x<think>');
      assert.deepStrictEqual(ids.slice(-1), [qwenId('<think>')]);
      assert.deepStrictEqual(starts.slice(-1), [1]);
    });

    it('prefers the longest added token where two start at the same place', () => {
      const splitter = new SpecialTokenSplitter([
        { content: '<|a|>', id: 1 },
        { content: '<|a|><|b|>', id: 2 },
        { content: '<|b|>', id: 3 },
      ]);
      assert.deepStrictEqual(
        splitter.split('x<|a|><|b|>y<|a|><|a|>').map((s) => (s.kind === 'token' ? s.id : `${s.start}-${s.end}`)),
        ['0-1', 2, '11-12', 1, 1],
      );
    });

    it('finds control tokens next to each other, with their offsets', () => {
      const text = '<|im_start|>user\n<|im_end|><|im_start|>assistant\n';
      const ids = qwen.encode(text, { parseSpecial: true });
      assert.strictEqual(ids[0], qwenId('<|im_start|>'));
      assert.deepStrictEqual(
        ids.filter((id) => qwen.isSpecial(id)),
        [qwenId('<|im_start|>'), qwenId('<|im_end|>'), qwenId('<|im_start|>')],
      );
      const { starts } = qwen.encodeWithOffsets(text, { parseSpecial: true });
      assert.strictEqual(starts[ids.indexOf(qwenId('<|im_end|>'))], text.indexOf('<|im_end|>'));
    });

    it('encodes the empty string to nothing and never adds BOS or EOS', () => {
      assert.deepStrictEqual(qwen.encode(''), []);
      assert.deepStrictEqual(qwen.encodeWithOffsets('', { parseSpecial: true }), { ids: [], starts: [] });
      const spm = TextTokenizer.fromMetadata(sentencePieceFixture().metadata);
      assert.ok(spm.addBos);
      assert.ok(!spm.encode('the cat', { startsPrompt: true }).includes(spm.bosId!));
    });
  });

  describe('BOS / EOS', () => {
    it('Qwen (gpt2): BOS <|endoftext|> named but not added; EOS <|im_end|>', () => {
      assert.strictEqual(qwen.bosId, qwenId('<|endoftext|>'));
      assert.strictEqual(qwen.eosId, qwenId('<|im_end|>'));
      assert.strictEqual(qwen.addBos, false);
      assert.strictEqual(qwen.addEos, false);
      assert.strictEqual(qwen.vocabSize, qwenVocab().tokens.length);
      assert.strictEqual(qwen.model, 'gpt2');
      assert.strictEqual(qwen.pre, 'qwen2');
    });

    it('gpt2 adds BOS only when the metadata says so', () => {
      assert.strictEqual(TextTokenizer.fromMetadata(byteLevelFixture('llama-bpe').metadata).addBos, false);
      assert.strictEqual(TextTokenizer.fromMetadata(byteLevelFixture('llama-bpe', { addBos: true }).metadata).addBos, true);
    });

    it('llama (SentencePiece) adds BOS by default, not when the metadata says no, and assumes ids 1 and 2 when absent', () => {
      const byDefault = TextTokenizer.fromMetadata(sentencePieceFixture().metadata);
      assert.strictEqual(byDefault.addBos, true);
      assert.strictEqual(byDefault.bosId, 1);
      assert.strictEqual(byDefault.eosId, 2);
      assert.strictEqual(TextTokenizer.fromMetadata(sentencePieceFixture({ addBos: false }).metadata).addBos, false);
      const implicit = TextTokenizer.fromMetadata(sentencePieceFixture({ omitSpecialIds: true }).metadata);
      assert.strictEqual(implicit.bosId, 1);
      assert.strictEqual(implicit.eosId, 2);
      assert.deepStrictEqual(implicit.stopIds, [2]);
    });

    it('refuses add_bos_token without a bos_token_id', () => {
      const fixture = byteLevelFixture('llama-bpe', { addBos: true });
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(fixture.entries, 'tokenizer.ggml.bos_token_id', undefined)), /add_bos_token.*no tokenizer\.ggml\.bos_token_id/);
    });
  });

  describe('stop ids and special ids', () => {
    it('Qwen stops at <|im_end|> (EOS) and <|endoftext|>', () => {
      assert.deepStrictEqual(qwen.stopIds, [qwenId('<|endoftext|>'), qwenId('<|im_end|>')]);
    });

    it('a file with an EOT id (u64 in the file) stops at EOS and EOT', () => {
      const fixture = byteLevelFixture('llama-bpe');
      const t = TextTokenizer.fromMetadata(fixture.metadata);
      assert.strictEqual(typeof fixture.metadata['tokenizer.ggml.eot_token_id'], 'bigint');
      assert.strictEqual(t.eotId, fixture.idOf.get('<|eot_id|>'));
      assert.deepStrictEqual(t.stopIds, [fixture.idOf.get('<|endoftext|>'), fixture.idOf.get('<|eot_id|>')]);
      assert.ok(!t.stopIds.includes(fixture.idOf.get('<|fim_prefix|>')!));
    });

    it('isSpecial: control tokens yes, text and user-defined tokens no; tokenId finds stored spellings', () => {
      assert.strictEqual(qwen.isSpecial(qwenId('<|im_start|>')), true);
      assert.strictEqual(qwen.isSpecial(qwen.encode('hello')[0]), false);
      assert.strictEqual(qwen.tokenId('<|im_end|>'), qwenId('<|im_end|>'));
      assert.strictEqual(qwen.tokenId('\u0120the'), qwen.encode(' the')[0]);
      assert.strictEqual(qwen.tokenId('no such token, surely'), undefined);
      assert.throws(() => qwen.isSpecial(qwen.vocabSize), RangeError);
      assert.throws(() => qwen.decode([-1]), /outside the vocabulary/);
    });
  });

  describe('errors name the problem', () => {
    const qwenEntries = (): ReturnType<typeof qwenTokenizerMetadata> => qwenTokenizerMetadata();

    it('unknown tokenizer model', () => {
      assert.throws(
        () => TextTokenizer.fromMetadata(withEntry(qwenEntries(), 'tokenizer.ggml.model', gguf.string('bert'))),
        (error: Error) => /unsupported tokenizer\.ggml\.model "bert"/.test(error.message) && /"gpt2"/.test(error.message) && /"llama"/.test(error.message),
      );
    });

    it('unknown pre-tokenizer, and a missing one', () => {
      assert.throws(
        () => TextTokenizer.fromMetadata(withEntry(qwenEntries(), 'tokenizer.ggml.pre', gguf.string('falcon'))),
        (error: Error) => /unsupported tokenizer\.ggml\.pre "falcon"/.test(error.message) && /"qwen2", "llama-bpe", "llama3"/.test(error.message) && /"deepseek-coder"/.test(error.message),
      );
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(qwenEntries(), 'tokenizer.ggml.pre', undefined)), /no tokenizer\.ggml\.pre.*supported are "qwen2"/);
    });

    it('missing or malformed tokens array, and no tokenizer at all', () => {
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(qwenEntries(), 'tokenizer.ggml.tokens', undefined)), /no tokenizer\.ggml\.tokens array/);
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(qwenEntries(), 'tokenizer.ggml.tokens', gguf.string('oops'))), /tokenizer\.ggml\.tokens must be an array/);
      assert.throws(() => TextTokenizer.fromMetadata({}), /no tokenizer\.ggml\.model/);
    });

    it('missing merges (gpt2) or scores (llama), and arrays of the wrong length', () => {
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(qwenEntries(), 'tokenizer.ggml.merges', undefined)), /no tokenizer\.ggml\.merges/);
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(sentencePieceFixture().entries, 'tokenizer.ggml.scores', undefined)), /no tokenizer\.ggml\.scores/);
      assert.throws(
        () => TextTokenizer.fromMetadata(withEntry(sentencePieceFixture().entries, 'tokenizer.ggml.token_type', gguf.i32s([1, 1, 1]))),
        /token_type has 3 entries but the vocabulary has \d+ tokens/,
      );
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(qwenEntries(), 'tokenizer.ggml.eos_token_id', gguf.u32(10_000_000))), /eos_token_id = 10000000 is outside the vocabulary/);
    });

    it('a byte-level vocabulary that cannot spell every byte', () => {
      const fixture = byteLevelFixture('llama-bpe', { qwenMerges: 0 });
      const tokens = [...(fixture.metadata['tokenizer.ggml.tokens'] as string[])];
      tokens[0xe4] = 'not a byte';
      assert.throws(() => TextTokenizer.fromMetadata(withEntry(fixture.entries, 'tokenizer.ggml.tokens', gguf.strings(tokens))), /no token for byte 0xe4/);
    });
  });
});
