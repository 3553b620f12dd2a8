// build/native/snapkv-run, the engine without Node: its JSON, and that it
// computes exactly what the addon computes on the same file.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Engine, Model } from '../server/src/engine';
import { promptTokens, tinyModelSpec, writeTinyModel, WrittenTinyModel } from './fixtures/tiny-models';
import { relativeError, rowOf } from './helpers/logits-compare';
import { collect } from './helpers/async-helpers';
import { nativeBuildFile, ProgramRun, runProgram } from './helpers/run-program';
import { useTempDir } from './helpers/temp-dir';

const THREADS = 2;

/** The package root: the first folder above this file that holds package.json. */
const TOOL = nativeBuildFile('snapkv-run');

function runTool(args: readonly string[]): Promise<ProgramRun> {
  return runProgram(TOOL, args, { timeoutMs: 60_000, maxBufferBytes: 512 * 1024 * 1024 });
}

async function runOk(args: readonly string[]): Promise<RunOutput> {
  const run = await runTool(args);
  assert.strictEqual(run.code, 0, `snapkv-run ${args.slice(1).join(' ')} exited with ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as RunOutput;
}

interface TopEntry {
  token: number;
  logit: number;
}

interface RunOutput {
  model: {
    path: string;
    architecture: string;
    layers: number;
    hidden: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    vocab: number;
    weightBytes: number;
  };
  backend: string;
  threads: number;
  tokens: number;
  timings: Record<string, number>;
  generated?: number[];
  logits?: Array<Array<number | null> | TopEntry[]>;
}

describe('snapkv-run', function () {
  this.timeout(60_000);
  const tempDir = useTempDir('snapkv-run');
  const prompt = promptTokens(12, 5);
  let fixture: WrittenTinyModel;
  let model: Model;
  let full: RunOutput;

  before(async function () {
    assert.ok(fs.existsSync(TOOL), `${TOOL} is missing: build it with \`npm run build:native\``);
    fixture = writeTinyModel(tinyModelSpec({ arch: 'llama', weightType: 'Q8_0', tied: true }), tempDir());
    model = await Engine.load(fixture.path, { backend: 'cpu', threads: THREADS });
    full = await runOk([fixture.path, '--tokens', prompt.join(','), '--logits', 'all', '--generate', '5', '--threads', String(THREADS)]);
  });
  after(() => model?.dispose());

  it('describes the model it loaded', () => {
    const c = fixture.config;
    const { weightBytes, ...described } = full.model;
    assert.deepStrictEqual(described, {
      path: fixture.path,
      architecture: 'llama',
      layers: c.layers,
      hidden: c.hidden,
      heads: c.heads,
      kvHeads: c.kvHeads,
      headDim: c.headDim,
      vocab: c.vocab,
    });
    assert.strictEqual(weightBytes, model.info.weightBytes);
    assert.strictEqual(full.backend, 'cpu');
    assert.strictEqual(full.threads, THREADS);
    assert.strictEqual(full.tokens, prompt.length);
  });

  it("returns every position's logits, equal to the addon's", async () => {
    const prefix = await model.prefill(prompt, { logits: 'all' });
    try {
      const expected = prefix.logits!;
      const vocab = fixture.config.vocab;
      assert.strictEqual(expected.length, prompt.length * vocab);
      assert.strictEqual(full.logits!.length, prompt.length);
      full.logits!.forEach((row, position) => {
        assert.strictEqual(row.length, vocab, `row ${position} has ${row.length} logits`);
        assert.ok(row.every((x) => typeof x === 'number'), `row ${position} has a non-finite logit`);
        const error = relativeError(row as number[], rowOf(expected, position, vocab));
        assert.ok(error < 1e-5, `position ${position}: relative error ${error}`);
      });
    } finally {
      prefix.dispose();
    }
  });

  it("generates greedily the addon's tokens", async () => {
    const prefix = await model.prefill(prompt);
    try {
      const expected = await collect(prefix.generate({ maxTokens: 5 }));
      assert.strictEqual(expected.length, 5);
      assert.deepStrictEqual(full.generated, expected);
    } finally {
      prefix.dispose();
    }
  });

  it('reports positive timings', () => {
    for (const key of ['loadMs', 'prefillMs', 'prefillTokensPerSecond', 'decodeMs', 'decodeMsPerToken']) {
      const value = full.timings[key];
      assert.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `timings.${key} = ${value}`);
    }
  });

  it('--top 3 gives the three largest logits, largest first', async () => {
    const out = await runOk([fixture.path, '--tokens', prompt.join(','), '--logits', 'last', '--top', '3', '--threads', String(THREADS)]);
    assert.strictEqual(out.logits!.length, 1);
    const top = out.logits![0] as TopEntry[];
    assert.strictEqual(top.length, 3);
    for (let i = 1; i < top.length; i++) assert.ok(top[i - 1].logit >= top[i].logit, `entry ${i} is above entry ${i - 1}`);
    const last = full.logits![prompt.length - 1] as number[];
    const ranked = last.map((logit, token) => ({ token, logit })).sort((a, b) => b.logit - a.logit || a.token - b.token);
    assert.deepStrictEqual(top.map((e) => e.token), ranked.slice(0, 3).map((e) => e.token));
    top.forEach((entry) => assert.ok(Math.abs(entry.logit - last[entry.token]) <= 1e-6 * Math.abs(last[entry.token])));
    assert.strictEqual(full.generated![0], top[0].token, 'the first greedy token is the top logit');
  });

  it('fails with a JSON error naming a file it cannot load', async () => {
    const missing = path.join(tempDir(), 'no-such-model.gguf');
    const run = await runTool([missing, '--tokens', '1,2,3']);
    assert.notStrictEqual(run.code, 0);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    assert.match(error.code, /^(IO_ERROR|INVALID_FILE)$/);
    assert.ok(error.message.includes('no-such-model.gguf'), `message does not name the file: ${error.message}`);
  });

  it('runs on the GPU with --backend cuda, or says in a JSON error why it cannot', async () => {
    const run = await runTool([fixture.path, '--tokens', prompt.join(','), '--backend', 'cuda', '--top', '3']);
    if (Engine.buildInfo().cuda.usable) {
      assert.strictEqual(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as { backend: string; device: { name: string }; logits: TopEntry[][] };
      assert.strictEqual(out.backend, 'cuda');
      assert.ok(out.device.name.length > 0);
      const last = full.logits![prompt.length - 1] as number[];
      assert.strictEqual(out.logits[0][0].token, last.indexOf(Math.max(...last)), 'the GPU agrees on the top token');
      return;
    }
    assert.strictEqual(run.code, 1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    assert.strictEqual(error.code, 'BACKEND_UNAVAILABLE');
    assert.match(error.message, /backend 'cpu'/);
  });

  it('exits with code 2 and a usage message on a bad flag', async () => {
    const run = await runTool([fixture.path, '--no-such-flag']);
    assert.strictEqual(run.code, 2);
    assert.match(run.stderr, /unknown option --no-such-flag/);
    assert.match(run.stderr, /usage: snapkv-run MODEL\.gguf/);
    assert.strictEqual(run.stdout, '');
  });
});
