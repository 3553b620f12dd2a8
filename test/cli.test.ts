// The snapkv-code command as users run it: a child process, through the bin
// link npm made, with a fixture model and repository.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isolatedEnv, writeLargeRepo, writeServerFixture, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'node_modules', '.bin', 'snapkv-code');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('snapkv-code command', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('cli');
  let modelPath: string;
  let repo: string;
  let isolated: ReturnType<typeof isolatedEnv>;

  before(() => {
    ({ model: modelPath, repo } = writeServerFixture(tempDir()));
    fs.writeFileSync(path.join(repo, '.env'), 'API_KEY=secret\n');
    fs.writeFileSync(path.join(repo, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
    isolated = isolatedEnv(tempDir());
  });

  const env = (): NodeJS.ProcessEnv => ({ ...isolated });

  it('is linked where npx finds it', () => {
    assert.ok(fs.existsSync(BIN), `${BIN} is missing: npm install links it`);
  });

  it('ask streams an answer, then lists the kept files and lines', async () => {
    const run = await runCli(['ask', repo, 'What is MAX_ITEMS set to?', '--model', modelPath, '--max-tokens', '8', '--budget', '64', '--window', '8'], env());
    assert.strictEqual(run.code, 0, run.stderr);
    assert.match(run.stderr, /4 files, \d+ tokens \(prefill\); 2 left out/);
    assert.match(run.stdout, /Kept context \(share of the kept cache\):/);
    assert.match(run.stdout, /%\s+src\/(stock|config)\.ts:\d+/);
    assert.match(run.stdout, /8 tokens · compression/);
  });

  it('ask --json reports the answer, the index and the context map', async () => {
    const run = await runCli(['ask', repo, 'Where is addItem defined?', '--model', modelPath, '--max-tokens', '4', '--json'], env());
    assert.strictEqual(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { index: { source: string; files: number }; answer: { tokens: number }; contextMap: { files: unknown[] } };
    assert.strictEqual(result.index.source, 'saved-cache', 'the cache saved by the previous run is reused');
    assert.strictEqual(result.index.files, 4);
    assert.strictEqual(result.answer.tokens, 4);
    assert.ok(result.contextMap.files.length > 0);
  });

  it('ask answers one-shot when the repository cache does not fit --host-memory, and says so', async () => {
    // Eight layers of four KV heads: 2 KiB of keys and values per token, about 8.6 MiB for this repository;
    // one-shot needs about half of it.
    const deep = writeServerModel(tempDir(), { layers: 8, heads: 4, kvHeads: 4, seed: 11 });
    const large = path.join(tempDir(), 'large');
    writeLargeRepo(large, 10, 20);
    const limit = String(6.4 / 1024);
    const run = await runCli(['ask', large, 'Which module defines value_3_7?', '--model', deep, '--max-tokens', '4', '--budget', '256', '--window', '16', '--host-memory', limit, '--json'], env());
    assert.strictEqual(run.code, 0, run.stderr);
    const { index, answer } = JSON.parse(run.stdout) as { index: { source: string }; answer: { tokens: number; answerMode?: { note?: string } } };
    assert.strictEqual(index.source, 'one-shot');
    assert.ok(answer.tokens > 0);
    assert.match(answer.answerMode?.note ?? '', /^repository too large for a prefix cache in 6.4 MiB; answering one-shot \(each question reads the whole repository\)$/);
    const plain = await runCli(['ask', large, 'Which module defines value_3_7?', '--model', deep, '--max-tokens', '4', '--budget', '256', '--window', '16', '--host-memory', limit], env());
    assert.strictEqual(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /repository too large for a prefix cache in 6.4 MiB; answering one-shot/);
  });

  it('index prints what is packed and left out, and the token count', async () => {
    const run = await runCli(['index', repo, '--model', modelPath], env());
    assert.strictEqual(run.code, 0, run.stderr);
    assert.match(run.stdout, /Packed \(folder walk honouring \.gitignore\), oldest first:/);
    assert.match(run.stdout, /\d+ tokens\s+src\/report\.py/);
    assert.match(run.stdout, /secret\s+\.env/);
    assert.match(run.stdout, /binary\s+logo\.png/);
    assert.match(run.stdout, /4 files, 2 left out, \d+ tokens of the model's 8,192/);
  });

  it('without --model says where it looked and how to get a model', async () => {
    const run = await runCli(['ask', repo, 'anything?'], env());
    assert.strictEqual(run.code, 1);
    assert.match(run.stderr, /No GGUF model was found/);
    assert.match(run.stderr, /ollama pull/);
    assert.match(run.stderr, /LM Studio/);
  });

  it('finds a model where LM Studio keeps it', async () => {
    const lmDir = path.join(isolated.HOME, '.lmstudio', 'models', 'fixture', 'tiny');
    fs.mkdirSync(lmDir, { recursive: true });
    fs.copyFileSync(modelPath, path.join(lmDir, 'tiny-q.gguf'));
    try {
      const models = await runCli(['models'], env());
      assert.match(models.stdout, /lm-studio\s+fixture\/tiny\/tiny-q\.gguf/);
      const run = await runCli(['ask', repo, 'What is CURRENCY?', '--max-tokens', '2'], env());
      assert.strictEqual(run.code, 0, run.stderr);
      assert.match(run.stderr, /no model set; using fixture\/tiny\/tiny-q\.gguf/);
    } finally {
      fs.rmSync(path.join(isolated.HOME, '.lmstudio'), { recursive: true, force: true });
    }
  });

  it('rejects bad arguments with the usage', async () => {
    const run = await runCli(['ask', repo], env());
    assert.strictEqual(run.code, 2);
    assert.match(run.stderr, /ask needs a folder and a question/);
    assert.match(run.stderr, /Usage:/);
    const budget = await runCli(['ask', repo, 'q', '--budget', 'lots'], env());
    assert.strictEqual(budget.code, 2);
    assert.match(budget.stderr, /--budget needs a positive whole number/);
  });
});
