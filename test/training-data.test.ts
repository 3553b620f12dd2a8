// The data generator: facts read from code, deterministic examples, prompts that are exactly
// what the language server builds (checked against the chat template and the block format
// directly, not through the generator's own path), answers that really sit at the recorded
// file, lines and tokens, unambiguous questions, and held-out files never used in training.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { buildPrefixHead, buildSuffix } from '../server/src/session/prompt';
import { questionText, SYSTEM_PROMPT } from '../server/src/session/question-text';
import { blockHeader, renderBlock } from '../server/src/workspace/block-format';
import { LineMap } from '../server/src/workspace/line-map';
import { buildPackedBlock } from '../server/src/workspace/packed-block';
import { conflictsWith, extractFacts, splitLines } from '../training/src/data/code-facts';
import { readCompactSplit } from '../training/src/data/compact-shards';
import { ExampleBuilder } from '../training/src/data/example-builder';
import { ExampleRecord, readSplit } from '../training/src/data/example-record';
import { splitOfPath } from '../training/src/data/source-pool';
import { generateData } from '../training/src/generate-data';
import { useTempDir } from './helpers/temp-dir';
import { sharedDemoText, sourcePool, splitPool } from './training-helpers';

describe('training: code facts', () => {
  it('reads function definitions, constants and imports from the common line shapes', () => {
    const facts = extractFacts(
      [
        "import { readFile } from 'node:fs';",
        "const lodashMerge = require('lodash/merge');",
        'export async function loadSettings(path) {',
        '  return 1;',
        '}',
        'export const MAX_RETRIES = 17;',
        "const defaultHost: string = 'example.org';",
        'const parseHeader = (line) => line.split(":");',
        'exports.formatBytes = function (n) { return n; };',
        'def compute_total(items):',
        'from collections.abc import Mapping',
      ].join('\n'),
    ).facts;
    const summary = facts.map((f) => `${f.kind} ${f.name}${f.value ? ` = ${f.value}` : ''} @${f.line}`);
    assert.deepStrictEqual(summary, [
      'import-file node:fs @1',
      'import-file lodash/merge @2',
      'function-file loadSettings @3',
      'constant-value MAX_RETRIES = 17 @6',
      "constant-value defaultHost = 'example.org' @7",
      'function-file parseHeader @8',
      'function-file formatBytes @9',
      'function-file compute_total @10',
      'import-file collections.abc @11',
    ]);
  });

  it('drops what is ambiguous or guessable: names defined twice, reassigned constants, 0/1 values, values that spell the name', () => {
    const facts = extractFacts(
      [
        'function handleRequest(a) {}',
        'function handleRequest(a, b) {}',
        'let RETRY_LIMIT = 12;',
        'RETRY_LIMIT = 13;',
        'const ENABLED_FLAG = 1;',
        'export const PASSWORD_TOO_WEAK = "password_too_weak";',
        "import a from 'twice';",
        "import b from 'twice';",
        'function get(x) {}',
      ].join('\n'),
    ).facts;
    assert.deepStrictEqual(facts, []);
  });

  it('flags other files that would make a question ambiguous', () => {
    const answer = extractFacts('export function renderTable(rows) {}\nexport const PAGE_SIZE = 50;\nimport x from "chalk";\n');
    const [fn, constant, imported] = answer.facts;
    assert.ok(conflictsWith(extractFacts('class A {\n  renderTable(rows) {\n  }\n}\n'), fn), 'a method of the same name');
    assert.ok(!conflictsWith(extractFacts('const table = renderTable([]);\n'), fn), 'a call is not a definition');
    assert.ok(conflictsWith(extractFacts('const opts = { PAGE_SIZE: 10 };\n'), constant));
    assert.ok(conflictsWith(extractFacts('const c = require("chalk");\n'), imported));
    assert.ok(!conflictsWith(extractFacts('const c = require("chalk-template");\n'), imported));
  });
});

