// The tokenizer and chat template built from a real GGUF file through the engine: the
// metadata as the addon hands it over (plain arrays, bigint for 64-bit ids) gives the same
// tokenizer as the fixture's metadata.
import * as assert from 'assert';
import { Engine, Model } from '../server/src/engine';
import { ChatTemplate } from '../server/src/text/chat-template';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { qwenTokenizerMetadata, qwenVocab } from './fixtures/qwen-vocab';
import { tinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { metadataRecord } from './fixtures/tokenizer-metadata';
import { useTempDir } from './helpers/temp-dir';

describe('tokenizer: from a GGUF file loaded by the engine', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('tokenizer-gguf');
  let model: Model;

  before(async () => {
    const fixture = writeTinyModel(tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true }), tempDir());
    model = await Engine.load(fixture.path, { backend: 'cpu', threads: 1 });
  });
  after(() => model?.dispose());

  it('reads the vocabulary, merges and special ids from model.metadata()', () => {
    const fromFile = TextTokenizer.fromMetadata(model.metadata());
    const fromFixture = TextTokenizer.fromMetadata(metadataRecord(qwenTokenizerMetadata()));
    assert.strictEqual(fromFile.vocabSize, qwenVocab().tokens.length);
    assert.strictEqual(fromFile.vocabSize, model.info.vocab);
    assert.deepStrictEqual(fromFile.stopIds, fromFixture.stopIds);
    assert.strictEqual(fromFile.bosId, fromFixture.bosId);
    assert.strictEqual(fromFile.addBos, false);
    const text = '<|im_start|>user\nWhy does `fn parse()` fail on 日本語 input? 🤔<|im_end|>\n';
    for (const parseSpecial of [false, true]) {
      assert.deepStrictEqual(fromFile.encode(text, { parseSpecial }), fromFixture.encode(text, { parseSpecial }));
    }
  });

  it('reads the chat template from model.metadata()', () => {
    const template = ChatTemplate.fromMetadata(model.metadata());
    assert.strictEqual(template.source, 'gguf');
    assert.strictEqual(template.template, qwenVocab().chatTemplate);
    assert.strictEqual(template.eosToken, '<|im_end|>');
  });
});
