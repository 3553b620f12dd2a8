// The evaluation harness: kept-line and table arithmetic on made-up outcomes, the whole
// harness on a tiny random model (it runs; the accuracy is whatever it is), the recent-tokens
// baseline keeping exactly the last positions, and issue 8's gate on the trained model when
// models/snapkv-demo.gguf exists.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { KeptHead } from '../server/src/engine';
import { ExampleBuilder } from '../training/src/data/example-builder';
import { ExampleRecord } from '../training/src/data/example-record';
import { buildAccuracyTable, cellOf, formatAccuracyTable, recentGate, snapKvGate, summarizeKept } from '../training/src/eval/accuracy-table';
import { nearestBudget } from '../training/src/evaluate';
import { EvalModel, loadEvalModel } from '../training/src/eval/demo-model';
import { spanKept } from '../training/src/eval/kept-lines';
import { isExactMatch, Method, methodsFor } from '../training/src/eval/methods';
import { DEFAULT_SNAPKV_SETTINGS, ExampleOutcome, runExample } from '../training/src/eval/run-example';
import { exportGguf } from '../training/src/export/gguf-export';
import { readSmallVocab } from '../training/src/vocab/small-vocab';
import { readSafetensors } from '../training/src/weights/safetensors';
import { useTempDir } from './helpers/temp-dir';
import { sharedDemoText, splitPool, tinyTrainedConfig, writeRandomCheckpoint } from './training-helpers';

const DEMO_MODEL = path.resolve(__dirname, '..', '..', 'models', 'snapkv-demo.gguf');

function head(positions: number[]): KeptHead {
  return { positions: Int32Array.from(positions), scores: new Float32Array(positions.length) };
}

function outcome(id: string, results: Record<string, boolean>): ExampleOutcome {
  return {
    id,
    kind: 'function-file',
    promptLength: 4000,
    depth: 0.5,
    outcomes: Object.entries(results).map(([method, correct]) => ({ method, generated: correct ? 'a' : 'b', correct })),
  };
}

describe('training: evaluation arithmetic', () => {
  it('counts a line as kept in a layer when one head keeps half of its tokens', () => {
    const kept = [
      [head([0, 1, 10, 11, 12, 50]), head([2, 3])],
      [head([10, 60]), head([11, 61])],
      [head([0, 1, 2]), head([3, 4])],
    ];
    const result = spanKept(kept, [10, 14]);
    assert.strictEqual(result.layersKeeping, 1 / 3);
    assert.ok(Math.abs(result.meanCoverage - (3 / 4 + 0 + 1 / 4 + 1 / 4) / 6) < 1e-12);
  });

  it('builds, prints and gates the accuracy table', () => {
    const sets = [
      { label: '4K', examples: [outcome('a', { 'full cache': true, 'SnapKV 512': true }), outcome('b', { 'full cache': true, 'SnapKV 512': false })] },
      { label: '16K', examples: [outcome('c', { 'full cache': false, 'SnapKV 512': false })] },
    ];
    const table = buildAccuracyTable(sets);
    assert.deepStrictEqual(table.methods, ['full cache', 'SnapKV 512']);
    assert.deepStrictEqual(cellOf(table, 'SnapKV 512', '4K'), { correct: 1, total: 2 });
    const text = formatAccuracyTable(table);
    assert.match(text, /full cache\s+100\.0%\s+0\.0%/);
    assert.match(text, /4K \(n=2\)/);
    const gate = snapKvGate(table, '4K');
    assert.strictEqual(gate.ok, false);
    assert.match(gate.message, /50\.0% against the full cache's 100\.0%/);
    assert.ok(isExactMatch('  src/a.ts\n', 'src/a.ts') && !isExactMatch('src/a.tsx', 'src/a.ts'));
  });
});

describe('training: the gates of the accuracy table', () => {
  it('SnapKV must beat the most recent tokens at every budget, strictly unless both answer everything', () => {
    const table = buildAccuracyTable([
      {
        label: '1K',
        examples: [
          outcome('a', { 'full cache': true, 'SnapKV 128': true, 'SnapKV 256': true, 'recent 128': false, 'recent 256': true }),
          outcome('b', { 'full cache': true, 'SnapKV 128': false, 'SnapKV 256': true, 'recent 128': false, 'recent 256': true }),
        ],
      },
    ]);
    const gate = recentGate(table, '1K');
    assert.deepStrictEqual(gate.budgets, [128, 256]);
    assert.strictEqual(gate.ok, true, gate.message);
    const tied = buildAccuracyTable([{ label: '1K', examples: [outcome('c', { 'full cache': true, 'SnapKV 128': false, 'recent 128': false })] }]);
    const failed = recentGate(tied, '1K');
    assert.strictEqual(failed.ok, false);
    assert.match(failed.message, /at budget 128: SnapKV 0\.0%, recent 0\.0%/);
  });

  it('gates SnapKV at the listed budget nearest an eighth of the prompt', () => {
    assert.strictEqual(nearestBudget([64, 128, 256], 2048 / 8), 256);
    assert.strictEqual(nearestBudget([64, 128, 256], 1024 / 8), 128);
    assert.strictEqual(nearestBudget([64, 128], 96), 64);
  });
});

describe('training: the evaluation harness on a tiny random model', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('training-eval');
  let loaded: EvalModel | undefined;
  const records: ExampleRecord[] = [];

  before(async () => {
    const weights = path.join(tempDir(), 'random.safetensors');
    writeRandomCheckpoint(weights, tinyTrainedConfig(), 8);
    const gguf = path.join(tempDir(), 'random.gguf');
    exportGguf(readSafetensors(weights), gguf, { type: 'Q8_0', vocab: readSmallVocab() });
    loaded = await loadEvalModel(gguf);
    const builder = new ExampleBuilder(sharedDemoText(), splitPool('test'));
    for (let i = 0; i < 2; i++) records.push(builder.build(21, i, { minTokens: 1024, maxTokens: 1400 }));
  });

  after(() => loaded?.model.dispose());

  it('answers every example with the full cache, SnapKV and recent tokens at each budget, and tabulates them', async () => {
    const methods = methodsFor([128, 256]);
    const examples: ExampleOutcome[] = [];
    for (const record of records) examples.push(await runExample(loaded!, record, methods, DEFAULT_SNAPKV_SETTINGS, true));
    const table = buildAccuracyTable([{ label: '1K', examples }]);
    assert.deepStrictEqual(table.methods, ['full cache', 'SnapKV 128', 'SnapKV 256', 'recent 128', 'recent 256']);
    for (const row of table.cells) assert.strictEqual(row[0].total, 2);
    assert.deepStrictEqual(table.kept.map((k) => k.method), ['SnapKV 128', 'SnapKV 256']);
    for (const k of table.kept) for (const x of [k.answerLine, k.factLine, k.control]) assert.ok(x >= 0 && x <= 1);
    assert.ok(formatAccuracyTable(table).includes('recent 256'));
  });

  it('answers from the full cache as from a fresh prefill of the whole prompt', async () => {
    const record = records[0];
    const [full] = (await runExample(loaded!, record, [{ kind: 'full' }], DEFAULT_SNAPKV_SETTINGS, false)).outcomes;
    const prefix = await loaded!.model.prefill(record.prompt);
    try {
      const ids: number[] = [];
      for await (const id of prefix.generate({ maxTokens: DEFAULT_SNAPKV_SETTINGS.maxAnswerTokens, stop: loaded!.tokenizer.stopIds })) ids.push(id);
      assert.strictEqual(full.generated, loaded!.tokenizer.decode(ids, { skipSpecial: true }));
    } finally {
      prefix.dispose();
    }
  });

  it('keeps exactly the most recent `budget` prompt positions for the recent-tokens baseline (SnapKV with window = budget)', async () => {
    const record = records[1];
    const budget = 200;
    const prefix = await loaded!.model.prefill(record.prompt.slice(0, record.prefixLength));
    try {
      const method: Method = { kind: 'recent', budget };
      const compact = await prefix.query(record.prompt.slice(record.prefixLength), { budget: method.budget, window: method.budget });
      try {
        const expected = Array.from({ length: budget }, (_, i) => record.promptLength - budget + i);
        for (const layer of compact.kept()) for (const h of layer) assert.deepStrictEqual([...h.positions], expected);
      } finally {
        compact.dispose();
      }
    } finally {
      prefix.dispose();
    }
  });
});

