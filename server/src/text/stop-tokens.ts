// Tokens that end an answer: the file's EOS / end-of-turn / end-of-message ids, and the
// end-of-turn control tokens of the common chat formats, which files often leave out of
// the metadata (Qwen marks <|im_end|> as EOS but also stops on <|endoftext|>).
import { GgufVocabulary } from './gguf-vocabulary';
import { TokenType } from './token-types';

const END_OF_TURN_TEXTS: ReadonlySet<string> = new Set([
  '<|im_end|>', // ChatML (Qwen, many fine-tunes)
  '<|endoftext|>', // GPT-2 family, Qwen
  '<|eot_id|>', // Llama 3
  '<|eom_id|>', // Llama 3.1 tool calls
  '<|end_of_text|>', // Llama 3 base
  '<|end|>', // Phi-3
  '<end_of_turn>', // Gemma
  '<|EOT|>', // DeepSeek Coder instruct
  '<\uff5cend\u2581of\u2581sentence\uff5c>', // DeepSeek: <｜end▁of▁sentence｜>
]);

export function stopTokenIds(vocabulary: GgufVocabulary): number[] {
  const ids = new Set<number>();
  for (const id of [vocabulary.eosId, vocabulary.eotId, vocabulary.eomId]) if (id !== undefined) ids.add(id);
  const { tokens, tokenTypes } = vocabulary;
  for (let id = 0; id < tokens.length; id++) {
    if (tokenTypes[id] === TokenType.CONTROL && END_OF_TURN_TEXTS.has(tokens[id])) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
