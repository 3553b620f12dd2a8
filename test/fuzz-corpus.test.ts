// The model-loader fuzzer's committed inputs (native/fuzz/): the seed corpus is
// what its generator writes; its valid files load and run; every broken file,
// and every input the fuzzer once crashed on (native/fuzz/regressions/, each
// named for its finding), is refused with an EngineError that names the file.
// native/tools/run_sanitizers.sh replays the same files under ASan and UBSan.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Engine, EngineError } from '../server/src/engine';
import { FUZZ_CORPUS_DIR, fuzzSeedFileName, fuzzSeeds } from './fixtures/fuzz-corpus';

const REGRESSIONS_DIR = path.join(FUZZ_CORPUS_DIR, '..', 'regressions');
const LOAD = { backend: 'cpu', threads: 1 } as const;

function committed(dir: string, prefix: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.gguf'))
    .sort()
    .map((name) => path.join(dir, name));
}

async function expectRefusal(file: string): Promise<void> {
  let model: Awaited<ReturnType<typeof Engine.load>> | undefined;
  try {
    model = await Engine.load(file, LOAD);
    const prefix = await model.prefill([0, model.info.vocab - 1], { capacity: 8 });
    prefix.dispose();
  } catch (error) {
    assert.ok(error instanceof EngineError, `${path.basename(file)}: ${String(error)}`);
    assert.ok(['INVALID_FILE', 'UNSUPPORTED_MODEL'].includes(error.code), `${path.basename(file)}: ${error.code} ${error.message}`);
    assert.ok(error.message.includes(file), `the message names the file: ${error.message}`);
    return;
  } finally {
    model?.dispose();
  }
  assert.fail(`${path.basename(file)} loaded and ran; it should have been refused`);
}

describe('the model-loader fuzzer\'s committed inputs', function () {
  this.timeout(120_000);

  it('the seed corpus is what test/fixtures/fuzz-corpus.ts writes', () => {
    const seeds = fuzzSeeds();
    const names = seeds.map(fuzzSeedFileName).sort();
    assert.deepStrictEqual(committed(FUZZ_CORPUS_DIR, ''), names.map((name) => path.join(FUZZ_CORPUS_DIR, name)));
    for (const seed of seeds) {
      const stored = fs.readFileSync(path.join(FUZZ_CORPUS_DIR, fuzzSeedFileName(seed)));
      assert.ok(stored.equals(seed.bytes), `${fuzzSeedFileName(seed)} differs: run node out/test/fixtures/fuzz-corpus.js`);
    }
  });

  it('every valid seed loads and runs', async () => {
    const files = committed(FUZZ_CORPUS_DIR, 'valid-');
    assert.ok(files.length >= 5, `${files.length} valid seeds`);
    for (const file of files) {
      const model = await Engine.load(file, LOAD);
      try {
        const prefix = await model.prefill([0, model.info.vocab - 1], { capacity: 8 });
        prefix.dispose();
      } finally {
        model.dispose();
      }
    }
  });

  it('every broken seed and every regression input is refused with an EngineError naming the file', async () => {
    const files = [...committed(FUZZ_CORPUS_DIR, 'broken-'), ...committed(REGRESSIONS_DIR, '')];
    assert.ok(files.length >= 10, `${files.length} broken inputs`);
    for (const file of files) await expectRefusal(file);
  });

  it('refuses, by what is wrong, the head shapes that once reached undefined behaviour', async () => {
    const expected: ReadonlyArray<readonly [string, RegExp]> = [
      ['broken-heads-times-head-size-overflow.gguf', /65536 attention heads of size 65536, a projection wider than 2\^31 values/],
      ['broken-head-size-zero.gguf', /32 attention heads for an embedding length of 16: a head size of 0/],
    ];
    for (const [name, message] of expected) {
      await assert.rejects(Engine.load(path.join(FUZZ_CORPUS_DIR, name), LOAD), (error: unknown) => {
        assert.ok(error instanceof EngineError && error.code === 'INVALID_FILE', String(error));
        assert.match(error.message, message);
        return true;
      });
    }
  });
});

// The prompt-cache fuzzer's committed inputs (native/fuzz/prefix-corpus, written by
// SNAPKV_FUZZ_WRITE_PREFIX_CORPUS=DIR snapkv-fuzz-prefix for the model below): the valid caches
// still load with today's engine (a format change that leaves them stale fails here, not silently in
// the fuzzer), and every broken one and every regression input is refused with a message naming it.
describe('the prompt-cache fuzzer\'s committed inputs', function () {
  this.timeout(120_000);
  const PREFIX_CORPUS_DIR = path.join(FUZZ_CORPUS_DIR, '..', 'prefix-corpus');
  const PREFIX_REGRESSIONS_DIR = path.join(FUZZ_CORPUS_DIR, '..', 'prefix-regressions');
  const caches = (dir: string, prefix: string): string[] =>
    (fs.existsSync(dir) ? fs.readdirSync(dir) : []).filter((n) => n.startsWith(prefix) && n.endsWith('.snapkvpc')).sort().map((n) => path.join(dir, n));

  it('the valid caches load for their model and take more tokens; the broken ones are refused by name', async () => {
    const model = await Engine.load(path.join(FUZZ_CORPUS_DIR, 'valid-llama-f16-h16.gguf'), LOAD);
    try {
      const valid = caches(PREFIX_CORPUS_DIR, 'valid-');
      assert.deepStrictEqual(valid.map((f) => path.basename(f)), ['valid-1-tokens.snapkvpc', 'valid-24-tokens.snapkvpc', 'valid-5-tokens.snapkvpc']);
      for (const file of valid) {
        const prefix = await model.loadPrefix(file, { extraCapacity: 1 });
        try {
          assert.strictEqual(prefix.length, Number(/valid-(\d+)-tokens/.exec(file)?.[1]));
          await prefix.extend([0]);
        } finally {
          prefix.dispose();
        }
      }
      const broken = [...caches(PREFIX_CORPUS_DIR, 'broken-'), ...caches(PREFIX_REGRESSIONS_DIR, '')];
      assert.ok(broken.length >= 5, `${broken.length} broken caches`);
      for (const file of broken) {
        await assert.rejects(model.loadPrefix(file, { extraCapacity: 1 }), (error: unknown) => {
          assert.ok(error instanceof EngineError, `${path.basename(file)}: ${String(error)}`);
          assert.strictEqual(error.code, 'INVALID_FILE', `${path.basename(file)}: ${error.message}`);
          assert.ok(error.message.includes(file), `the message names the file: ${error.message}`);
          return true;
        });
      }
    } finally {
      model.dispose();
    }
  });
});
