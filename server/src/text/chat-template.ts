// The model's chat template (tokenizer.chat_template, Jinja) rendered with @huggingface/jinja,
// ChatML when the file has none, and the layout of a question about a repository around it.
import type { MetadataValue } from '../engine';
import { CHATML_TEMPLATE } from './chatml';
import { JinjaTemplate, parseJinjaTemplate, TEMPLATE_CLOCK } from './jinja-template';
import { readBoolean, readString, readStringArray } from './metadata-values';
import { RepositoryPromptLayout, RepositoryPromptRequest, layoutRepositoryPrompt } from './repository-prompt';
import { formatTemplateDate } from './template-clock';
import { TextTokenizer } from './tokenizer';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * The variables the server renders every model's template with. Qwen3's template writes an
 * empty <think></think> block into the generation prompt when enable_thinking is false, so the
 * model answers at once instead of reasoning at length first; other templates ignore it.
 */
export const SERVER_TEMPLATE_VARIABLES: Readonly<Record<string, unknown>> = Object.freeze({ enable_thinking: false });

export type ChatTemplateSource = 'gguf' | 'chatml-fallback';

export interface ChatTemplateOptions {
  /** Jinja source; undefined or empty means ChatML. */
  template?: string;
  /** Text of the BOS / EOS tokens, for templates that write them ({{ bos_token }}). */
  bosToken?: string;
  eosToken?: string;
  /**
   * The tokenizer starts every prompt with BOS itself (TextTokenizer.addBos), so a BOS that the
   * template writes at the very start is left out of layout().head, to avoid a double BOS.
   */
  addBos?: boolean;
  /** Further template variables, e.g. { enable_thinking: false } for Qwen3 templates. */
  variables?: Readonly<Record<string, unknown>>;
}

export interface ChatTemplateFromMetadataOptions {
  /** The model's tokenizer: BOS/EOS texts and addBos come from it. */
  tokenizer?: TextTokenizer;
  /** Further template variables, e.g. { enable_thinking: false }. */
  variables?: Readonly<Record<string, unknown>>;
}

export class ChatTemplate {
  readonly source: ChatTemplateSource;
  /** The Jinja source in use. */
  readonly template: string;
  readonly bosToken: string;
  readonly eosToken: string;
  readonly addBos: boolean;
  private readonly parsed: JinjaTemplate;
  private readonly variables: Readonly<Record<string, unknown>>;

  /**
   * From GGUF metadata: tokenizer.chat_template, the BOS/EOS token texts and whether BOS is
   * added. Given the model's TextTokenizer (or { tokenizer }), those come from it, so template
   * and tokenizer agree; otherwise they are read from the metadata.
   */
  static fromMetadata(metadata: Readonly<Record<string, MetadataValue>>, options: TextTokenizer | ChatTemplateFromMetadataOptions = {}): ChatTemplate {
    const { tokenizer, variables } = options instanceof TextTokenizer ? { tokenizer: options, variables: undefined } : options;
    const template = readString(metadata, 'tokenizer.chat_template');
    if (tokenizer !== undefined) {
      const textOf = (id: number | undefined): string | undefined => (id === undefined ? undefined : tokenizer.tokenText(id));
      return new ChatTemplate({ template, bosToken: textOf(tokenizer.bosId), eosToken: textOf(tokenizer.eosId), addBos: tokenizer.addBos, variables });
    }
    const tokens = readStringArray(metadata, 'tokenizer.ggml.tokens');
    const textOf = (key: string): string | undefined => {
      const id = metadata[key];
      const index = typeof id === 'bigint' ? Number(id) : id;
      return typeof index === 'number' && tokens !== undefined ? tokens[index] : undefined;
    };
    const addBos = readBoolean(metadata, 'tokenizer.ggml.add_bos_token') ?? readString(metadata, 'tokenizer.ggml.model') === 'llama';
    return new ChatTemplate({
      template,
      bosToken: textOf('tokenizer.ggml.bos_token_id'),
      eosToken: textOf('tokenizer.ggml.eos_token_id'),
      addBos,
      variables,
    });
  }

  constructor(options: ChatTemplateOptions = {}) {
    const fromFile = options.template !== undefined && options.template.trim().length > 0;
    this.source = fromFile ? 'gguf' : 'chatml-fallback';
    this.template = fromFile ? (options.template as string) : CHATML_TEMPLATE;
    this.bosToken = options.bosToken ?? '';
    this.eosToken = options.eosToken ?? '';
    this.addBos = options.addBos ?? false;
    this.variables = options.variables ?? {};
    try {
      this.parsed = parseJinjaTemplate(this.template);
    } catch (error) {
      throw new Error(`the model's chat template (tokenizer.chat_template) cannot be parsed: ${messageOf(error)}`);
    }
  }

  /**
   * The conversation as the model's prompt text, BOS included if the template writes it.
   * `today` is the date the template's strftime_now gives (the clock when absent).
   */
  render(messages: ChatMessage[], options: { addGenerationPrompt: boolean; today?: Date }): string {
    const today = options.today ?? new Date();
    try {
      return this.parsed.render({
        [TEMPLATE_CLOCK]: (format: unknown) => formatTemplateDate(today, String(format)),
        ...this.variables,
        messages: messages.map((message) => ({ role: message.role, content: message.content })),
        add_generation_prompt: options.addGenerationPrompt,
        bos_token: this.bosToken,
        eos_token: this.eosToken,
      });
    } catch (error) {
      throw new Error(`the chat template (${this.source}) cannot render this conversation: ${messageOf(error)}`);
    }
  }

  /**
   * The prompt for a question about a repository, split where the repository text goes:
   * [system, user(REPO + "\n\n" + firstQuestion), assistant(answer1), user(q2), ...] with the
   * generation prompt. `head` comes before the repository text and is the same for every
   * question and history (checked; an Error says so when the template makes that impossible);
   * `tail` comes after it. head + repository + tail is the rendered conversation, less a
   * leading BOS that the tokenizer adds itself (addBos).
   */
  layout(request: RepositoryPromptRequest, today: Date = new Date()): RepositoryPromptLayout {
    // One date for all the renderings the split compares, so midnight cannot fall between them.
    const layout = layoutRepositoryPrompt(request, (messages) => this.render(messages, { addGenerationPrompt: true, today }));
    if (this.addBos && this.bosToken.length > 0 && layout.head.startsWith(this.bosToken)) {
      return { ...layout, head: layout.head.slice(this.bosToken.length) };
    }
    return layout;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
