/**
 * Independent float64 reference for the SnapKV selection (DESIGN.md section 3).
 *
 * Written from the specification only, to check the engine's kept positions
 * exactly. Everything here is plain float64 arithmetic in a fixed, documented
 * order; nothing is shared with the engine.
 *
 * Notation: L = prompt length, W = window, C = budget (window included),
 * k = pooling kernel (odd), W' = min(W, L) = number of window queries given.
 *
 * Algorithm (per layer):
 *  1. If L < C: keep everything (positions 0..L-1, every score NaN).
 *  2. For each query head h and window query t (absolute position p = L - W' + t),
 *     logits s_j = q_t . k_j / sqrt(headDim) for the keys j <= p (causal),
 *     softmax over those j (max-subtracted, float64). Sum the probabilities over
 *     the W' queries (t ascending) for the columns j < L - W  -> windowScores.
 *  3. GQA 'mean': per KV head g, average the summed scores of the query heads
 *     h with floor(h / group) == g (group = queryHeads / kvHeads; summed in
 *     ascending h, then divided by group). GQA 'repeat': one row per query head.
 *     -> cacheHeadScores.
 *  4. Pool along j over the L - W columns: window k, stride 1, padding
 *     floor(k/2). 'max' pads with -Infinity; 'avg' counts the padding as zeros
 *     and always divides by k (PyTorch avg_pool1d, count_include_pad=True).
 *     -> poolScores.
 *  5. Keep the top C - W columns by pooled score (ties: lower index first),
 *     sorted ascending, then append the window positions L-W..L-1.
 *
 * Score conventions of the returned KeptHead:
 *  - selected non-window position j: its pooled score (step 4).
 *  - window position (L-W..L-1): +Infinity (always kept).
 *  - keep-everything case (L < C): all positions 0..L-1, every score NaN
 *    (no selection took place, so no score is defined).
 *
 * Edge cases: with budget >= window enforced, W >= L implies L <= W <= C, so
 * either L < C (keep everything) or L == W == C, where the window covers the
 * whole prompt: zero columns are scored and every position is a window
 * position (score +Infinity).
 */

export type SnapKvPooling = 'max' | 'avg';
export type SnapKvGqa = 'mean' | 'repeat';

export interface SnapKvParams {
  /** W: number of last prompt queries that vote (>= 1). */
  window: number;
  /** C: prompt KV entries kept per cache head, window included (>= window). */
  budget: number;
  /** k: pooling kernel, odd integer >= 1. */
  kernel: number;
  pooling: SnapKvPooling;
  gqa: SnapKvGqa;
}

export interface SnapKvInput {
  /**
   * One array per query head: the last min(W, L) prompt queries (already
   * RoPE'd), row-major min(W, L) x headDim; row t is absolute position
   * L - min(W, L) + t.
   */
  queries: Float64Array[];
  /** One array per KV head: all L prompt keys (already RoPE'd), row-major L x headDim. */
  keys: Float64Array[];
  promptLength: number;
  headDim: number;
}

export interface KeptHead {
  /** Kept positions, strictly ascending. */
  positions: number[];
  /**
   * Score per kept position (same order): pooled score for selected positions,
   * +Infinity for window positions, NaN everywhere in the keep-everything case.
   */
  scores: number[];
  /**
   * Smallest pooled score among the selected non-window positions minus the
   * largest pooled score among the dropped ones. 0 means a tie at the cutoff
   * (resolved toward the lower index); a small value means a lower-precision
   * engine may legitimately pick differently. +Infinity when nothing was
   * dropped or nothing was selectable (keep-everything, C == W, C == L).
   */
  cutoffGap: number;
}

function isPositiveInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1;
}

/** Throws a descriptive Error when params break the SnapKV rules. */
export function validateSnapKvParams(params: SnapKvParams): void {
  if (params === null || typeof params !== 'object') {
    throw new Error('SnapKV params: expected an object { window, budget, kernel, pooling, gqa }');
  }
  const { window, budget, kernel, pooling, gqa } = params;
  if (!isPositiveInt(window)) {
    throw new Error(`SnapKV params: window must be an integer >= 1, got ${String(window)}`);
  }
  if (!isPositiveInt(budget)) {
    throw new Error(`SnapKV params: budget must be an integer >= 1, got ${String(budget)}`);
  }
  if (budget < window) {
    throw new Error(`SnapKV params: budget (${budget}) must be >= window (${window}); the budget includes the window`);
  }
  validateKernel(kernel);
  if (pooling !== 'max' && pooling !== 'avg') {
    throw new Error(`SnapKV params: pooling must be 'max' or 'avg', got ${String(pooling)}`);
  }
  if (gqa !== 'mean' && gqa !== 'repeat') {
    throw new Error(`SnapKV params: gqa must be 'mean' or 'repeat', got ${String(gqa)}`);
  }
}

