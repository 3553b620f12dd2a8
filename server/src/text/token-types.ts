// GGUF token types (tokenizer.ggml.token_type), as llama.cpp's converter writes them.
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/**
 * Tokens that the tokenizer matches as whole strings before BPE runs (when special
 * tokens are parsed), as llama.cpp does: control and user-defined tokens, and <unk>.
 */
export function isAddedTokenType(type: number): boolean {
  return type === TokenType.CONTROL || type === TokenType.USER_DEFINED || type === TokenType.UNKNOWN;
}

/** Tokens that are not text: skipped by decode({ skipSpecial: true }). */
export function isSpecialTokenType(type: number): boolean {
  return type === TokenType.CONTROL || type === TokenType.UNKNOWN || type === TokenType.UNUSED;
}
