// How each byte-level BPE family cuts text into words before BPE (tokenizer.ggml.pre).
// The patterns are the published ones of each model family's tokenizer.json (Oniguruma
// syntax; @huggingface/tokenizers translates them to JavaScript).

export interface PreTokenizerFamily {
  /** The tokenizer.ggml.pre value that selected this family. */
  readonly name: string;
  /** Split patterns applied one after the other, each keeping both matches and the text between them. */
  readonly splitPatterns: readonly string[];
  /** Unicode NFC before splitting (the Qwen tokenizers normalize; the others do not). */
  readonly nfc: boolean;
  /** A word that is already a vocabulary token is taken whole, without merges (Llama 3). */
  readonly ignoreMerges: boolean;
}

// Qwen2 / Qwen2.5 / Qwen3: like Llama 3, but every digit is its own word.
const QWEN2 = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

// Llama 3: numbers in groups of up to three digits.
const LLAMA3 = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

// DeepSeek Coder (v1): line breaks, letter runs, punctuation runs, CJK runs, single digits, in that order.
const DEEPSEEK_CODER = [
  String.raw`[\r\n]`,
  String.raw`\s?\p{L}+`,
  String.raw`\s?\p{P}+`,
  '[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+',
  String.raw`\p{N}`,
];

const FAMILIES: Readonly<Record<string, Omit<PreTokenizerFamily, 'name'>>> = {
  qwen2: { splitPatterns: [QWEN2], nfc: true, ignoreMerges: false },
  'llama-bpe': { splitPatterns: [LLAMA3], nfc: false, ignoreMerges: true },
  llama3: { splitPatterns: [LLAMA3], nfc: false, ignoreMerges: true },
  'llama-v3': { splitPatterns: [LLAMA3], nfc: false, ignoreMerges: true },
  'deepseek-coder': { splitPatterns: DEEPSEEK_CODER, nfc: false, ignoreMerges: false },
};

export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(FAMILIES);

export function preTokenizerFamily(pre: string | undefined): PreTokenizerFamily {
  const supported = SUPPORTED_PRE_TOKENIZERS.map((name) => `"${name}"`).join(', ');
  if (pre === undefined) {
    throw new Error(`GGUF metadata has no tokenizer.ggml.pre, so the word-splitting rules of this byte-level BPE vocabulary are unknown; supported are ${supported}`);
  }
  const family = Object.prototype.hasOwnProperty.call(FAMILIES, pre) ? FAMILIES[pre] : undefined;
  if (family === undefined) throw new Error(`unsupported tokenizer.ggml.pre "${pre}": supported are ${supported}`);
  return { name: pre, ...family };
}
