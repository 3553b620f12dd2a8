// Prompt token ids for benchmarks: seeded, uniform over the vocabulary. With
// random weights any ids do; no tokenizer is needed.

/** `count` ids in [0, vocab), the same for the same seed. */
export function randomTokens(count: number, vocab: number, seed: number): Int32Array {
  if (!Number.isInteger(count) || count < 0) throw new Error(`token count must be a whole number, not ${count}`);
  const ids = new Int32Array(count);
  // mulberry32: tiny, fast, and good enough to spread ids over the vocabulary.
  let state = (seed * 0x9e3779b1) >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    ids[i] = Math.floor(unit * vocab);
  }
  return ids;
}
