// The token budget: files are offered newest first, and each one that fits is
// kept. One that does not fit is left out and smaller, older ones still get
// their chance, so a single huge recent file cannot push out the whole rest of
// the repository.
import type { LeftOutFile } from '../protocol';

export class TokenBudget {
  private used = 0;

  /** `limit` undefined: no limit. `smallestBlock`: tokens of the framing every block has, a lower bound on any block. */
  constructor(
    readonly limit: number | undefined,
    private readonly smallestBlock: number,
  ) {}

  get tokensUsed(): number {
    return this.used;
  }

  /** True once no further block can fit: the caller then skips tokenizing the rest. */
  get isFull(): boolean {
    return this.limit !== undefined && this.limit - this.used < Math.max(1, this.smallestBlock);
  }

  /** Takes `tokens` from the budget if they fit; otherwise leaves it unchanged. */
  tryTake(tokens: number): boolean {
    if (this.limit !== undefined && this.used + tokens > this.limit) return false;
    this.used += tokens;
    return true;
  }

  overLimit(relPath: string, tokens: number): LeftOutFile {
    const left = (this.limit ?? 0) - this.used;
    return { path: relPath, reason: 'over-token-limit', detail: `${tokens} tokens; ${left} of the ${this.limit}-token budget were left` };
  }

  full(relPath: string): LeftOutFile {
    return { path: relPath, reason: 'over-token-limit', detail: `the ${this.limit}-token budget was already full with newer files` };
  }
}
