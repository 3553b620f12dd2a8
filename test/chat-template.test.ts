// Chat templates: the real Qwen template renders the known ChatML text, ChatML stands in when a
// file has none, and the repository prompt layout puts a question-independent head before the
// repository text (or says clearly why a template makes that impossible).
import * as assert from 'assert';
import { ChatMessage, ChatTemplate } from '../server/src/text/chat-template';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { CONVERSATION } from './fixtures/chat-templates';
import { gguf } from './fixtures/gguf-values';
import { qwenTokenizerMetadata, qwenVocab } from './fixtures/qwen-vocab';
import { sentencePieceFixture, withEntry } from './fixtures/tokenizer-fixture-vocabs';
import { metadataRecord } from './fixtures/tokenizer-metadata';

// Qwen's format, written out by hand: <|im_start|>role, newline, content, <|im_end|>, newline.
const QWEN_EXPECTED =
  '<|im_start|>system\nYou answer questions about a repository.<|im_end|>\n' +
  '<|im_start|>user\nWhat does prefill do?<|im_end|>\n' +
  '<|im_start|>assistant\nIt runs the prompt through the model once.<|im_end|>\n' +
  '<|im_start|>user\nAnd query?<|im_end|>\n' +
  '<|im_start|>assistant\n';

// The Llama 3 instruct format (BOS written by the template, contents trimmed).
const LLAMA3_TEMPLATE =
  "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

// A template that refuses system messages, as Gemma's and Mistral's do.
const NO_SYSTEM_TEMPLATE =
  "{%- for message in messages %}{%- if message.role == 'system' %}{{- raise_exception('System role not supported') }}{%- endif %}" +
  "{{- '<turn ' + message.role + '>' + message.content + '</turn>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<turn assistant>' }}{%- endif %}";

// A template that states the latest question before the conversation.
const QUESTION_FIRST_TEMPLATE =
  "{{- 'Question: ' + messages[-1].content + '\\n' }}{%- for message in messages %}{{- message.role + ': ' + message.content + '\\n' }}{%- endfor %}";

const REPO = 'File: src/a.ts\nexport const a = 1;\n';

