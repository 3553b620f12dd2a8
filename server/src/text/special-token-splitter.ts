// Finds added tokens (<|im_start|>, <s>, <think>, ...) written out in text, so that prompt
// formats can be tokenized with their control tokens. At each position the longest token
// wins; the scan goes left to right, as in Hugging Face and llama.cpp.

export interface TextSection {
  /** 'token': the section is the added token `id` written out; 'text': ordinary text. */
  readonly kind: 'text' | 'token';
  readonly start: number;
  readonly end: number;
  /** The added token's id for a 'token' section; -1 for text. */
  readonly id: number;
}

export class SpecialTokenSplitter {
  private readonly pattern: RegExp | undefined;
  private readonly idOf: ReadonlyMap<string, number>;

  constructor(tokens: ReadonlyArray<{ readonly content: string; readonly id: number }>) {
    const idOf = new Map<string, number>();
    for (const { content, id } of tokens) if (content.length > 0 && !idOf.has(content)) idOf.set(content, id);
    this.idOf = idOf;
    // Longer alternatives first: a regex alternation takes the first that matches, so this is longest-match.
    const alternatives = [...idOf.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = alternatives.length === 0 ? undefined : new RegExp(alternatives.join('|'), 'g');
  }

  /**
   * `accept`, when given, may turn a match down (it then stays text, and the
   * scan goes on from the next character): how text that a user or a file
   * supplied is kept from making control tokens inside a prompt format.
   */
  split(text: string, accept?: (start: number, end: number, id: number) => boolean): TextSection[] {
    const sections: TextSection[] = [];
    let done = 0;
    if (this.pattern !== undefined) {
      const pattern = this.pattern;
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        const end = match.index + match[0].length;
        const id = this.idOf.get(match[0]) as number;
        if (accept !== undefined && !accept(match.index, end, id)) {
          pattern.lastIndex = match.index + 1;
          continue;
        }
        if (match.index > done) sections.push({ kind: 'text', start: done, end: match.index, id: -1 });
        done = end;
        sections.push({ kind: 'token', start: match.index, end, id });
      }
    }
    if (done < text.length) sections.push({ kind: 'text', start: done, end: text.length, id: -1 });
    return sections;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
