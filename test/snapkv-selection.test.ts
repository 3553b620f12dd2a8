// The engine's SnapKV selection against the independent float64 reference
// (test/reference/snapkv64.ts fed by test/reference/forward64.ts): the kept
// positions of every layer and cache head must be equal, exactly.
import * as assert from 'assert';
import { Engine, KeptHead as EngineKeptHead, Model, SnapKvOptions } from '../server/src/engine';
import { promptTokens, tinyModelName, TinyModelSpec, tinyModelSpec, writeTinyModel, WrittenTinyModel } from './fixtures/tiny-models';
import { referencePrompt, ReferencePrompt } from './helpers/reference-snapkv';
import { useTempDir } from './helpers/temp-dir';
import { argmax, relativeError } from './helpers/logits-compare';
import { ReferenceForward } from './reference/forward64';
import { KeptHead, SnapKvParams } from './reference/snapkv64';

const PREFIX = 150;
const SUFFIX = 40;
const MAX_WINDOW = 32;

interface Case {
  name: string;
  options: Required<SnapKvOptions>;
  suffix?: number;
}

const base: Required<SnapKvOptions> = { window: 16, budget: 64, kernel: 7, pooling: 'max', gqa: 'mean' };
const cases: Case[] = [
  { name: 'max pooling, kernel 7, GQA mean', options: base },
  { name: 'avg pooling, kernel 7', options: { ...base, pooling: 'avg' } },
  { name: 'max pooling, kernel 5, GQA repeat', options: { ...base, kernel: 5, gqa: 'repeat' } },
  { name: 'avg pooling, kernel 5, GQA repeat', options: { ...base, kernel: 5, pooling: 'avg', gqa: 'repeat' } },
  { name: 'kernel 1 (no pooling)', options: { ...base, kernel: 1 } },
  { name: 'kernel 1, avg, repeat', options: { ...base, kernel: 1, pooling: 'avg', gqa: 'repeat' } },
  { name: 'window of 32 longer than a 5-token question', options: { ...base, window: 32, budget: 96 }, suffix: 5 },
  { name: 'window of 16 longer than a 3-token question, avg', options: { ...base, pooling: 'avg' }, suffix: 3 },
  { name: 'prompt shorter than the budget keeps everything', options: { ...base, budget: 1024 } },
];

function comparable(kept: EngineKeptHead[][]): number[][][] {
  return kept.map((layer) => layer.map((head) => Array.from(head.positions)));
}

function expectedPositions(kept: KeptHead[][]): number[][][] {
  return kept.map((layer) => layer.map((head) => head.positions));
}

function assertScoresAgree(actual: EngineKeptHead[][], expected: KeptHead[][]): void {
  expected.forEach((layer, l) =>
    layer.forEach((head, h) => {
      head.scores.forEach((score, i) => {
        const got = actual[l][h].scores[i];
        if (Number.isNaN(score)) assert.ok(Number.isNaN(got), `layer ${l} head ${h}: score ${got}, expected NaN`);
        else if (score === Infinity) assert.strictEqual(got, Infinity);
        else assert.ok(Math.abs(got - score) <= 1e-5 * Math.max(1, Math.abs(score)), `layer ${l} head ${h}: score ${got} vs ${score}`);
      });
    }),
  );
}

function smallestGap(kept: KeptHead[][]): number {
  return Math.min(...kept.flat().map((head) => head.cutoffGap));
}

