// qwen3, llama with biases and rope_freqs, and RoPE scaling (linear, YaRN from
// the file, YaRN asked for by the caller) in the engine, against the float64
// reference (test/reference/forward64.ts, rope.ts), which implements each of
// them on its own. Bound: as in engine-logits.test.ts, only f32 arithmetic
// separates the two, so today's F32 bound holds.
import * as assert from 'assert';
import { Engine, RopeScalingRequest } from '../server/src/engine';
import { ARCH_FIXTURES } from './fixtures/arch-fixtures';
import { TinyModelSpec, promptTokens, tinyModelName, writeTinyModel } from './fixtures/tiny-models';
import { argmax, relativeError, rowOf, worstGreedyDecodeError } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';
import { ForwardConfig, ReferenceForward } from './reference/forward64';

const PROMPT_LENGTH = 120;
const DECODE_STEPS = 8;
const TOLERANCE = 1e-4;
/** A change of the math (a bias, a norm, a frequency) moves logits far more than this. */
const DIFFERENT = 1e-2;

interface Case {
  readonly what: string;
  readonly spec: TinyModelSpec;
  /** Asked for at load, in place of the file's scaling. */
  readonly rope?: RopeScalingRequest;
  /** The reference's config when it differs from the file's (the override). */
  readonly reference?: (config: ForwardConfig) => ForwardConfig;
  /** The same model without the feature: the engine must differ from it by more than DIFFERENT. */
  readonly without: (config: ForwardConfig) => [ForwardConfig, (name: string) => boolean];
  readonly contextLength?: number;
}

const keepAll = (): boolean => true;

const CASES: readonly Case[] = [
  {
    what: 'qwen3 (q/k norms per head, head size 32 != hidden / heads)',
    spec: ARCH_FIXTURES.qwen3HeadDim32,
    without: (c) => [{ ...c, arch: 'llama' }, (n) => !n.includes('attn_q_norm') && !n.includes('attn_k_norm')],
  },
  {
    what: 'qwen3 with the default head size, F16',
    spec: ARCH_FIXTURES.qwen3,
    without: (c) => [{ ...c, arch: 'llama' }, (n) => !n.includes('attn_q_norm') && !n.includes('attn_k_norm')],
  },
  {
    what: 'llama with q/k/v/o biases',
    spec: ARCH_FIXTURES.llamaBiasesQkvo,
    without: (c) => [c, (n) => !n.endsWith('.bias')],
  },
  {
    what: 'llama with only an output bias, Q8_0',
    spec: ARCH_FIXTURES.llamaOutputBias,
    without: (c) => [c, (n) => !n.endsWith('.bias')],
  },
  {
    what: 'llama with rope_freqs.weight (Llama 3.1 factors)',
    spec: ARCH_FIXTURES.llamaRopeFreqs,
    without: (c) => [c, (n) => n !== 'rope_freqs.weight'],
  },
  {
    what: 'llama with linear RoPE scaling x2 from the file',
    spec: ARCH_FIXTURES.llamaLinear2,
    without: (c) => [{ ...c, ropeScaling: undefined }, keepAll],
    contextLength: 2048,
  },
  {
    what: 'qwen2 with YaRN x4 from the file (original context 64, attn_factor 1.25)',
    spec: ARCH_FIXTURES.qwen2Yarn4,
    without: (c) => [{ ...c, ropeScaling: undefined }, keepAll],
    contextLength: 256,
  },
  {
    what: 'qwen2 with YaRN x8, beta_fast 16, beta_slow 2 from the file, head size 32',
    spec: ARCH_FIXTURES.qwen2Yarn8Betas,
    without: (c) => [{ ...c, ropeScaling: undefined }, keepAll],
    contextLength: 4096,
  },
  {
    what: 'qwen2 with no scaling in the file and YaRN x4 asked for at load',
    spec: ARCH_FIXTURES.qwen2Plain96,
    rope: { ropeScaling: 'yarn', ropeScale: 4 },
    reference: (c) => ({ ...c, ropeScaling: { type: 'yarn', factor: 4, originalContext: 96 } }),
    without: (c) => [c, keepAll],
    contextLength: 384,
  },
  {
    what: 'llama with rope_freqs and YaRN x4 from the file together',
    spec: ARCH_FIXTURES.llamaRopeFreqsYarn4,
    without: (c) => [{ ...c, ropeScaling: undefined }, keepAll],
    contextLength: 192,
  },
];

