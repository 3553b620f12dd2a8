// `snapkv-code models` on a fake home: an Ollama store (a manifest under
// manifests/registry.ollama.ai/library/<name>/<tag> naming a blob) and an LM
// Studio folder, holding real GGUF fixture files (header and tensor directory
// as written; zero weights, which listing never reads). Each model is listed
// with architecture, weight-type mix, size, usable context, and whether it
// runs here and why not.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { describeModels, weightTypeMix } from '../server/src/session/model-facts';
import { defaultSearchRoots, findLocalModels } from '../server/src/session/model-search';
import type { ModelsResult } from '../server/src/protocol';
import { Methods } from '../server/src/protocol';
import { writeGguf } from './fixtures/gguf-writer';
import { TestLspClient } from './helpers/lsp-client';
import { buildTinyModel, tinyModelSpec } from './fixtures/tiny-models';
import { useTempDir } from './helpers/temp-dir';

function writeHeaderOnly(file: string, spec: ReturnType<typeof tinyModelSpec>, stray?: string): void {
  const model = buildTinyModel(spec, { dataless: true });
  const tensors = [...model.tensors];
  if (stray) tensors.push({ name: stray, ggmlType: 0, dims: [spec.hidden], data: new Uint8Array(4 * spec.hidden) });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeGguf(file, { metadata: model.metadata, tensors });
}

/** An Ollama store entry: the blob under its sha256 name, and a manifest pointing at it. */
function addOllamaModel(root: string, name: string, tag: string, write: (file: string) => void): string {
  const staging = path.join(root, 'staging.gguf');
  write(staging);
  const digest = crypto.createHash('sha256').update(fs.readFileSync(staging)).digest('hex');
  const blob = path.join(root, 'blobs', `sha256-${digest}`);
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  fs.renameSync(staging, blob);
  const manifest = path.join(root, 'manifests', 'registry.ollama.ai', 'library', name, tag);
  fs.mkdirSync(path.dirname(manifest), { recursive: true });
  fs.writeFileSync(
    manifest,
    JSON.stringify({
      schemaVersion: 2,
      layers: [
        { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${digest}`, size: fs.statSync(blob).size },
        { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${'0'.repeat(64)}`, size: 10 },
      ],
    }),
  );
  return blob;
}

