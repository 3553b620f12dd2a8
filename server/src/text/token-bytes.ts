// What each token stands for, as bytes: the unit of decoding. A byte-level token spells bytes
// in GPT-2's alphabet; a SentencePiece byte token <0x0A> is one byte; "▁" is a space; added
// tokens (<|im_end|>, <think>) are their own text.
import { byteLevelTokenBytes } from './byte-level-alphabet';
import { GgufVocabulary } from './gguf-vocabulary';
import { TokenType, isAddedTokenType } from './token-types';
import { SPACE_MARK } from './tokenizer-json';

const SPM_BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8 = new TextEncoder();

export class TokenBytes {
  private readonly table: (Uint8Array | undefined)[];

  constructor(private readonly vocabulary: GgufVocabulary) {
    this.table = new Array<Uint8Array | undefined>(vocabulary.tokens.length);
  }

  of(id: number): Uint8Array {
    const cached = this.table[id];
    if (cached !== undefined) return cached;
    const bytes = this.compute(id);
    this.table[id] = bytes;
    return bytes;
  }

  private compute(id: number): Uint8Array {
    const text = this.vocabulary.tokens[id];
    const type = this.vocabulary.tokenTypes[id];
    if (isAddedTokenType(type)) return utf8.encode(text);
    if (this.vocabulary.model === 'gpt2') {
      // Placeholders such as "[PAD151643]" may hold characters outside the alphabet: keep their text.
      return byteLevelTokenBytes(text) ?? utf8.encode(text);
    }
    const byte = type === TokenType.BYTE ? SPM_BYTE_TOKEN.exec(text) : null;
    if (byte !== null) return Uint8Array.of(parseInt(byte[1], 16));
    return utf8.encode(text.replaceAll(SPACE_MARK, ' '));
  }
}
