// The prompt around the repository: the head the cache starts with never
// depends on the question; history and selections go into the suffix.
import * as assert from 'assert';
import { Engine, Model } from '../server/src/engine';
import { buildPrefixHead, buildSuffix } from '../server/src/session/prompt';
import { questionText, SYSTEM_PROMPT } from '../server/src/session/question-text';
import { ChatTemplate } from '../server/src/text/chat-template';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

describe('server prompt layout', function () {
  this.timeout(60_000);
  const tempDir = useTempDir('server-prompt');
  let model: Model;
  let tokenizer: TextTokenizer;
  let template: ChatTemplate;

  before(async () => {
    model = await Engine.load(writeServerModel(tempDir()), { backend: 'cpu' });
    const metadata = model.metadata();
    tokenizer = TextTokenizer.fromMetadata(metadata);
    template = ChatTemplate.fromMetadata(metadata, tokenizer);
  });

  after(() => model.dispose());

  it('starts with the system turn and opens the user turn where the repository goes', () => {
    const head = buildPrefixHead(tokenizer, template);
    assert.strictEqual(tokenizer.decode(Array.from(head.tokens)), `<|im_start|>system\n${SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n`);
    assert.strictEqual(head.tokens[0], tokenizer.tokenId('<|im_start|>'), 'control tokens are parsed in the template');
  });

  it('puts the question, and earlier turns, after the repository', () => {
    const first = buildSuffix(tokenizer, template, [], 'Where is main?');
    assert.strictEqual(tokenizer.decode(Array.from(first)), '\n\nWhere is main?<|im_end|>\n<|im_start|>assistant\n');
    const followUp = buildSuffix(tokenizer, template, [{ question: 'Where is main?', answer: 'In src/main.ts.' }], 'And what does it call?');
    assert.strictEqual(
      tokenizer.decode(Array.from(followUp)),
      '\n\nWhere is main?<|im_end|>\n<|im_start|>assistant\nIn src/main.ts.<|im_end|>\n<|im_start|>user\nAnd what does it call?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('writes a selection as fenced code with its file and lines before the question', () => {
    const text = questionText({
      question: 'Explain this.',
      selection: { path: 'src/a.ts', startLine: 3, endLine: 5, text: 'const x = ```;\n', languageId: 'typescript', surrounding: 'function f() {\n}\n' },
    });
    assert.strictEqual(
      text,
      'Selected code from src/a.ts, lines 3-5:\n````typescript\nconst x = ```;\n````\n\nAround the selection:\n````typescript\nfunction f() {\n}\n````\n\nExplain this.',
    );
    assert.strictEqual(questionText({ question: ' Why? ', activeFile: 'b.py' }), '(The file open in the editor is b.py.)\n\nWhy?');
  });
});