describe("training: issue 8's gate on the trained demonstration model", function () {
  // A small version of the accuracy table on the CPU, within 3 minutes on 2 cores.
  this.timeout(600_000);
  const EXAMPLES = 16;

  it('SnapKV at budget 512 keeps 90% of the full cache accuracy at 4K, and keeps the lines that hold the answers', async function () {
    if (!fs.existsSync(DEMO_MODEL)) {
      console.log(`      SKIPPED: ${path.relative(process.cwd(), DEMO_MODEL)} does not exist yet; issue 8 (the trained demonstration model) is blocked on a GPU machine for training`);
      this.skip();
    }
    const loaded = await loadEvalModel(DEMO_MODEL);
    try {
      const builder = new ExampleBuilder(sharedDemoText(), splitPool('test'));
      const methods: Method[] = [{ kind: 'full' }, { kind: 'snapkv', budget: 512 }, { kind: 'recent', budget: 512 }];
      const examples: ExampleOutcome[] = [];
      for (let i = 0; i < EXAMPLES; i++) {
        const record = builder.build(3, i, { minTokens: 3584, maxTokens: 4096 });
        examples.push(await runExample(loaded, record, methods, DEFAULT_SNAPKV_SETTINGS, true));
      }
      const table = buildAccuracyTable([{ label: '4K', examples }]);
      console.log(formatAccuracyTable(table).replace(/^/gm, '      '));
      const gate = snapKvGate(table, '4K', 512, 0.9);
      assert.ok(gate.ok, gate.message);
      // Where SnapKV 512 answers right, the line holding the answer (a path answer's file header,
      // a constant's line) is kept in a quarter of the layers or more, and at least twice as often
      // as spans of the same size elsewhere: attention is never uniform, so some lines are kept
      // by chance (a random model of this shape kept them in about a tenth of its layers, its
      // answer lines as often).
      const right = examples.map((ex) => ex.outcomes.find((o) => o.method === 'SnapKV 512')!).filter((o) => o.correct);
      assert.ok(right.length > 0, 'SnapKV 512 answered nothing right');
      const kept = summarizeKept('SnapKV 512', '4K', right);
      assert.ok(
        kept.answerLine >= Math.max(0.25, 2 * kept.control),
        `the answer's line was kept in ${(100 * kept.answerLine).toFixed(0)}% of the layers, spans elsewhere in ${(100 * kept.control).toFixed(0)}%`,
      );
    } finally {
      loaded.model.dispose();
    }
  });
});