describe('training: the data generator', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('training-data');
  const records: ExampleRecord[] = [];

  before(() => {
    const text = sharedDemoText();
    const test = new ExampleBuilder(text, splitPool('test'));
    for (let i = 0; i < 14; i++) records.push(test.build(11, i, { minTokens: 1024, maxTokens: 16384 }));
    for (let i = 0; i < 4; i++) records.push(test.build(12, i, { minTokens: 3584, maxTokens: 4096 }));
    const val = new ExampleBuilder(text, splitPool('val'));
    for (let i = 0; i < 4; i++) records.push(val.build(13, i, { minTokens: 1024, maxTokens: 2048 }));
  });

  it('is deterministic: the same seed and index give the same example, from a fresh builder too', () => {
    const again = new ExampleBuilder(sharedDemoText(), splitPool('test'));
    assert.deepStrictEqual(again.build(11, 3, { minTokens: 1024, maxTokens: 16384 }), records[3]);
    const other = again.build(99, 3, { minTokens: 1024, maxTokens: 16384 });
    assert.notDeepStrictEqual(other.prompt, records[3].prompt);
  });

  it('keeps prompt lengths within the bounds, asks every kind, and places answers at many depths', () => {
    for (const r of records.slice(0, 14)) assert.ok(r.promptLength >= 1024 && r.promptLength <= 16384, `${r.id}: ${r.promptLength}`);
    for (const r of records.slice(14, 18)) assert.ok(r.promptLength >= 3584 && r.promptLength <= 4096, `${r.id}: ${r.promptLength}`);
    for (const r of records.slice(18)) assert.ok(r.promptLength >= 1024 && r.promptLength <= 2048, `${r.id}: ${r.promptLength}`);
    assert.deepStrictEqual(new Set(records.map((r) => r.kind)), new Set(['function-file', 'constant-value', 'import-file']));
    const depths = records.map((r) => r.depth);
    assert.ok(depths.every((d) => d >= 0 && d <= 1));
    assert.ok(Math.min(...depths) < 0.25 && Math.max(...depths) > 0.75, `depths ${depths.join(' ')}`);
  });

  it("lays out prompts exactly as the server: chat head, each file's block tokenized on its own, question suffix", () => {
    const { tokenizer, template } = sharedDemoText();
    const textOf = new Map(sourcePool().map((f) => [f.path, f.text]));
    const head = buildPrefixHead(tokenizer, template);
    for (const r of records) {
      // Straight from the chat template and the block format, without the generator's code path.
      const layout = template.layout({ system: SYSTEM_PROMPT, history: [], question: questionText({ question: r.question }) });
      const blocks = r.files.map((p) => renderBlock(p, textOf.get(p) as string).text);
      const expected = [
        ...tokenizer.encode(layout.head, { parseSpecial: true }),
        ...blocks.flatMap((b) => tokenizer.encode(b)),
        ...tokenizer.encode(layout.tail, { parseSpecial: true }),
      ];
      assert.deepStrictEqual(r.prompt, expected, r.id);
      assert.strictEqual(tokenizer.decode(r.prompt), layout.head + blocks.join('') + layout.tail);
      // And through the server's own functions.
      assert.deepStrictEqual(r.prompt.slice(0, r.headLength), [...head.tokens]);
      assert.deepStrictEqual(r.prompt.slice(r.prefixLength), [...buildSuffix(tokenizer, template, [], questionText({ question: r.question }))]);
      assert.deepStrictEqual(r.target, [...tokenizer.encode(r.answer), tokenizer.tokenId('<|im_end|>')]);
    }
  });

  it('puts the answer at the recorded file, lines and tokens, and no other file of the repository could answer', () => {
    const { tokenizer } = sharedDemoText();
    const textOf = new Map(sourcePool().map((f) => [f.path, f.text]));
    for (const r of records) {
      assert.strictEqual(r.files[r.answerBlock], r.answerFile);
      assert.strictEqual(new Set(r.files).size, r.files.length);
      const line = splitLines(textOf.get(r.answerFile) as string)[r.answerLines[0] - 1];
      const evidence = tokenizer.decode(r.prompt.slice(...r.evidenceTokens));
      assert.ok(line.includes(r.subject) && evidence.includes(r.subject), `${r.id}: ${r.subject} not in ${JSON.stringify(evidence)}`);
      assert.ok(evidence.startsWith(line), `${r.id}: the evidence tokens start at the line`);
      assert.strictEqual(tokenizer.decode(r.prompt.slice(...r.headerTokens)), blockHeader(r.answerFile));
      if (r.kind === 'constant-value') assert.ok(line.includes(`${r.subject}`) && evidence.includes(r.answer));
      else assert.strictEqual(r.answer, r.answerFile);
      const fact = extractFacts(textOf.get(r.answerFile) as string).facts.find((f) => f.kind === r.kind && f.name === r.subject);
      assert.ok(fact !== undefined && fact.line === r.answerLines[0]);
      for (const other of r.files) {
        if (other !== r.answerFile) assert.ok(!conflictsWith(extractFacts(textOf.get(other) as string), fact), `${r.id}: ${other} could answer too`);
      }
      const span = r.evidenceTokens[0] - r.headLength;
      assert.ok(Math.abs(r.depth - span / (r.prefixLength - r.headLength)) < 1e-3);
    }
  });

  it('adds follow-up turns as the server lays out a conversation, with each earlier answer located in the prompt', () => {
    const { tokenizer, template } = sharedDemoText();
    const builder = new ExampleBuilder(sharedDemoText(), splitPool('test'));
    const textOf = new Map(sourcePool().map((f) => [f.path, f.text]));
    let turns = 0;
    for (let i = 0; i < 6; i++) {
      const r = builder.build(14, i, { minTokens: 1024, maxTokens: 4096 }, { followUps: 2 });
      assert.ok(r.promptLength >= 1024 && r.promptLength <= 4096);
      const history = r.followUps.map((f) => ({ question: f.question, answer: f.answer }));
      assert.deepStrictEqual(r.prompt.slice(r.prefixLength), [...buildSuffix(tokenizer, template, history, questionText({ question: r.question }))]);
      assert.strictEqual(r.followUpAnswerTokens.length, r.followUps.length);
      r.followUps.forEach((turn, k) => {
        assert.strictEqual(tokenizer.decode(r.prompt.slice(...r.followUpAnswerTokens[k])), `${turn.answer}<|im_end|>`);
        assert.notStrictEqual(turn.subject, r.subject);
        const owners = r.files.filter((p) => extractFacts(textOf.get(p) as string).facts.some((f) => f.kind === turn.kind && f.name === turn.subject));
        assert.strictEqual(owners.length, 1, `${r.id}: ${turn.subject} is stated by ${owners.length} files`);
      });
      turns += r.followUps.length;
    }
    assert.ok(turns >= 3, `${turns} follow-up turns in 6 examples`);
  });

  it("maps the evidence tokens to the answer's file and line through the server's LineMap", () => {
    const { tokenizer } = sharedDemoText();
    const byPath = new Map(sourcePool().map((f) => [f.path, f]));
    for (const r of records.slice(0, 6)) {
      const blocks = r.files.map((p) => {
        const f = byPath.get(p)!;
        return buildPackedBlock({ path: p, mtimeMs: 0, size: f.text.length, text: f.text }, tokenizer);
      });
      const map = new LineMap(blocks, r.headLength);
      for (let t = r.evidenceTokens[0]; t < r.evidenceTokens[1]; t++) {
        assert.deepStrictEqual(map.locate(t), { path: r.answerFile, line: r.answerLines[0] });
      }
    }
  });

  it('builds held-out examples only from files that the training split never uses', () => {
    const pool = sourcePool();
    const train = pool.filter((f) => f.split === 'train');
    const test = pool.filter((f) => f.split === 'test');
    assert.ok(test.length > 300 && train.length > 8 * (test.length / 2), `${train.length} train, ${test.length} test files`);
    const trainContent = new Set(train.map((f) => f.sha256));
    assert.ok(test.every((f) => !trainContent.has(f.sha256)), 'a test file has the same content as a training file');
    for (const r of records) {
      for (const p of r.files) assert.strictEqual(splitOfPath(p), r.split, `${r.id}: ${p}`);
    }
    // The split of a path never changes (a change would leak held-out files into training data).
    assert.deepStrictEqual(['pkg/file0.js', 'pkg/file14.js', 'pkg/file20.js', 'lodash/_baseRest.js'].map(splitOfPath), ['train', 'val', 'test', 'train']);
  });

  it('writes JSONL shards and a manifest, byte for byte the same from the same arguments', async () => {
    const run = (dir: string): string[] =>
      generateData({ out: dir, examples: 5, split: 'val', minTokens: 1024, maxTokens: 3000, seed: 4, shardSize: 2, pool: sourcePool(), text: sharedDemoText() });
    const a = run(path.join(tempDir(), 'a'));
    const b = run(path.join(tempDir(), 'b'));
    assert.deepStrictEqual(a.map((f) => path.basename(f)), ['val-00000.jsonl', 'val-00001.jsonl', 'val-00002.jsonl']);
    for (let i = 0; i < a.length; i++) assert.ok(fs.readFileSync(a[i]).equals(fs.readFileSync(b[i])));
    const parsed = await readSplit(path.join(tempDir(), 'a'), 'val');
    assert.deepStrictEqual(parsed.map((r) => r.index), [0, 1, 2, 3, 4]);
    const manifest = JSON.parse(fs.readFileSync(path.join(tempDir(), 'a', 'val-manifest.json'), 'utf8')) as { examples: number; poolFiles: number };
    assert.strictEqual(manifest.examples, 5);
    assert.strictEqual(manifest.poolFiles, splitPool('val').files.length);

    // The compact form rebuilds the same records; a part made from --start matches the whole.
    const compactDir = path.join(tempDir(), 'compact');
    generateData({ out: compactDir, examples: 5, split: 'val', minTokens: 1024, maxTokens: 3000, seed: 4, shardSize: 2, pool: sourcePool(), text: sharedDemoText(), format: 'compact' });
    assert.deepStrictEqual(readCompactSplit(compactDir, 'val'), parsed);
    const partDir = path.join(tempDir(), 'part');
    generateData({ out: partDir, examples: 1, start: 4, split: 'val', minTokens: 1024, maxTokens: 3000, seed: 4, shardSize: 2, pool: sourcePool(), text: sharedDemoText() });
    assert.ok(fs.readFileSync(path.join(partDir, 'val-00002.jsonl')).equals(fs.readFileSync(a[2])));
  });
});
