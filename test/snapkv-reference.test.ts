import * as assert from 'assert';
import {
  KeptHead,
  SnapKvInput,
  SnapKvParams,
  cacheHeadScores,
  groupScores,
  poolScores,
  snapkvSelect,
  topKAscending,
  windowScores,
} from './reference/snapkv64';

const EPS = 1e-14;

function close(actual: ArrayLike<number>, expected: number[], eps = EPS, what = 'values'): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
    } else if (!Number.isFinite(e)) {
      assert.strictEqual(a, e, `${what}[${i}]`);
    } else {
      assert.ok(Math.abs(a - e) <= eps, `${what}[${i}]: expected ${e}, got ${a}`);
    }
  }
}

function params(p: Partial<SnapKvParams>): SnapKvParams {
  return { window: 2, budget: 4, kernel: 1, pooling: 'max', gqa: 'mean', ...p };
}

/** Repeats one query vector over `rows` window rows. */
function repeatRow(vec: number[], rows: number): Float64Array {
  const out = new Float64Array(rows * vec.length);
  for (let r = 0; r < rows; r++) out.set(vec, r * vec.length);
  return out;
}

/** L x D keys, zero except the given (position -> vector) entries. */
function sparseKeys(L: number, D: number, entries: Record<number, number[]>): Float64Array {
  const out = new Float64Array(L * D);
  for (const [pos, vec] of Object.entries(entries)) out.set(vec, Number(pos) * D);
  return out;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

function oneHot(D: number, i: number, scale = 1): number[] {
  const v = new Array<number>(D).fill(0);
  v[i] = scale;
  return v;
}

describe('SnapKV reference', () => {
  describe('poolScores', () => {
    const x = Float64Array.from([1, 5, 2, 0, 3]);

    it('max pooling, kernel 3 and 5, with edge padding', () => {
      close(poolScores(x, 3, 'max'), [5, 5, 5, 3, 3]);
      close(poolScores(x, 5, 'max'), [5, 5, 5, 5, 3]);
    });

    it('max pooling pads with -Infinity, not 0', () => {
      close(poolScores(Float64Array.from([-1, -2, -3]), 3, 'max'), [-1, -1, -2]);
    });

    it('avg pooling counts padding as zeros and always divides by k', () => {
      close(poolScores(x, 3, 'avg'), [2, 8 / 3, 7 / 3, 5 / 3, 1]);
      close(poolScores(x, 5, 'avg'), [8 / 5, 8 / 5, 11 / 5, 10 / 5, 5 / 5]);
      close(poolScores(Float64Array.from([-3, -3, -3]), 3, 'avg'), [-2, -3, -2]);
    });

    it('kernel longer than the row, kernel 1 is the identity, input untouched', () => {
      close(poolScores(Float64Array.from([1, 2]), 5, 'avg'), [0.6, 0.6]);
      close(poolScores(Float64Array.from([1, 2]), 5, 'max'), [2, 2]);
      close(poolScores(x, 1, 'avg'), [1, 5, 2, 0, 3]);
      close(poolScores(x, 1, 'max'), [1, 5, 2, 0, 3]);
      close(x, [1, 5, 2, 0, 3]);
      assert.strictEqual(poolScores(new Float64Array(0), 7, 'max').length, 0);
    });
  });

  describe('topKAscending', () => {
    it('breaks ties toward the lower index and returns ascending indices', () => {
      assert.deepStrictEqual(topKAscending([1, 3, 3, 2, 3], 2), [1, 2]);
      assert.deepStrictEqual(topKAscending([1, 3, 3, 2, 3], 3), [1, 2, 4]);
      assert.deepStrictEqual(topKAscending([1, 3, 3, 2, 3], 4), [1, 2, 3, 4]);
      assert.deepStrictEqual(topKAscending([0, 0, 0, 0], 2), [0, 1]);
      assert.deepStrictEqual(topKAscending([1, 0, 5], 2), [0, 2]);
      assert.deepStrictEqual(topKAscending([-Infinity, -Infinity, 1], 2), [0, 2]);
      assert.deepStrictEqual(topKAscending([4, 2], 0), []);
    });

    it('rejects bad k and NaN scores', () => {
      assert.throws(() => topKAscending([1, 2], 3), /k must be/);
      assert.throws(() => topKAscending([1, 2], -1), /k must be/);
      assert.throws(() => topKAscending([1, NaN], 1), /NaN/);
    });
  });

  describe('windowScores', () => {
    // L = 4, W = 2, headDim = 1 (scale 1), both window queries = 1.
    // keys: ln2, 0, 0, ln5. Query at position 2 sees keys 0..2 -> exp 2,1,1 -> 1/2, 1/4, 1/4.
    // Query at position 3 sees keys 0..3 -> exp 2,1,1,5 -> 2/9, 1/9, 1/9, 5/9.
    // Scored columns j < L - W = 2: [1/2 + 2/9, 1/4 + 1/9] = [13/18, 13/36].
    // Without the causal mask, position 2 would see key 3 and column 0 would be 4/9.
    const input: SnapKvInput = {
      queries: [Float64Array.from([1, 1])],
      keys: [Float64Array.from([Math.log(2), 0, 0, Math.log(5)])],
      promptLength: 4,
      headDim: 1,
    };

    it('sums causal softmax probabilities over the window (hand computed)', () => {
      const [row] = windowScores(input, 2);
      close(row, [13 / 18, 13 / 36]);
    });

    it('a future key inside the window never contributes to an earlier query', () => {
      // Make key 3 (seen only by the last query) enormous: the last query then puts
      // ~all its mass there, leaving only the position-2 query's 1/2, 1/4.
      const big: SnapKvInput = { ...input, keys: [Float64Array.from([Math.log(2), 0, 0, 200])] };
      const [row] = windowScores(big, 2);
      close(row, [0.5, 0.25], 1e-12);
      // And the last query alone (W = 1) sees every key.
      const one: SnapKvInput = { ...input, queries: [Float64Array.from([1])] };
      close(windowScores(one, 1)[0], [2 / 9, 1 / 9, 1 / 9]);
    });

    it('scales logits by 1/sqrt(headDim)', () => {
      // headDim 4, query (2,0,0,0), key0 (ln 3, 0,0,0): logit = 2 ln3 / 2 = ln3.
      // L = 2, W = 1: the query at position 1 sees keys 0, 1 -> 3/4 on key 0.
      const r = windowScores(
        {
          queries: [Float64Array.from([2, 0, 0, 0])],
          keys: [Float64Array.from([Math.log(3), 0, 0, 0, 0, 0, 0, 0])],
          promptLength: 2,
          headDim: 4,
        },
        1,
      );
      close(r[0], [0.75]);
    });

    it('returns no columns when the window covers the prompt', () => {
      const r = windowScores({ ...input, queries: [Float64Array.from([1, 1, 1, 1])] }, 4);
      assert.strictEqual(r[0].length, 0);
      const r2 = windowScores({ ...input, queries: [Float64Array.from([1, 1, 1, 1])] }, 9);
      assert.strictEqual(r2[0].length, 0);
    });
  });

  describe('snapkvSelect', () => {
    it('hand-computed case: kept positions, pooled scores, Infinity for the window', () => {
      const input: SnapKvInput = {
        queries: [Float64Array.from([1, 1])],
        keys: [Float64Array.from([Math.log(2), 0, 0, Math.log(5)])],
        promptLength: 4,
        headDim: 1,
      };
      const [h] = snapkvSelect(input, params({ window: 2, budget: 3, kernel: 1 }));
      assert.deepStrictEqual(h.positions, [0, 2, 3]);
      close(h.scores, [13 / 18, Infinity, Infinity]);
      close([h.cutoffGap], [13 / 36]);
      // max pooling with k = 3 makes both columns 13/18: tie -> index 0, gap 0.
      const [m] = snapkvSelect(input, params({ window: 2, budget: 3, kernel: 3 }));
      assert.deepStrictEqual(m.positions, [0, 2, 3]);
      close(m.scores, [13 / 18, Infinity, Infinity]);
      assert.strictEqual(m.cutoffGap, 0);
      // budget = window: only the window survives.
      const [w] = snapkvSelect(input, params({ window: 2, budget: 2 }));
      assert.deepStrictEqual(w.positions, [2, 3]);
      close(w.scores, [Infinity, Infinity]);
    });

    describe('orthogonal keys, one key aligned with every window query', () => {
      // D = 8, L = 16, W = 4, C = 6 -> 2 selected among columns 0..11.
      // Key 5 = 10 e0, every other key 0; every window query = e0.
      // Column 5 dominates; all other columns tie exactly.
      const D = 8;
      const L = 16;
      const input: SnapKvInput = {
        queries: [repeatRow(oneHot(D, 0), 4)],
        keys: [sparseKeys(L, D, { 5: oneHot(D, 0, 10) })],
        promptLength: L,
        headDim: D,
      };

      it('kernel 1: the aligned key is kept, the tie goes to index 0', () => {
        const [h] = snapkvSelect(input, params({ window: 4, budget: 6, kernel: 1 }));
        assert.deepStrictEqual(h.positions, [0, 5, 12, 13, 14, 15]);
        const raw = windowScores(input, 4)[0];
        close(h.scores, [raw[0], raw[5], Infinity, Infinity, Infinity, Infinity]);
        assert.ok(raw[5] > 1.5 && raw[5] < 4, `column 5 should dominate, got ${raw[5]}`);
        assert.strictEqual(h.cutoffGap, 0);
      });

      it('max pooling k = 3 spreads the peak: ties at 4, 5, 6 -> keep 4, 5', () => {
        const [h] = snapkvSelect(input, params({ window: 4, budget: 6, kernel: 3 }));
        assert.deepStrictEqual(h.positions, [4, 5, 12, 13, 14, 15]);
        const raw = windowScores(input, 4)[0];
        close(h.scores.slice(0, 2), [raw[5], raw[5]]);
      });

      it('the aligned key survives among pseudo-random keys', () => {
        let seed = 12345;
        const rnd = (): number => {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          return seed / 2147483648 - 0.5;
        };
        const keys = new Float64Array(L * D).map(() => 0.2 * rnd());
        keys.set(oneHot(D, 0, 12), 9 * D);
        const q = new Float64Array(4 * D).map(() => 0.1 * rnd());
        for (let t = 0; t < 4; t++) q[t * D] = 1;
        const [h] = snapkvSelect(
          { queries: [q], keys: [keys], promptLength: L, headDim: D },
          params({ window: 4, budget: 5, kernel: 1 }),
        );
        assert.deepStrictEqual(h.positions, [9, 12, 13, 14, 15]);
        assert.ok(h.cutoffGap > 0.5, `gap ${h.cutoffGap}`);
      });
    });

    it('max vs avg pooling choose differently at the left edge', () => {
      // D = 1, L = 8, W = 2, C = 3, k = 3; key 0 = 3 (strong), others 0, queries 1.
      // Columns x0 >> x1 = ... = x5 = e.  max: col0 = col1 = x0 -> tie -> keep 0.
      // avg: col0 = (0 + x0 + e)/3 < col1 = (x0 + e + e)/3 -> keep 1.
      const input: SnapKvInput = {
        queries: [Float64Array.from([1, 1])],
        keys: [Float64Array.from([3, 0, 0, 0, 0, 0, 0, 0])],
        promptLength: 8,
        headDim: 1,
      };
      const raw = windowScores(input, 2)[0];
      const [mx] = snapkvSelect(input, params({ window: 2, budget: 3, kernel: 3, pooling: 'max' }));
      const [av] = snapkvSelect(input, params({ window: 2, budget: 3, kernel: 3, pooling: 'avg' }));
      assert.deepStrictEqual(mx.positions, [0, 6, 7]);
      assert.deepStrictEqual(av.positions, [1, 6, 7]);
      close(mx.scores, [raw[0], Infinity, Infinity]);
      close(av.scores, [(raw[0] + raw[1] + raw[2]) / 3, Infinity, Infinity]);
      close([av.cutoffGap], [(raw[2] - 0) / 3]);
    });

    describe('GQA', () => {
      // 4 query heads, 2 KV heads, D = 4, L = 12, W = 2, C = 4, k = 1.
      // kv0: key 3 = 6 e0, key 7 = 6 e1.  kv1: key 2 = 6 e2, key 9 = 6 e3.
      // Query head h = e_h on every window row. Heads 0, 1 -> kv0; 2, 3 -> kv1.
      const D = 4;
      const L = 12;
      const input: SnapKvInput = {
        queries: [0, 1, 2, 3].map((h) => repeatRow(oneHot(D, h), 2)),
        keys: [
          sparseKeys(L, D, { 3: oneHot(D, 0, 6), 7: oneHot(D, 1, 6) }),
          sparseKeys(L, D, { 2: oneHot(D, 2, 6), 9: oneHot(D, 3, 6) }),
        ],
        promptLength: L,
        headDim: D,
      };

      it("'repeat' returns one head per query head", () => {
        const kept = snapkvSelect(input, params({ window: 2, budget: 4, gqa: 'repeat' }));
        assert.strictEqual(kept.length, 4);
        assert.deepStrictEqual(
          kept.map((k: KeptHead) => k.positions),
          [
            [0, 3, 10, 11],
            [0, 7, 10, 11],
            [0, 2, 10, 11],
            [0, 9, 10, 11],
          ],
        );
      });

      it("'mean' averages contiguous groups and returns one head per KV head", () => {
        const kept = snapkvSelect(input, params({ window: 2, budget: 4, gqa: 'mean' }));
        assert.strictEqual(kept.length, 2);
        assert.deepStrictEqual(kept[0].positions, [3, 7, 10, 11]);
        assert.deepStrictEqual(kept[1].positions, [2, 9, 10, 11]);
        const raw = windowScores(input, 2);
        close(kept[0].scores, [(raw[0][3] + raw[1][3]) / 2, (raw[0][7] + raw[1][7]) / 2, Infinity, Infinity]);
        close(kept[1].scores, [(raw[2][2] + raw[3][2]) / 2, (raw[2][9] + raw[3][9]) / 2, Infinity, Infinity]);
        assert.strictEqual(kept[0].cutoffGap > 0.5, true);
      });

      it('cacheHeadScores and groupScores expose the pre-pool rows', () => {
        const raw = windowScores(input, 2);
        assert.strictEqual(raw.length, 4);
        assert.strictEqual(raw[0].length, L - 2);
        const mean = cacheHeadScores(input, params({ window: 2, budget: 4, gqa: 'mean' }));
        assert.strictEqual(mean.length, 2);
        close(mean[1], Array.from(raw[2], (v, j) => (v + raw[3][j]) / 2));
        const rep = cacheHeadScores(input, params({ window: 2, budget: 4, gqa: 'repeat' }));
        assert.strictEqual(rep.length, 4);
        close(rep[3], Array.from(raw[3]));
        close(groupScores([Float64Array.from([1, 2]), Float64Array.from([3, 6])], 1, 'mean')[0], [2, 4]);
        assert.throws(() => groupScores([new Float64Array(1)], 2, 'mean'), /multiple/);
      });
    });

    describe('keep everything and window edge cases', () => {
      const D = 1;
      const mk = (L: number, rows: number, qHeads = 1, kvHeads = 1): SnapKvInput => ({
        queries: Array.from({ length: qHeads }, () => new Float64Array(rows * D).fill(1)),
        keys: Array.from({ length: kvHeads }, () => Float64Array.from(range(0, L * D))),
        promptLength: L,
        headDim: D,
      });

      it('L < C keeps positions 0..L-1 with NaN scores, per cache head', () => {
        const kept = snapkvSelect(mk(5, 2, 4, 2), params({ window: 2, budget: 8, gqa: 'mean' }));
        assert.strictEqual(kept.length, 2);
        for (const k of kept) {
          assert.deepStrictEqual(k.positions, [0, 1, 2, 3, 4]);
          close(k.scores, [NaN, NaN, NaN, NaN, NaN]);
          assert.strictEqual(k.cutoffGap, Infinity);
        }
        assert.strictEqual(snapkvSelect(mk(5, 2, 4, 2), params({ window: 2, budget: 8, gqa: 'repeat' })).length, 4);
      });

      it('L = C keeps everything through the selection path (pooled scores, not NaN)', () => {
        const input = mk(5, 2);
        const [h] = snapkvSelect(input, params({ window: 2, budget: 5, kernel: 1 }));
        const raw = windowScores(input, 2)[0];
        assert.deepStrictEqual(h.positions, [0, 1, 2, 3, 4]);
        close(h.scores, [raw[0], raw[1], raw[2], Infinity, Infinity]);
        assert.strictEqual(h.cutoffGap, Infinity);
      });

      it('window longer than the prompt (W > L, so L < C) keeps everything', () => {
        const [h] = snapkvSelect(mk(5, 5), params({ window: 6, budget: 8 }));
        assert.deepStrictEqual(h.positions, [0, 1, 2, 3, 4]);
        close(h.scores, [NaN, NaN, NaN, NaN, NaN]);
      });

      it('window covering the whole prompt (W = L = C): all window positions', () => {
        const [h] = snapkvSelect(mk(4, 4), params({ window: 4, budget: 4, kernel: 7 }));
        assert.deepStrictEqual(h.positions, [0, 1, 2, 3]);
        close(h.scores, [Infinity, Infinity, Infinity, Infinity]);
      });

      it('window almost the whole prompt: W = L - 1, C = W drops position 0 only', () => {
        const [h] = snapkvSelect(mk(5, 4), params({ window: 4, budget: 4 }));
        assert.deepStrictEqual(h.positions, [1, 2, 3, 4]);
        const [g] = snapkvSelect(mk(5, 4), params({ window: 4, budget: 5 }));
        assert.deepStrictEqual(g.positions, [0, 1, 2, 3, 4]);
        assert.strictEqual(Number.isFinite(g.scores[0]), true);
      });
    });

    describe('validation', () => {
      const input: SnapKvInput = {
        queries: [new Float64Array(2)],
        keys: [new Float64Array(4)],
        promptLength: 4,
        headDim: 1,
      };

      it('rejects bad params with clear messages', () => {
        assert.throws(() => snapkvSelect(input, params({ window: 0 })), /window must be an integer >= 1/);
        assert.throws(() => snapkvSelect(input, params({ window: 1.5 })), /window must be an integer >= 1/);
        assert.throws(() => snapkvSelect(input, params({ window: 3, budget: 2 })), /budget \(2\) must be >= window \(3\)/);
        assert.throws(() => snapkvSelect(input, params({ kernel: 4 })), /kernel must be an odd integer/);
        assert.throws(() => snapkvSelect(input, params({ kernel: 0 })), /kernel must be an odd integer/);
        assert.throws(() => snapkvSelect(input, params({ kernel: -3 })), /kernel must be an odd integer/);
        assert.throws(
          () => snapkvSelect(input, params({ pooling: 'min' as unknown as 'max' })),
          /pooling must be 'max' or 'avg'/,
        );
        assert.throws(() => snapkvSelect(input, params({ gqa: 'x' as unknown as 'mean' })), /gqa must be/);
        assert.throws(() => poolScores(new Float64Array(3), 2, 'max'), /kernel must be an odd integer/);
      });

      it('rejects inconsistent shapes', () => {
        assert.throws(
          () => snapkvSelect({ ...input, queries: [new Float64Array(3)] }, params({})),
          /queries\[0\] has 3 values, expected min\(W, L\)\*headDim/,
        );
        assert.throws(
          () => snapkvSelect({ ...input, keys: [new Float64Array(5)] }, params({})),
          /keys\[0\] has 5 values/,
        );
        assert.throws(
          () =>
            snapkvSelect(
              { ...input, queries: [0, 1, 2].map(() => new Float64Array(2)), keys: [0, 1].map(() => new Float64Array(4)) },
              params({}),
            ),
          /query heads \(3\) must be a multiple of KV heads \(2\)/,
        );
        assert.throws(() => snapkvSelect({ ...input, promptLength: 0 }, params({})), /promptLength/);
        assert.throws(() => snapkvSelect({ ...input, keys: [] }, params({})), /at least one KV head/);
      });
    });
  });
});