function validateKernel(kernel: number): void {
  if (!isPositiveInt(kernel) || kernel % 2 !== 1) {
    throw new Error(`SnapKV params: kernel must be an odd integer >= 1, got ${String(kernel)}`);
  }
}

/** Throws a descriptive Error when the input shapes are inconsistent. */
export function validateSnapKvInput(input: SnapKvInput, window: number): void {
  const { queries, keys, promptLength: L, headDim: D } = input;
  if (!isPositiveInt(L)) {
    throw new Error(`SnapKV input: promptLength must be an integer >= 1, got ${String(L)}`);
  }
  if (!isPositiveInt(D)) {
    throw new Error(`SnapKV input: headDim must be an integer >= 1, got ${String(D)}`);
  }
  if (!Array.isArray(keys) || keys.length < 1) {
    throw new Error('SnapKV input: keys must hold at least one KV head');
  }
  if (!Array.isArray(queries) || queries.length < 1) {
    throw new Error('SnapKV input: queries must hold at least one query head');
  }
  if (queries.length % keys.length !== 0) {
    throw new Error(
      `SnapKV input: query heads (${queries.length}) must be a multiple of KV heads (${keys.length})`,
    );
  }
  const wq = Math.min(window, L);
  keys.forEach((k, g) => {
    if (k.length !== L * D) {
      throw new Error(`SnapKV input: keys[${g}] has ${k.length} values, expected L*headDim = ${L}*${D} = ${L * D}`);
    }
  });
  queries.forEach((q, h) => {
    if (q.length !== wq * D) {
      throw new Error(
        `SnapKV input: queries[${h}] has ${q.length} values, expected min(W, L)*headDim = ${wq}*${D} = ${wq * D}`,
      );
    }
  });
}

/**
 * Summed (pre-GQA, pre-pool) window attention per query head: entry j (0 <= j < max(0, L - W))
 * is the sum over the min(W, L) window queries of softmax probability on key j.
 */
export function windowScores(input: SnapKvInput, window: number): Float64Array[] {
  if (!isPositiveInt(window)) {
    throw new Error(`SnapKV params: window must be an integer >= 1, got ${String(window)}`);
  }
  validateSnapKvInput(input, window);
  const { queries, keys, promptLength: L, headDim: D } = input;
  const wq = Math.min(window, L);
  const cols = Math.max(0, L - window);
  const group = queries.length / keys.length;
  const scale = 1 / Math.sqrt(D);
  const logits = new Float64Array(L);
  return queries.map((q, h) => {
    const k = keys[Math.floor(h / group)];
    const out = new Float64Array(cols);
    for (let t = 0; t < wq; t++) {
      const p = L - wq + t; // absolute position of this query; sees keys 0..p
      let max = -Infinity;
      for (let j = 0; j <= p; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[t * D + d] * k[j * D + d];
        const s = dot * scale;
        logits[j] = s;
        if (s > max) max = s;
      }
      let denom = 0;
      for (let j = 0; j <= p; j++) {
        const e = Math.exp(logits[j] - max);
        logits[j] = e;
        denom += e;
      }
      const upto = Math.min(cols, p + 1);
      for (let j = 0; j < upto; j++) out[j] += logits[j] / denom;
    }
    return out;
  });
}

/**
 * Per cache head summed scores (pre-pool): 'repeat' returns the windowScores rows
 * unchanged (one per query head); 'mean' averages each group of query heads that
 * share a KV head (query head h -> KV head floor(h / group)).
 */
