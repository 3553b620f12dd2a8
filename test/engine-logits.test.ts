// The engine's logits against the independent float64 reference, on every
// fixture: both architectures, every weight type, tied and untied, for a
// chunked prefill and for decode steps through the KV cache.
//
// Bound: the reference runs on the very values the engine reads (F16 and BF16
// widen to f32 exactly; a Q8_0 value is an f16 scale times an int8, an 11-bit
// by 8-bit product, also exact in f32), so the weight type changes no input
// and only f32 arithmetic separates the two. Its error grows with the length
// of the sums (hidden 64, ffn 128, a few hundred keys): far below 1e-4 of the
// logits' scale. The same bound therefore holds for every weight type.
import * as assert from 'assert';
import { Engine } from '../server/src/engine';
import { fixtureMatrix, promptTokens, tinyModelName, writeTinyModel } from './fixtures/tiny-models';
import { argmax, relativeError, rowOf, worstGreedyDecodeError } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';
import { ReferenceForward } from './reference/forward64';

const PROMPT_LENGTH = 203; // not a multiple of the chunk or the 4x4 tiles
const CHUNK_TOKENS = 64;
const DECODE_STEPS = 32;
const TOLERANCE = 1e-4;

describe('engine logits against the float64 reference', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('logits');

  for (const spec of fixtureMatrix()) {
    it(`${tinyModelName(spec)}: prefill of ${PROMPT_LENGTH} tokens and ${DECODE_STEPS} decode steps`, async () => {
      const fixture = writeTinyModel(spec, tempDir());
      const reference = new ReferenceForward(fixture.config, fixture.weights);
      const model = await Engine.load(fixture.path, { backend: 'cpu', kvType: 'f32', exact: true });
      try {
        assert.strictEqual(model.info.architecture, spec.arch);
        assert.strictEqual(model.info.vocab, fixture.config.vocab);
        assert.strictEqual(model.info.tiedEmbeddings, spec.tied);
        assert.strictEqual(model.info.ropeLayout, spec.arch === 'llama' ? 'adjacent' : 'halves');

        const prompt = promptTokens(PROMPT_LENGTH, spec.seed);
        const prefix = await model.prefill(prompt, { logits: 'all', chunkTokens: CHUNK_TOKENS });
        const all = prefix.logits;
        assert.ok(all);
        const vocab = fixture.config.vocab;
        assert.strictEqual(all.length, PROMPT_LENGTH * vocab);
        let worst = 0;
        reference.forward(prompt, (position, expected) => {
          worst = Math.max(worst, relativeError(rowOf(all, position, vocab), expected));
        });
        assert.ok(worst < TOLERANCE, `prefill relative error ${worst.toExponential(2)} >= ${TOLERANCE}`);

        // Decode: feed the reference's greedy choice, one token at a time.
        const first = argmax(rowOf(all, PROMPT_LENGTH - 1, vocab));
        const worstDecode = await worstGreedyDecodeError(first, DECODE_STEPS, reference, (token) => prefix.extend([token]));
        console.log(`      relative error: prefill ${worst.toExponential(2)}, decode ${worstDecode.toExponential(2)}`);
        assert.ok(worstDecode < TOLERANCE, `decode relative error ${worstDecode.toExponential(2)} >= ${TOLERANCE}`);
        assert.strictEqual(prefix.length, PROMPT_LENGTH + DECODE_STEPS);
        prefix.dispose();
      } finally {
        model.dispose();
      }
    });
  }
});
