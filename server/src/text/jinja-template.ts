// The part of @huggingface/jinja this project uses, typed here. Like @huggingface/tokenizers,
// the package ships ECMAScript-module typings that a CommonJS project cannot import under
// node16 resolution; its CommonJS build is what runs.

export interface JinjaTemplate {
  render(variables: Record<string, unknown>): string;
}

interface JinjaModule {
  Template: new (source: string) => JinjaTemplate & { parsed: unknown };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jinja = require('@huggingface/jinja') as JinjaModule;

/**
 * The name under which a parsed template calls the server's strftime_now. The package declares
 * its own strftime_now (the clock) before a render's variables, and a variable may not be declared
 * twice, so the template's calls are renamed to this one, which each render supplies.
 */
export const TEMPLATE_CLOCK = 'snapkv_strftime_now';

/** Renames every identifier `from` in a parsed template (a tree of plain objects and arrays). */
function renameIdentifier(node: unknown, from: string, to: string): void {
  if (Array.isArray(node)) {
    for (const child of node) renameIdentifier(child, from, to);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (record.type === 'Identifier' && record.value === from) record.value = to;
  for (const child of Object.values(record)) renameIdentifier(child, from, to);
}

/**
 * Parses a Jinja template (HF chat-template dialect: trim_blocks and lstrip_blocks on). Throws on a
 * syntax error. Its strftime_now is the TEMPLATE_CLOCK variable of each render.
 */
export function parseJinjaTemplate(source: string): JinjaTemplate {
  const template = new jinja.Template(source);
  renameIdentifier(template.parsed, 'strftime_now', TEMPLATE_CLOCK);
  return template;
}
