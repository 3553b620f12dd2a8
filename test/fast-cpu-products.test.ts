// The default (fast) CPU products against the float64 reference: activations
// quantized per block of 32 to int8, int8 dot products (native/src/cpu/
// matmul_quantized.h). The exact path is what the other logits tests check.
//
// Bound: each matrix product rounds every activation by at most half its
// block's step (max |x| / 254; snapkv-unit-test checks every kernel against
// the exact path within exactly that), independent from value to value. On
// these fixtures (random weights, 2 to 4 layers, near-flat logits) the logits
// measured 3e-2 to 6e-2 of the reference's scale (max |diff| / max |ref|, the
// exact tests' measure) and 3e-2 to 5.5e-2 root-mean-square; the bounds below
// leave room for other seeds, not for a broken kernel (an unscaled group or a
// wrong offset gives errors of order 1). llama.cpp's Q8_0 logits sit near 2e-2
// on real models, whose logits are far from flat.
// Top-1: the engine's best token is the reference's at TOP1_AGREEMENT of the
// positions, and at every position where the reference's best logit leads the
// second by more than twice FAST_TOLERANCE of the scale.
//
// A decoded token (one-token products) has the bits of the same position prefilled.
//
// The runtime choice of kernels: each kernel set this CPU runs is forced with
// SNAPKV_CPU_KERNELS in a child process (the choice is made once per process).
import * as assert from 'assert';
import { execFile } from 'child_process';
import { Engine } from '../server/src/engine';
import { TinyModelSpec, promptTokens, tinyModelName, tinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { Q4_K_M } from './fixtures/weight-recipes';
import { assertBitwiseEqual } from './helpers/bitwise';
import { argmax, relativeError, rowOf } from './helpers/logits-compare';
import { nativeBuildFile } from './helpers/run-program';
import { useTempDir } from './helpers/temp-dir';
import { ReferenceForward } from './reference/forward64';

/** Max |diff| / max |ref| over a row: the exact tests' measure. */
export const FAST_TOLERANCE = 1e-1;
/** ||diff|| / ||ref|| over a row (root mean square): the usual measure of quantized inference. */
export const FAST_RMS_TOLERANCE = 8e-2;
/** The share of prompt positions where the fast path's greedy token is the reference's. */
export const TOP1_AGREEMENT = 0.85;
const PROMPT_LENGTH = 37;
const CHUNK_TOKENS = 16;
const VOCAB = 1024;

/**
 * Every block type: K-quants at 256 wide (their block), the 32-value types at 96 (three blocks);
 * F16 and BF16 (bf16 products where the CPU has them, else the exact path) at 72 and ffn 100.
 */
function specs(): TinyModelSpec[] {
  const kQuant = { hidden: 256, ffn: 512, heads: 4, kvHeads: 2 };
  const legacy = { hidden: 96, ffn: 160, heads: 4, kvHeads: 2 };
  return [
    ...(['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const).map((weightType) => tinyModelSpec({ arch: 'qwen2', weightType, vocab: VOCAB, ...kQuant })),
    ...(['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'] as const).map((weightType) => tinyModelSpec({ arch: 'qwen2', weightType, vocab: VOCAB, ...legacy })),
    ...(['F16', 'BF16'] as const).map((weightType) => tinyModelSpec({ arch: 'qwen2', weightType, vocab: VOCAB, hidden: 72, ffn: 100, heads: 4, kvHeads: 2 })),
    tinyModelSpec({ arch: 'llama', weightType: 'Q4_K', recipe: Q4_K_M, vocab: VOCAB, layers: 4, tied: true, ...kQuant }),
  ];
}

/** The reference's margin between its best and second-best logit. */
function topMargin(row: ArrayLike<number>): number {
  let first = -Infinity;
  let second = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (row[i] > first) {
      second = first;
      first = row[i];
    } else if (row[i] > second) {
      second = row[i];
    }
  }
  return first - second;
}

function rmsRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    ref += expected[i] ** 2;
  }
  return Math.sqrt(diff / ref);
}

function maxAbs(row: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < row.length; i++) m = Math.max(m, Math.abs(row[i]));
  return m;
}