export function groupScores(perQueryHead: Float64Array[], kvHeads: number, gqa: SnapKvGqa): Float64Array[] {
  if (!isPositiveInt(kvHeads) || perQueryHead.length % kvHeads !== 0) {
    throw new Error(`SnapKV: query heads (${perQueryHead.length}) must be a multiple of KV heads (${kvHeads})`);
  }
  if (gqa === 'repeat') return perQueryHead.map((r) => Float64Array.from(r));
  if (gqa !== 'mean') throw new Error(`SnapKV params: gqa must be 'mean' or 'repeat', got ${String(gqa)}`);
  const group = perQueryHead.length / kvHeads;
  const out: Float64Array[] = [];
  for (let g = 0; g < kvHeads; g++) {
    const n = perQueryHead[g * group].length;
    const acc = new Float64Array(n);
    for (let i = 0; i < group; i++) {
      const row = perQueryHead[g * group + i];
      for (let j = 0; j < n; j++) acc[j] += row[j];
    }
    for (let j = 0; j < n; j++) acc[j] /= group;
    out.push(acc);
  }
  return out;
}

/** windowScores followed by groupScores: the summed score rows that get pooled, one per cache head. */
export function cacheHeadScores(input: SnapKvInput, params: SnapKvParams): Float64Array[] {
  validateSnapKvParams(params);
  return groupScores(windowScores(input, params.window), input.keys.length, params.gqa);
}

/**
 * 1-D pooling with window `kernel` (odd), stride 1, padding floor(kernel/2); output has
 * the input's length. 'max' pads with -Infinity. 'avg' counts the padding as zeros and
 * always divides by kernel (sum of in-range values, ascending index, then / kernel).
 */
export function poolScores(scores: Float64Array, kernel: number, pooling: SnapKvPooling): Float64Array {
  validateKernel(kernel);
  if (pooling !== 'max' && pooling !== 'avg') {
    throw new Error(`SnapKV params: pooling must be 'max' or 'avg', got ${String(pooling)}`);
  }
  const n = scores.length;
  const pad = (kernel - 1) / 2;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const lo = Math.max(0, j - pad);
    const hi = Math.min(n - 1, j + pad);
    if (pooling === 'max') {
      let m = -Infinity;
      for (let i = lo; i <= hi; i++) if (scores[i] > m) m = scores[i];
      out[j] = m;
    } else {
      let s = 0;
      for (let i = lo; i <= hi; i++) s += scores[i];
      out[j] = s / kernel;
    }
  }
  return out;
}

/**
 * Indices of the k largest scores (ties: the lower index wins), returned in ascending
 * index order. Throws on NaN scores or k outside 0..scores.length.
 */
export function topKAscending(scores: ArrayLike<number>, k: number): number[] {
  const n = scores.length;
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new Error(`topKAscending: k must be an integer in 0..${n}, got ${String(k)}`);
  }
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`topKAscending: score at index ${i} is NaN`);
    idx.push(i);
  }
  idx.sort((a, b) => (scores[b] - scores[a]) || (a - b));
  // Infinity - Infinity is NaN: the `||` then falls through to the index comparison, as wanted.
  return idx.slice(0, k).sort((a, b) => a - b);
}

/** The SnapKV selection: kept positions and scores per cache head. */
export function snapkvSelect(input: SnapKvInput, params: SnapKvParams): KeptHead[] {
  validateSnapKvParams(params);
  validateSnapKvInput(input, params.window);
  const L = input.promptLength;
  const { window: W, budget: C, kernel, pooling, gqa } = params;
  const cacheHeads = gqa === 'mean' ? input.keys.length : input.queries.length;

  if (L < C) {
    const positions = Array.from({ length: L }, (_, i) => i);
    return Array.from({ length: cacheHeads }, () => ({
      positions: positions.slice(),
      scores: positions.map(() => NaN),
      cutoffGap: Infinity,
    }));
  }

  // Here L >= C >= W, so the window W fits in the prompt and L - W >= C - W >= 0.
  const rows = cacheHeadScores(input, params);
  const select = C - W;
  return rows.map((row) => {
    const pooled = poolScores(row, kernel, pooling);
    const chosen = topKAscending(pooled, select);
    let cutoffGap = Infinity;
    if (select > 0 && select < pooled.length) {
      const kept = new Uint8Array(pooled.length);
      for (const j of chosen) kept[j] = 1;
      let minKept = Infinity;
      let maxDropped = -Infinity;
      for (let j = 0; j < pooled.length; j++) {
        if (kept[j]) minKept = Math.min(minKept, pooled[j]);
        else maxDropped = Math.max(maxDropped, pooled[j]);
      }
      cutoffGap = minKept - maxDropped;
    }
    const positions = chosen.slice();
    const scores = chosen.map((j) => pooled[j]);
    for (let p = L - W; p < L; p++) {
      positions.push(p);
      scores.push(Infinity);
    }
    return { positions, scores, cutoffGap };
  });
}