describe('chat template', function () {
  this.timeout(60_000);
  let qwen: ChatTemplate;

  before(() => {
    qwen = ChatTemplate.fromMetadata(metadataRecord(qwenTokenizerMetadata()));
  });

  describe('render', () => {
    it('renders a conversation with the real Qwen template exactly as the ChatML text written out by hand', () => {
      assert.strictEqual(qwen.source, 'gguf');
      assert.strictEqual(qwen.template, qwenVocab().chatTemplate);
      assert.strictEqual(qwen.render(CONVERSATION, { addGenerationPrompt: true }), QWEN_EXPECTED);
      assert.strictEqual(qwen.render(CONVERSATION, { addGenerationPrompt: false }), QWEN_EXPECTED.slice(0, -'<|im_start|>assistant\n'.length));
    });

    it('passes extra variables to the template (Qwen3: enable_thinking = false)', () => {
      const noThinking = ChatTemplate.fromMetadata(metadataRecord(qwenTokenizerMetadata()), { variables: { enable_thinking: false } });
      assert.strictEqual(noThinking.render(CONVERSATION, { addGenerationPrompt: true }), QWEN_EXPECTED + '<think>\n\n</think>\n\n');
    });

    it('falls back to ChatML when the file has no template', () => {
      const fallback = ChatTemplate.fromMetadata(withEntry(qwenTokenizerMetadata(), 'tokenizer.chat_template', undefined));
      assert.strictEqual(fallback.source, 'chatml-fallback');
      assert.strictEqual(fallback.render(CONVERSATION, { addGenerationPrompt: true }), QWEN_EXPECTED);
      assert.strictEqual(new ChatTemplate().source, 'chatml-fallback');
      assert.strictEqual(new ChatTemplate({ template: '  ' }).source, 'chatml-fallback');
    });

    it('passes bos_token and eos_token', () => {
      const llama3 = new ChatTemplate({ template: LLAMA3_TEMPLATE, bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>' });
      assert.strictEqual(
        llama3.render([{ role: 'user', content: ' hi ' }], { addGenerationPrompt: true }),
        '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
      );
    });

    it('reports templates that do not parse, and templates that refuse a conversation', () => {
      assert.throws(() => new ChatTemplate({ template: '{% for m in messages %}' }), /chat template \(tokenizer\.chat_template\) cannot be parsed/);
      const strict = new ChatTemplate({ template: NO_SYSTEM_TEMPLATE });
      assert.throws(() => strict.render(CONVERSATION, { addGenerationPrompt: true }), /cannot render this conversation: System role not supported/);
    });
  });

  describe('layout', () => {
    const history = [
      { question: 'What does prefill do?', answer: 'It runs the prompt through the model once.' },
      { question: 'Where is it?', answer: 'In server/src/engine.' },
    ];
    const system = 'You answer questions about a repository.';

    it('splits the Qwen prompt around the repository: head + repository + tail is the full conversation', () => {
      const { head, tail } = qwen.layout({ system, history, question: 'And query?' });
      assert.strictEqual(head, `<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n`);
      const full: ChatMessage[] = [
        { role: 'system', content: system },
        { role: 'user', content: `${REPO}\n\n${history[0].question}` },
        { role: 'assistant', content: history[0].answer },
        { role: 'user', content: history[1].question },
        { role: 'assistant', content: history[1].answer },
        { role: 'user', content: 'And query?' },
      ];
      assert.strictEqual(head + REPO + tail, qwen.render(full, { addGenerationPrompt: true }));
      assert.ok(tail.startsWith('\n\nWhat does prefill do?<|im_end|>\n'));
      assert.ok(tail.endsWith('<|im_start|>user\nAnd query?<|im_end|>\n<|im_start|>assistant\n'));
    });

    it('gives the same head for any question and history, and the first question right after the repository', () => {
      const first = qwen.layout({ system, history: [], question: 'What is SnapKV?' });
      const second = qwen.layout({ system, history: [], question: 'Something else entirely' });
      const third = qwen.layout({ system, history, question: 'And query?' });
      assert.strictEqual(first.head, second.head);
      assert.strictEqual(first.head, third.head);
      assert.strictEqual(first.tail, '\n\nWhat is SnapKV?<|im_end|>\n<|im_start|>assistant\n');
      assert.strictEqual(
        first.head + REPO + first.tail,
        qwen.render([{ role: 'system', content: system }, { role: 'user', content: `${REPO}\n\nWhat is SnapKV?` }], { addGenerationPrompt: true }),
      );
    });

    it('leaves a BOS written by the template out of the head when the tokenizer adds BOS itself', () => {
      const request = { system, history: [], question: 'Why?' };
      const withBos = new ChatTemplate({ template: LLAMA3_TEMPLATE, bosToken: '<|begin_of_text|>', addBos: true });
      const { head, tail } = withBos.layout(request);
      assert.strictEqual(head, `<|start_header_id|>system<|end_header_id|>\n\n${system}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n`);
      const full: ChatMessage[] = [
        { role: 'system', content: system },
        { role: 'user', content: `${REPO}\n\nWhy?` },
      ];
      assert.strictEqual('<|begin_of_text|>' + head + REPO + tail, withBos.render(full, { addGenerationPrompt: true }));
      const keepsBos = new ChatTemplate({ template: LLAMA3_TEMPLATE, bosToken: '<|begin_of_text|>', addBos: false });
      assert.strictEqual(keepsBos.layout(request).head, '<|begin_of_text|>' + head);
    });

    it('moves the system prompt into the first user message when the template refuses system messages', () => {
      const strict = new ChatTemplate({ template: NO_SYSTEM_TEMPLATE });
      const { head, tail } = strict.layout({ system, history: [], question: 'Why?' });
      assert.strictEqual(head, `<turn user>${system}\n\n`);
      assert.strictEqual(tail, '\n\nWhy?</turn>\n<turn assistant>');
    });

    it('refuses, clearly, a template that puts the question before the repository', () => {
      const questionFirst = new ChatTemplate({ template: QUESTION_FIRST_TEMPLATE });
      assert.throws(
        () => questionFirst.layout({ system, history, question: 'Why?' }),
        /puts text that depends on the question or the conversation before the repository text.*cannot serve every question/,
      );
      // Without history the latest question is the message holding the repository: it would be written twice.
      assert.throws(() => questionFirst.layout({ system, history: [], question: 'Why?' }), /writes the first user message more than once.*in the prompt twice/);
    });

    it('refuses, clearly, a template that rewrites message contents', () => {
      const shouting = new ChatTemplate({ template: "{%- for message in messages %}{{- message.content | upper }}{%- endfor %}" });
      assert.throws(() => shouting.layout({ system, history: [], question: 'Why?' }), /does not write the first user message unchanged \(it transforms or drops message text\)/);
    });

    it('takes BOS/EOS texts and addBos from the tokenizer when given one', () => {
      const metadata = metadataRecord(qwenTokenizerMetadata());
      const fromTokenizer = ChatTemplate.fromMetadata(metadata, TextTokenizer.fromMetadata(metadata));
      assert.strictEqual(fromTokenizer.bosToken, '<|endoftext|>');
      assert.strictEqual(fromTokenizer.eosToken, '<|im_end|>');
      assert.strictEqual(fromTokenizer.addBos, false);
      assert.strictEqual(fromTokenizer.render(CONVERSATION, { addGenerationPrompt: true }), QWEN_EXPECTED);
      const spm = sentencePieceFixture();
      const llamaTemplate = ChatTemplate.fromMetadata(spm.metadata, { tokenizer: TextTokenizer.fromMetadata(spm.metadata), variables: {} });
      assert.strictEqual(llamaTemplate.bosToken, '<s>');
      assert.strictEqual(llamaTemplate.addBos, true);
      assert.strictEqual(ChatTemplate.fromMetadata(spm.metadata).addBos, true, 'llama adds BOS by default, also read without a tokenizer');
    });

    it('takes the Qwen template and its BOS setting from GGUF metadata (no BOS stripping: add_bos_token is false)', () => {
      const fromFile = ChatTemplate.fromMetadata(withEntry(qwenTokenizerMetadata(), 'tokenizer.ggml.add_bos_token', gguf.bool(false)));
      assert.strictEqual(fromFile.addBos, false);
      assert.strictEqual(fromFile.bosToken, '<|endoftext|>');
      assert.deepStrictEqual(fromFile.layout({ system, history, question: 'q' }), qwen.layout({ system, history, question: 'q' }));
    });
  });
});