describe('fast CPU products against the float64 reference', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('fast-products');

  for (const spec of specs()) {
    it(`${tinyModelName(spec)}: within ${FAST_TOLERANCE} of the reference, same top-1`, async () => {
      const fixture = writeTinyModel(spec, tempDir());
      const reference = new ReferenceForward(fixture.config, fixture.weights);
      const fast = await Engine.load(fixture.path, { backend: 'cpu' });
      const exact = await Engine.load(fixture.path, { backend: 'cpu', exact: true });
      try {
        const prompt = promptTokens(PROMPT_LENGTH, spec.seed).map((t) => t % VOCAB);
        const prefix = await fast.prefill(prompt, { logits: 'all', chunkTokens: CHUNK_TOKENS });
        const exactPrefix = await exact.prefill(prompt, { logits: 'all', chunkTokens: CHUNK_TOKENS });
        const all = prefix.logits;
        const allExact = exactPrefix.logits;
        assert.ok(all && allExact);
        let worst = 0;
        let worstRms = 0;
        let clear = 0;
        let agree = 0;
        const disagreements: number[] = [];
        reference.forward(prompt, (position, expected) => {
          const row = rowOf(all, position, VOCAB);
          worst = Math.max(worst, relativeError(row, expected));
          worstRms = Math.max(worstRms, rmsRelativeError(row, expected));
          if (argmax(row) === argmax(expected)) agree++;
          if (topMargin(expected) > 2 * FAST_TOLERANCE * maxAbs(expected)) {
            clear++;
            if (argmax(row) !== argmax(expected)) disagreements.push(position);
          }
        });
        const fromExact = relativeError(all, allExact);
        console.log(`      relative error ${worst.toExponential(2)} (rms ${worstRms.toExponential(2)}); ${clear} of ${PROMPT_LENGTH} positions clear; top-1 agrees at ${agree}; fast vs exact ${fromExact.toExponential(2)}`);
        assert.ok(worst < FAST_TOLERANCE, `relative error ${worst.toExponential(2)} >= ${FAST_TOLERANCE}`);
        assert.ok(worstRms < FAST_RMS_TOLERANCE, `rms relative error ${worstRms.toExponential(2)} >= ${FAST_RMS_TOLERANCE}`);
        assert.deepStrictEqual(disagreements, [], 'top-1 differs from the reference at clear positions');
        assert.ok(agree >= TOP1_AGREEMENT * PROMPT_LENGTH, `top-1 agrees at only ${agree} of ${PROMPT_LENGTH} positions`);
        // The fast path ran: its rounding shows against the exact path (F16 and BF16 take
        // it only where the CPU has bf16 products).
        if (!['F16', 'BF16'].includes(spec.weightType)) assert.ok(fromExact > 0, 'the fast logits equal the exact ones');
        // The last token decoded (one-token products, read from the stored blocks where
        // the kernel set has them) has the bits of the same position prefilled.
        const shorter = await fast.prefill(prompt.slice(0, -1), { chunkTokens: CHUNK_TOKENS });
        const decoded = await shorter.extend(prompt.slice(-1));
        assertBitwiseEqual(decoded, rowOf(all, PROMPT_LENGTH - 1, VOCAB), 'the decoded last token against its prefilled row');
        shorter.dispose();
        prefix.dispose();
        exactPrefix.dispose();
      } finally {
        fast.dispose();
        exact.dispose();
      }
    });
  }
});

interface KernelsReport {
  active?: string;
  runs?: string[];
  matmulRunsActive?: boolean;
  error?: string;
}

function kernelsReport(forced: string | undefined): Promise<KernelsReport> {
  const env = { ...process.env };
  if (forced === undefined) delete env.SNAPKV_CPU_KERNELS;
  else env.SNAPKV_CPU_KERNELS = forced;
  return new Promise((resolve, reject) => {
    execFile(nativeBuildFile('snapkv-unit-test'), ['kernels'], { env, timeout: 60_000 }, (error, stdout) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve(JSON.parse(stdout.trim()) as KernelsReport);
    });
  });
}

describe('the CPU kernel set is chosen at run time', function () {
  this.timeout(120_000);

  it('takes the best set this CPU runs, and each one when forced with SNAPKV_CPU_KERNELS', async () => {
    const chosen = await kernelsReport(undefined);
    assert.ok(chosen.runs && chosen.runs.includes('portable'), JSON.stringify(chosen));
    assert.strictEqual(chosen.active, chosen.runs[0]);
    for (const name of chosen.runs) {
      const forced = await kernelsReport(name);
      assert.strictEqual(forced.active, name);
      assert.strictEqual(forced.matmulRunsActive, true);
    }
    const unknown = await kernelsReport('sse9');
    assert.match(unknown.error ?? '', /SNAPKV_CPU_KERNELS='sse9'.*avx512vnni, avxvnni, avx2, portable/);
  });
});
