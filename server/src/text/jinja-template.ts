// The part of @huggingface/jinja this project uses, typed here. Like @huggingface/tokenizers,
// the package ships ECMAScript-module typings that a CommonJS project cannot import under
// node16 resolution; its CommonJS build is what runs.

export interface JinjaTemplate {
  render(variables: Record<string, unknown>): string;
}

interface JinjaModule {
  Template: new (source: string) => JinjaTemplate;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jinja = require('@huggingface/jinja') as JinjaModule;

/** Parses a Jinja template (HF chat-template dialect: trim_blocks and lstrip_blocks on). Throws on a syntax error. */
export function parseJinjaTemplate(source: string): JinjaTemplate {
  return new jinja.Template(source);
}
