// Encoded words by their text. Source code reuses a small set of words (identifiers,
// keywords, indentation), so a plain map with a size cap catches nearly all of them.

export interface EncodedWord {
  readonly ids: readonly number[];
  /** UTF-16 offset within the word where each token starts. */
  readonly starts: readonly number[];
}

/** Longer words rarely repeat; caching them would only hold memory. */
const MAX_WORD_LENGTH = 64;
const MAX_ENTRIES = 1 << 17;

export class WordCache {
  private readonly entries = new Map<string, EncodedWord>();

  get(word: string): EncodedWord | undefined {
    return this.entries.get(word);
  }

  put(word: string, encoded: EncodedWord): EncodedWord {
    if (word.length <= MAX_WORD_LENGTH) {
      // Starting over when full is simpler than LRU and costs one re-encode per word that comes back.
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(word, encoded);
    }
    return encoded;
  }
}