describe('architectures and RoPE scaling against the float64 reference', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('archs');

  for (const c of CASES) {
    it(`${c.what}: prefill of ${PROMPT_LENGTH} tokens and ${DECODE_STEPS} decode steps`, async () => {
      const fixture = writeTinyModel(c.spec, tempDir());
      const referenceConfig = c.reference ? c.reference(fixture.config) : fixture.config;
      const reference = new ReferenceForward(referenceConfig, fixture.weights);
      const model = await Engine.load(fixture.path, { backend: 'cpu', rope: c.rope, kvType: 'f32', exact: true });
      try {
        assert.strictEqual(model.info.architecture, c.spec.arch);
        assert.strictEqual(model.info.headDim, fixture.config.headDim);
        assert.strictEqual(model.info.qkNorm, c.spec.arch === 'qwen3');
        assert.strictEqual(model.info.ropeFreqFactors, c.spec.variant?.ropeFreqs === true);
        assert.strictEqual(model.info.ropeLayout, c.spec.arch === 'llama' ? 'adjacent' : 'halves');
        assert.strictEqual(model.info.fileContextLength, c.spec.contextLength);
        assert.strictEqual(model.info.contextLength, c.contextLength ?? c.spec.contextLength, 'usable context');
        const prompt = promptTokens(PROMPT_LENGTH, 3);
        const prefix = await model.prefill(prompt, { logits: 'all', chunkTokens: 64 });
        const all = prefix.logits;
        assert.ok(all);
        const vocab = fixture.config.vocab;
        // The reference's logits at the end of each quarter of the prompt (a vocab projection per
        // position would cost more than everything else here).
        let worst = 0;
        for (let q = 1; q <= 4; q++) {
          const from = Math.floor(((q - 1) * PROMPT_LENGTH) / 4);
          const to = Math.floor((q * PROMPT_LENGTH) / 4);
          const expected = reference.forward(prompt.slice(from, to));
          worst = Math.max(worst, relativeError(rowOf(all, to - 1, vocab), expected));
        }
        assert.ok(worst < TOLERANCE, `prefill relative error ${worst.toExponential(2)} >= ${TOLERANCE}`);

        const first = argmax(rowOf(all, PROMPT_LENGTH - 1, vocab));
        const worstDecode = await worstGreedyDecodeError(first, DECODE_STEPS, reference, (token) => prefix.extend([token]));
        assert.ok(worstDecode < TOLERANCE, `decode relative error ${worstDecode.toExponential(2)} >= ${TOLERANCE}`);

        // The feature matters: the model computed without it is far from the engine.
        const [plainConfig, keep] = c.without(fixture.config);
        const plainWeights = new Map([...fixture.weights].filter(([name]) => keep(name)));
        const plain = new ReferenceForward(plainConfig, plainWeights, { ropeLayout: reference.ropeLayout });
        const plainLast = plain.forward(prompt);
        const distance = relativeError(rowOf(all, PROMPT_LENGTH - 1, vocab), plainLast);
        console.log(`      relative error ${worst.toExponential(2)} / ${worstDecode.toExponential(2)}; without the feature ${distance.toExponential(2)}`);
        assert.ok(distance > DIFFERENT, `without the feature the logits move only ${distance.toExponential(2)}: the test shows nothing`);
        prefix.dispose();
      } finally {
        model.dispose();
      }
    });
  }

  it('names each variant file distinctly', () => {
    const names = new Set(CASES.map((c) => tinyModelName(c.spec)));
    assert.strictEqual(names.size, new Set(CASES.map((c) => JSON.stringify(c.spec))).size);
  });
});
