// Token ids as the engine takes them.
import { EngineError } from './errors';

export type TokenIds = Int32Array | ArrayLike<number>;

export function toInt32Tokens(tokens: TokenIds, vocab: number): Int32Array {
  const ids = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens as ArrayLike<number>);
  if (ids.length === 0) throw new EngineError('INVALID_ARGUMENT', 'no tokens given');
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= vocab || (!(tokens instanceof Int32Array) && id !== (tokens as ArrayLike<number>)[i])) {
      throw new EngineError(
        'INVALID_ARGUMENT',
        `token id ${(tokens as ArrayLike<number>)[i]} at index ${i} is not in the model's vocabulary of ${vocab} tokens`,
      );
    }
  }
  return ids;
}
