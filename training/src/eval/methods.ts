// The ways a question is answered in the evaluation: from the full KV cache, from a SnapKV
// compact cache of `budget` entries per head, or from the `budget` most recent prompt
// positions only (the baseline SnapKV is measured against).
//
// The recent-tokens baseline runs on the engine's own SnapKV path with window = budget: the
// selection then keeps the top (budget - window) = 0 scored positions plus the last `window`
// positions, i.e. exactly the most recent `budget` prompt tokens, with their original RoPE
// positions and keys computed over the whole prompt, as a sliding-window cache would hold them.

export type Method =
  | { readonly kind: 'full' }
  | { readonly kind: 'snapkv'; readonly budget: number }
  | { readonly kind: 'recent'; readonly budget: number };

export function methodLabel(method: Method): string {
  return method.kind === 'full' ? 'full cache' : `${method.kind === 'snapkv' ? 'SnapKV' : 'recent'} ${method.budget}`;
}

/** full, then SnapKV at every budget, then recent at every budget: the table's row order. */
export function methodsFor(budgets: readonly number[]): Method[] {
  return [
    { kind: 'full' },
    ...budgets.map((budget): Method => ({ kind: 'snapkv', budget })),
    ...budgets.map((budget): Method => ({ kind: 'recent', budget })),
  ];
}

/** Exact match after trimming both sides: answers are copied verbatim from the prompt. */
export function isExactMatch(generated: string, answer: string): boolean {
  return generated.trim() === answer.trim();
}