describe('models listing', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('models');
  let home: string;

  before(() => {
    home = path.join(tempDir(), 'home');
    const ollama = path.join(home, '.ollama', 'models');
    addOllamaModel(ollama, 'qwen2.5-coder', '1.5b', (file) =>
      writeHeaderOnly(file, tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true, contextLength: 32768 })),
    );
    addOllamaModel(ollama, 'odd-model', 'latest', (file) =>
      writeHeaderOnly(file, tinyModelSpec({ arch: 'llama', weightType: 'Q8_0', tied: true, seed: 2 }), 'blk.0.attn_sinks.weight'),
    );
    writeHeaderOnly(
      path.join(home, '.lmstudio', 'models', 'Qwen', 'Qwen3-Tiny-GGUF', 'qwen3-tiny-f16.gguf'),
      tinyModelSpec({ arch: 'qwen3', weightType: 'F16', tied: false, contextLength: 40960 }),
    );
  });

  it('lists Ollama names and LM Studio paths with architecture, weight types, size, context and whether each runs', async () => {
    const found = findLocalModels(defaultSearchRoots({}, home));
    assert.deepStrictEqual(found.map((m) => m.name), ['odd-model:latest', 'qwen2.5-coder:1.5b', 'Qwen/Qwen3-Tiny-GGUF/qwen3-tiny-f16.gguf']);
    const facts = await describeModels(found);
    const [odd, coder, qwen3] = facts;
    assert.strictEqual(coder.architecture, 'qwen2');
    assert.strictEqual(coder.runs, true, coder.whyNot);
    assert.strictEqual(coder.contextLength, 32768);
    assert.match(coder.weightTypes, /^Q8_0 15, F32 11$/);
    assert.strictEqual(coder.bytes, fs.statSync(coder.path).size);
    assert.strictEqual(qwen3.architecture, 'qwen3');
    assert.strictEqual(qwen3.runs, true, qwen3.whyNot);
    assert.strictEqual(qwen3.contextLength, 40960);
    assert.match(qwen3.weightTypes, /^F16 \d+, F32 \d+$|^F32 \d+, F16 \d+$/);
    assert.strictEqual(odd.runs, false);
    assert.match(odd.whyNot ?? '', /'blk\.0\.attn_sinks\.weight'/);
    // The RoPE scaling asked for changes the usable context shown.
    const yarn = await describeModels([found[1]], { ropeScaling: 'yarn', ropeScale: 4 });
    assert.strictEqual(yarn[0].contextLength, 131072);
  });

  it('OLLAMA_MODELS replaces the default Ollama folders, as Ollama itself reads it', () => {
    const elsewhere = path.join(tempDir(), 'ollama-elsewhere');
    addOllamaModel(elsewhere, 'moved', 'q4', (file) => writeHeaderOnly(file, tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true })));
    const roots = defaultSearchRoots({ OLLAMA_MODELS: elsewhere }, home);
    assert.deepStrictEqual(roots.ollama, [elsewhere]);
    const names = findLocalModels(roots).map((m) => m.name);
    assert.deepStrictEqual(names, ['moved:q4', 'Qwen/Qwen3-Tiny-GGUF/qwen3-tiny-f16.gguf'], 'the store under ~/.ollama is not read');
    // Set but empty: Ollama's default.
    assert.deepStrictEqual(defaultSearchRoots({ OLLAMA_MODELS: '' }, home).ollama[0], path.join(home, '.ollama', 'models'));
  });

  it("answers snapkv/models over LSP: what the editor's Select Model lists, found by the server", async () => {
    const client = new TestLspClient({ env: { HOME: home, OLLAMA_MODELS: '' } });
    try {
      await client.initialize({ backend: 'cpu' });
      const listed = await client.connection.sendRequest<ModelsResult>(Methods.models, {});
      assert.deepStrictEqual(listed.models.map((m) => [m.name, m.source, m.runs]), [
        ['odd-model:latest', 'ollama', false],
        ['qwen2.5-coder:1.5b', 'ollama', true],
        ['Qwen/Qwen3-Tiny-GGUF/qwen3-tiny-f16.gguf', 'lm-studio', true],
      ]);
      assert.deepStrictEqual(listed.models, JSON.parse(JSON.stringify(await describeModels(findLocalModels(defaultSearchRoots({}, home))))));
      assert.strictEqual(listed.advice, undefined);
      const nobody = new TestLspClient({ env: { HOME: path.join(tempDir(), 'nobody'), OLLAMA_MODELS: '' } });
      try {
        await nobody.initialize({ backend: 'cpu' });
        const none = await nobody.connection.sendRequest<ModelsResult>(Methods.models, {});
        assert.deepStrictEqual(none.models, []);
        assert.match(none.advice ?? '', /ollama pull/);
      } finally {
        await nobody.close();
      }
    } finally {
      await client.close();
    }
  });

  it('sorts the weight-type mix most frequent first', () => {
    assert.strictEqual(weightTypeMix({ F32: 121, Q6_K: 25, Q4_K: 168 }), 'Q4_K 168, F32 121, Q6_K 25');
  });

  it('prints the listing from the command line, and the usable context with --rope-scaling yarn', async () => {
    const cli = path.join(__dirname, '..', 'server', 'src', 'cli', 'main.js');
    const run = (args: string[]): Promise<string> =>
      new Promise((resolve, reject) =>
        execFile(process.execPath, [cli, ...args], { env: { ...process.env, HOME: home, OLLAMA_MODELS: '' } }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
    const text = await run(['models']);
    assert.match(text, /qwen2\.5-coder:1\.5b\s+\(qwen2, [\d.]+ MiB, context 32,768\)\n\s+weights: Q8_0 15, F32 11\n\s+runs here\n/);
    assert.match(text, /odd-model:latest\s+\(llama, [\d.]+ MiB, context 4,096\)\n\s+weights: .*\n\s+does not run here: .*'blk\.0\.attn_sinks\.weight'/);
    assert.match(text, /Qwen\/Qwen3-Tiny-GGUF\/qwen3-tiny-f16\.gguf\s+\(qwen3, /);
    const stretched = await run(['models', '--rope-scaling', 'yarn', '--rope-scale', '4']);
    assert.match(stretched, /qwen2\.5-coder:1\.5b\s+\(qwen2, [\d.]+ MiB, context 131,072\)/);
  });
});
