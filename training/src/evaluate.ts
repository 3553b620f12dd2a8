// CLI: the accuracy table of a model on held-out examples.
//
//   node out/training/src/evaluate.js --model models/snapkv-demo.gguf \
//     --sets 4K:training/data/test-4k,16K:training/data/test-16k [--limit 100] \
//     [--budgets 128,256,512,1024] [--gate-budget 512] [--kept-sample 20] [--json results.json] [--threads N]
//
// Prints the table (exact match per method and prompt length), whether SnapKV at the gate budget
// (default: an eighth of the first set's longest prompt, rounded to a listed budget) keeps 90% of
// the full cache's accuracy at the first set, and whether SnapKV beats the most recent tokens at
// every budget of every set; --json writes every answer.
import * as fs from 'fs';
import { parseArgs, runCli, UsageError } from './cli-args';
import { readSplit } from './data/example-record';
import { buildAccuracyTable, EvaluatedSet, formatAccuracyTable, recentGate, snapKvGate } from './eval/accuracy-table';
import { loadEvalModel } from './eval/demo-model';
import { methodsFor } from './eval/methods';
import { DEFAULT_SNAPKV_SETTINGS, ExampleOutcome, runExample } from './eval/run-example';

const USAGE = [
  'usage: node out/training/src/evaluate.js --model FILE.gguf --sets LABEL:DIR[,LABEL:DIR...]',
  '         [--limit N] [--budgets 128,256,512,1024] [--gate-budget N] [--kept-sample 20] [--json FILE] [--threads N]',
].join('\n');

/** The listed budget nearest to `target` (the lower one on a tie). */
export function nearestBudget(budgets: readonly number[], target: number): number {
  return [...budgets].sort((a, b) => Math.abs(a - target) - Math.abs(b - target) || a - b)[0];
}

if (require.main === module) {
  runCli(async () => {
    const args = parseArgs(process.argv.slice(2), { values: ['model', 'sets', 'limit', 'budgets', 'gate-budget', 'kept-sample', 'json', 'threads'] });
    const sets = args.required('sets').split(',').map((entry) => {
      const at = entry.indexOf(':');
      if (at <= 0) throw new UsageError(`--sets entries are LABEL:DIR, got ${entry}`);
      return { label: entry.slice(0, at), dir: entry.slice(at + 1) };
    });
    const limit = args.integer('limit', Number.MAX_SAFE_INTEGER);
    const keptSample = args.integer('kept-sample', 20);
    const budgets = args.list('budgets', [128, 256, 512, 1024]);
    const methods = methodsFor(budgets);
    const threadsArg = args.value('threads');
    const loaded = await loadEvalModel(args.required('model'), threadsArg === undefined ? undefined : args.integer('threads'));
    const evaluated: EvaluatedSet[] = [];
    try {
      for (const set of sets) {
        const records = (await readSplit(set.dir, 'test')).slice(0, limit);
        const examples: ExampleOutcome[] = [];
        const started = Date.now();
        for (const [i, record] of records.entries()) {
          examples.push(await runExample(loaded, record, methods, DEFAULT_SNAPKV_SETTINGS, i < keptSample));
          const seconds = (Date.now() - started) / 1000;
          process.stderr.write(`\r${set.label}: ${i + 1}/${records.length} examples, ${seconds.toFixed(0)} s`);
        }
        process.stderr.write('\n');
        evaluated.push({ label: set.label, examples });
      }
    } finally {
      loaded.model.dispose();
    }
    const table = buildAccuracyTable(evaluated);
    process.stdout.write(formatAccuracyTable(table) + '\n\n');
    const longest = Math.max(...evaluated[0].examples.map((ex) => ex.promptLength));
    const gateBudget = args.integer('gate-budget', nearestBudget(budgets, longest / 8));
    const gate = table.methods.includes(`SnapKV ${gateBudget}`) ? snapKvGate(table, evaluated[0].label, gateBudget) : undefined;
    if (gate !== undefined) process.stdout.write(`${gate.ok ? 'gate holds' : 'GATE FAILS'}: ${gate.message}\n`);
    const recent = evaluated.map((set) => recentGate(table, set.label));
    for (const r of recent) process.stdout.write(`${r.ok ? 'gate holds' : 'GATE FAILS'}: ${r.message}\n`);
    const json = args.value('json');
    if (json !== undefined) fs.writeFileSync(json, JSON.stringify({ table, gate, recent, sets: evaluated }, null, 2) + '\n');
  }, USAGE);
}
