// GGUF llama files rotate adjacent pairs, qwen2 files rotate halves. A swap
// gives plausible-looking garbage without any error, so this test proves the
// comparison would notice: the engine matches the reference run with the
// architecture's layout and is far from the reference run with the other one.
import * as assert from 'assert';
import { Engine } from '../server/src/engine';
import { promptTokens, tinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { relativeError, rowOf } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';
import { ReferenceForward, RopeLayout } from './reference/forward64';

describe('RoPE layouts', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('rope');

  for (const arch of ['llama', 'qwen2'] as const) {
    it(`${arch}: matches its own layout and not the other`, async () => {
      const fixture = writeTinyModel(tinyModelSpec({ arch, weightType: 'F32', tied: true }), tempDir());
      const own: RopeLayout = arch === 'llama' ? 'adjacent' : 'halves';
      const other: RopeLayout = arch === 'llama' ? 'halves' : 'adjacent';
      const prompt = promptTokens(48, 11);
      const expected = (layout: RopeLayout): Float64Array[] => {
        const rows: Float64Array[] = [];
        new ReferenceForward(fixture.config, fixture.weights, { ropeLayout: layout }).forward(prompt, (_, logits) => rows.push(logits));
        return rows;
      };
      const model = await Engine.load(fixture.path, { backend: 'cpu', kvType: 'f32', exact: true });
      try {
        const prefix = await model.prefill(prompt, { logits: 'all' });
        const actual = prefix.logits!;
        const vocab = fixture.config.vocab;
        const errorAgainst = (rows: Float64Array[]): number =>
          Math.max(...rows.slice(1).map((row, i) => relativeError(rowOf(actual, i + 1, vocab), row)));
        const ownError = errorAgainst(expected(own));
        const otherError = errorAgainst(expected(other));
        assert.ok(ownError < 1e-4, `own layout error ${ownError}`);
        assert.ok(otherError > 1e-2, `swapped layout error only ${otherError}: the test could not tell the layouts apart`);
        prefix.dispose();
      } finally {
        model.dispose();
      }
    });
  }
});