describe('SnapKV selection against the float64 reference', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('selection');

  const fixtures: TinyModelSpec[] = [
    tinyModelSpec({ arch: 'qwen2', weightType: 'F32', tied: true, seed: 3 }),
    tinyModelSpec({ arch: 'llama', weightType: 'Q8_0', tied: false, seed: 4 }),
  ];

  for (const spec of fixtures) {
    describe(tinyModelName(spec), () => {
      let fixture: WrittenTinyModel;
      let model: Model;
      const references = new Map<number, ReferencePrompt>();
      const prompt = promptTokens(PREFIX + SUFFIX, spec.seed + 100);

      before(async () => {
        fixture = writeTinyModel(spec, tempDir());
        model = await Engine.load(fixture.path, { backend: 'cpu', kvType: 'f32', exact: true });
      });
      after(() => model.dispose());

      const referenceFor = (length: number): ReferencePrompt => {
        let reference = references.get(length);
        if (!reference) {
          reference = referencePrompt(fixture.config, fixture.weights, prompt.slice(0, length), MAX_WINDOW);
          references.set(length, reference);
        }
        return reference;
      };

      for (const testCase of cases) {
        it(testCase.name, async () => {
          const suffix = testCase.suffix ?? SUFFIX;
          const length = PREFIX + suffix;
          const prefix = await model.prefill(prompt.slice(0, PREFIX), { chunkTokens: 64 });
          const compact = await prefix.query(prompt.slice(PREFIX, length), testCase.options);
          const expected = referenceFor(length).select(testCase.options as SnapKvParams);
          const actual = compact.kept();
          assert.strictEqual(actual.length, fixture.config.layers);
          const heads = testCase.options.gqa === 'repeat' ? fixture.config.heads : fixture.config.kvHeads;
          for (const layer of actual) assert.strictEqual(layer.length, heads);
          assert.deepStrictEqual(comparable(actual), expectedPositions(expected));
          assertScoresAgree(actual, expected);
          compact.dispose();
          prefix.dispose();
        });
      }

      it('generation continues from the kept entries at the original positions, as in the reference', async () => {
        const length = PREFIX + SUFFIX;
        const prefix = await model.prefill(prompt.slice(0, PREFIX));
        const compact = await prefix.query(prompt.slice(PREFIX, length), base);
        const produced: number[] = [];
        for await (const token of compact.generate({ maxTokens: 8 })) produced.push(token);
        const kept = compact.kept();

        const decode = (compacted: boolean): { tokens: number[]; logits: Float64Array } => {
          const reference = new ReferenceForward(fixture.config, fixture.weights);
          let logits = reference.forward(prompt.slice(0, length));
          if (compacted) reference.compact((layer, head) => Array.from(kept[layer][head].positions));
          const tokens: number[] = [];
          for (let i = 0; i < 8; i++) {
            tokens.push(compacted ? argmax(logits) : produced[i]);
            logits = reference.step(tokens[i]);
          }
          return { tokens, logits };
        };
        const fromKept = decode(true);
        assert.deepStrictEqual(produced, fromKept.tokens);
        const error = relativeError(compact.lastLogits()!, fromKept.logits);
        assert.ok(error < 1e-4, `compact decode differs from the reference by ${error}`);
        // The check has power: the full cache would have given other logits.
        const fromFull = decode(false);
        assert.ok(relativeError(compact.lastLogits()!, fromFull.logits) > 1e-3, 'compression changed nothing measurable');
        compact.dispose();
        prefix.dispose();
      });

      it('tied scores at the cutoff go to the lower position, as in the reference', async () => {
        // Max pooling copies a peak over kernel-wide plateaus: equal scores.
        // Find budgets whose cutoff falls inside a plateau, and check them.
        const length = PREFIX + SUFFIX;
        const reference = referenceFor(length);
        const tiedBudgets: number[] = [];
        for (let budget = base.window + 2; budget < length && tiedBudgets.length < 4; budget += 3) {
          const params: SnapKvParams = { ...base, budget };
          if (smallestGap(reference.select(params)) === 0) tiedBudgets.push(budget);
        }
        assert.ok(tiedBudgets.length > 0, 'no budget put the cutoff inside a plateau of equal scores');
        const prefix = await model.prefill(prompt.slice(0, PREFIX));
        for (const budget of tiedBudgets) {
          const options = { ...base, budget };
          const compact = await prefix.query(prompt.slice(PREFIX, length), options);
          assert.deepStrictEqual(comparable(compact.kept()), expectedPositions(reference.select(options)), `budget ${budget}`);
          compact.dispose();
        }
        prefix.dispose();
      });
    });
  }
});
