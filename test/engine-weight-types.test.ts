// The engine's logits against the float64 reference for every weight type and
// for llama.cpp's Q4_K_M per-tensor mix, on each architecture of
// WEIGHT_TYPE_ARCHS.
//
// Bound: as in engine-logits.test.ts, the reference computes with the values the
// engine reads (ggml-blocks64.ts decodes each block to the same float32 bits as
// the engine, which test/weight-decoders.test.ts proves), so only f32
// arithmetic separates the two and the F32 bound holds for every type.
//
// Shapes: K-quant rows hold 256 values, so those fixtures are 256 wide; the
// 32-value formats run at 96 wide; F32/F16/BF16 also run at widths that are
// not a multiple of the vector width (72, ffn 100). A 1,024-token vocabulary
// (the first Qwen ids) keeps the reference fast.
import * as assert from 'assert';
import { Engine } from '../server/src/engine';
import { WeightType } from './fixtures/quantize';
import { TinyArch, TinyModelSpec, promptTokens, tinyModelName, tinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { Q4_K_M } from './fixtures/weight-recipes';
import { argmax, relativeError, rowOf, worstGreedyDecodeError } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';
import { ReferenceForward } from './reference/forward64';

/** Architectures every weight type runs on; extend it as architectures are added. */
export const WEIGHT_TYPE_ARCHS: readonly TinyArch[] = ['llama', 'qwen2', 'qwen3'];

const VOCAB = 1024;
const PROMPT_LENGTH = 37; // not a multiple of the chunk or the 4x4 tiles
const CHUNK_TOKENS = 16;
const DECODE_STEPS = 4;
const TOLERANCE = 1e-4;

interface Shape {
  readonly hidden: number;
  readonly ffn: number;
  readonly heads: number;
  readonly kvHeads: number;
}

const K_QUANT: Shape = { hidden: 256, ffn: 512, heads: 4, kvHeads: 2 };
const LEGACY: Shape = { hidden: 96, ffn: 160, heads: 4, kvHeads: 2 };
const ODD_WIDTH: Shape = { hidden: 72, ffn: 100, heads: 4, kvHeads: 2 };

const CASES: ReadonlyArray<{ readonly type: WeightType; readonly shape: Shape }> = [
  ...(['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const).map((type) => ({ type, shape: K_QUANT })),
  ...(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'] as const).map((type) => ({ type, shape: LEGACY })),
  ...(['F32', 'F16', 'BF16'] as const).map((type) => ({ type, shape: ODD_WIDTH })),
];

export function weightTypeSpecs(arch: TinyArch): TinyModelSpec[] {
  const specs = CASES.map(({ type, shape }) => tinyModelSpec({ arch, weightType: type, vocab: VOCAB, ...shape }));
  // The mix: Q4_K with Q6_K output and attn_v / ffn_down of the "more bits" layers; tied, so
  // token_embd takes the output's Q6_K. Four layers: 2 and 3 "use more bits", 0 and 1 do not.
  specs.push(tinyModelSpec({ arch, weightType: 'Q4_K', recipe: Q4_K_M, vocab: VOCAB, layers: 4, tied: true, ...K_QUANT }));
  return specs;
}

describe('engine logits against the float64 reference, per weight type', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('weight-types');

  for (const arch of WEIGHT_TYPE_ARCHS) {
    for (const spec of weightTypeSpecs(arch)) {
      it(`${tinyModelName(spec)}: prefill of ${PROMPT_LENGTH} tokens and ${DECODE_STEPS} decode steps`, async () => {
        const fixture = writeTinyModel(spec, tempDir());
        const reference = new ReferenceForward(fixture.config, fixture.weights);
        const model = await Engine.load(fixture.path, { backend: 'cpu', kvType: 'f32', exact: true });
        try {
          assert.strictEqual(model.info.vocab, VOCAB);
          const prompt = promptTokens(PROMPT_LENGTH, spec.seed).map((t) => t % VOCAB);
          const prefix = await model.prefill(prompt, { logits: 'all', chunkTokens: CHUNK_TOKENS });
          const all = prefix.logits;
          assert.ok(all);
          let worst = 0;
          reference.forward(prompt, (position, expected) => {
            worst = Math.max(worst, relativeError(rowOf(all, position, VOCAB), expected));
          });
          assert.ok(worst < TOLERANCE, `prefill relative error ${worst.toExponential(2)} >= ${TOLERANCE}`);
          const first = argmax(rowOf(all, PROMPT_LENGTH - 1, VOCAB));
          const worstDecode = await worstGreedyDecodeError(first, DECODE_STEPS, reference, (token) => prefix.extend([token]));
          assert.ok(worstDecode < TOLERANCE, `decode relative error ${worstDecode.toExponential(2)} >= ${TOLERANCE}`);
          prefix.dispose();
        } finally {
          model.dispose();
        }
      });
    }
  }
});
