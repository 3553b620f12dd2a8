// Cuts a byte-level BPE vocabulary (a Hugging Face tokenizer.json) down to `size` tokens:
// the 256 byte tokens, then merges in priority order until the merge results fill the
// space left before the ChatML control tokens. Every merge's parts are byte tokens or
// results of earlier merges, so a prefix of the merge list never refers to a token that
// was cut; the check below says so if a source ever breaks that rule.
import { CONTROL_TOKENS, SmallVocab, TOKEN_TYPE_CONTROL, TOKEN_TYPE_NORMAL } from './small-vocab';

/** The parts of a tokenizer.json this needs. */
export interface SourceTokenizerJson {
  readonly model: {
    readonly type: string;
    readonly vocab: Readonly<Record<string, number>>;
    readonly merges: ReadonlyArray<string | readonly [string, string]>;
  };
}

export const BYTE_TOKEN_COUNT = 256;

export function buildSmallVocab(source: SourceTokenizerJson, size: number, sourceName: string): SmallVocab {
  if (source.model.type !== 'BPE') throw new Error(`expected a BPE tokenizer, got ${source.model.type}`);
  const minimum = BYTE_TOKEN_COUNT + CONTROL_TOKENS.length;
  if (!Number.isInteger(size) || size < minimum) throw new Error(`vocabulary size must be an integer of at least ${minimum}, got ${size}`);

  // Byte-level BPE vocabularies (GPT-2, Qwen) give the 256 single-byte characters ids 0..255.
  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(source.model.vocab)) byId.set(id, text);
  const tokens: string[] = [];
  for (let id = 0; id < BYTE_TOKEN_COUNT; id++) {
    const text = byId.get(id);
    if (text === undefined || [...text].length !== 1) throw new Error(`source vocabulary id ${id} is not a single byte-level character`);
    tokens.push(text);
  }

  const kept = new Set(tokens);
  const merges: string[] = [];
  const normalCount = size - CONTROL_TOKENS.length;
  for (const merge of source.model.merges) {
    if (tokens.length >= normalCount) break;
    const [left, right] = typeof merge === 'string' ? splitMerge(merge) : merge;
    if (!kept.has(left) || !kept.has(right)) throw new Error(`merge "${left} ${right}" uses a token that no earlier merge made`);
    merges.push(`${left} ${right}`);
    const result = left + right;
    // Some results are reached by two merges ("ĠĠ Ġ" and "Ġ ĠĠ"): one token, both merges kept.
    if (!kept.has(result)) {
      kept.add(result);
      tokens.push(result);
    }
  }
  if (tokens.length < normalCount) throw new Error(`the source has merges for only ${tokens.length} tokens, fewer than ${normalCount}`);

  const tokenTypes = tokens.map(() => TOKEN_TYPE_NORMAL);
  const controlId = (text: (typeof CONTROL_TOKENS)[number]): number => tokens.length + CONTROL_TOKENS.indexOf(text);
  const vocab: SmallVocab = {
    source: `${sourceName}: the 256 byte tokens and the first ${merges.length} merges, then ${CONTROL_TOKENS.join(' ')}`,
    merges,
    tokens: [...tokens, ...CONTROL_TOKENS],
    tokenTypes: [...tokenTypes, ...CONTROL_TOKENS.map(() => TOKEN_TYPE_CONTROL)],
    pre: 'qwen2',
    bosTokenId: controlId('<|endoftext|>'),
    paddingTokenId: controlId('<|endoftext|>'),
    eosTokenId: controlId('<|im_end|>'),
    imStartTokenId: controlId('<|im_start|>'),
  };
  return vocab;
}

/** "left right": the first space after the first character separates the parts. */
function splitMerge(merge: string): [string, string] {
  const at = merge.indexOf(' ', 1);
  if (at < 0) throw new Error(`merge without a space: "${merge}"`);
  return [merge.slice(0, at), merge.slice(at + 1)];
}
