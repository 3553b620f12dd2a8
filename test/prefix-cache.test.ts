// The full prompt cache (PrefixCache): truncate and extend, save and
// loadPrefix, the files loadPrefix refuses, and its statistics.
//
// The engine's CPU arithmetic is batch-invariant, so every "same logits"
// below is demanded bit for bit.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Engine, EngineError, Model, PrefixCache } from '../server/src/engine';
import { promptTokens, tinyModelSpec, TinyModelSpec, writeTinyModel, WrittenTinyModel } from './fixtures/tiny-models';
import { codeOf, collect, rejectsWith, throwsWith } from './helpers/async-helpers';
import { assertBitwiseEqual, rows } from './helpers/bitwise';
import { useTempDir } from './helpers/temp-dir';
import { SeededRandom } from './fixtures/seeded-random';

/** Byte offset of the u32 format version in a prompt cache file (after the 8-byte magic). */
const VERSION_OFFSET = 8;
/** Byte offset of the first token id: the header is 72 bytes. */
const TOKENS_OFFSET = 72;

describe('prefix cache', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('prefix');

  // Two architectures for the equality tests; the first is also the model the
  // refusals are checked against.
  const specs: Record<string, TinyModelSpec> = {
    qwen2: tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true }),
    llama: tinyModelSpec({ arch: 'llama', weightType: 'F16' }),
  };
  const fixtures = new Map<string, WrittenTinyModel>();
  const models = new Map<string, Model>();
  let main: Model;
  let mainFixture: WrittenTinyModel;
  let file = 0;
  const cacheFile = (name: string): string => path.join(tempDir(), `${name}-${file++}.snapkvpc`);

  before(async () => {
    for (const [name, spec] of Object.entries(specs)) {
      const fixture = writeTinyModel(spec, tempDir());
      fixtures.set(name, fixture);
      // The bitwise equalities between decode steps (one token) and prefills
      // (batches) hold on the fast path for every weight type (snapkv-unit-test
      // checks each token alone against its batch, F16 and BF16 included), so
      // both models run it.
      models.set(name, await Engine.load(fixture.path, { backend: 'cpu', threads: 2, kvType: 'f32' }));
    }
    main = models.get('qwen2')!;
    mainFixture = fixtures.get('qwen2')!;
  });
  after(() => {
    for (const model of models.values()) model.dispose();
  });

  function bytesPerToken(model: Model, heads = model.info.kvHeads): number {
    return model.info.layers * heads * model.info.headDim * 2 * 4;
  }

  function assertFullStats(prefix: PrefixCache, model: Model, tokens: number): void {
    const stats = prefix.stats();
    assert.strictEqual(stats.tokens, tokens, 'tokens');
    assert.strictEqual(prefix.length, tokens, 'length');
    assert.strictEqual(stats.nextPosition, tokens, 'nextPosition');
    assert.strictEqual(stats.cacheHeads, model.info.kvHeads, 'cacheHeads');
    assert.strictEqual(stats.usedBytes, model.info.layers * model.info.kvHeads * tokens * model.info.headDim * 2 * 4, 'usedBytes');
  }

  for (const name of Object.keys(specs)) {
    describe(`truncate and extend (${name})`, () => {
      let model: Model;
      before(() => {
        model = models.get(name)!;
      });

      it('truncate then extend gives the logits of a fresh prefill, bit for bit', async () => {
        const head = promptTokens(30, 101);
        const oldTail = promptTokens(18, 102);
        const newTail = promptTokens(22, 103);
        const edited = [...head, ...newTail];
        const vocab = model.info.vocab;

        const fresh = await model.prefill(edited, { logits: 'all' });
        assert.ok(fresh.logits && fresh.logits.length === edited.length * vocab);

        const prefix = await model.prefill([...head, ...oldTail]);
        prefix.truncate(head.length);
        const extended = await prefix.extend(newTail, { logits: 'all' });
        assert.ok(extended, 'extend returned no logits');
        assert.strictEqual(extended.length, newTail.length * vocab);
        assertBitwiseEqual(extended, rows(fresh.logits, head.length, edited.length, vocab), 'logits of the new tail');
        assertBitwiseEqual(prefix.lastLogits(), fresh.lastLogits(), 'lastLogits');
        assertBitwiseEqual(prefix.lastLogits(), rows(fresh.logits, edited.length - 1, edited.length, vocab), 'lastLogits vs last row');
        assert.deepStrictEqual(Array.from(prefix.tokens()), edited);
        assertFullStats(prefix, model, edited.length);

        // Truncating to nothing and prefilling again through extend matches as well.
        prefix.truncate(0);
        assert.strictEqual(prefix.length, 0);
        assert.strictEqual(prefix.tokens().length, 0);
        const all = await prefix.extend(edited, { logits: 'all', chunkTokens: 7 });
        assertBitwiseEqual(all, fresh.logits, 'logits after truncate(0) and extend');

        // And generation continues the same way.
        const a = await collect(prefix.generate({ maxTokens: 8 }));
        const b = await collect(fresh.generate({ maxTokens: 8 }));
        assert.deepStrictEqual(a, b);
        assertBitwiseEqual(prefix.lastLogits(), fresh.lastLogits(), 'lastLogits after generating');
        prefix.dispose();
        fresh.dispose();
      });

      it('truncating a cache that has generated tokens cuts them off exactly', async () => {
        const prompt = promptTokens(24, 104);
        const prefix = await model.prefill(prompt);
        const generated = await collect(prefix.generate({ maxTokens: 6 }));
        assert.strictEqual(prefix.length, prompt.length + 6);
        assert.deepStrictEqual(Array.from(prefix.tokens()), [...prompt, ...generated]);
        prefix.truncate(prompt.length + 2);
        const tail = promptTokens(5, 105);
        const logits = await prefix.extend(tail, { logits: 'all' });
        const fresh = await model.prefill([...prompt, ...generated.slice(0, 2), ...tail], { logits: 'all' });
        assertBitwiseEqual(logits, rows(fresh.logits!, prompt.length + 2, prompt.length + 2 + tail.length, model.info.vocab), 'logits');
        prefix.dispose();
        fresh.dispose();
      });
    });
  }

  describe('truncate', () => {
    it('to the full length is a no-op', async () => {
      const prompt = promptTokens(20, 110);
      const prefix = await main.prefill(prompt);
      const before = prefix.lastLogits();
      prefix.truncate(prompt.length);
      assert.strictEqual(prefix.length, prompt.length);
      assert.deepStrictEqual(Array.from(prefix.tokens()), prompt);
      assertBitwiseEqual(prefix.lastLogits(), before, 'lastLogits kept');
      // Generation still continues from the prompt.
      const fresh = await main.prefill(prompt);
      assert.deepStrictEqual(await collect(prefix.generate({ maxTokens: 4 })), await collect(fresh.generate({ maxTokens: 4 })));
      prefix.dispose();
      fresh.dispose();
    });

    it('beyond the length, negative or fractional is refused and leaves the cache as it was', async () => {
      const prompt = promptTokens(20, 111);
      const prefix = await main.prefill(prompt);
      const before = prefix.lastLogits();
      const beyond = throwsWith(() => prefix.truncate(21), EngineError, /cannot truncate a cache of 20 tokens to 21/);
      assert.strictEqual(beyond.code, 'INVALID_ARGUMENT');
      for (const bad of [-1, 2.5, Number.NaN, Infinity]) {
        const error = throwsWith(() => prefix.truncate(bad), EngineError, /whole number of tokens/);
        assert.strictEqual(error.code, 'INVALID_ARGUMENT', `truncate(${bad})`);
      }
      assert.strictEqual(prefix.length, prompt.length);
      assert.deepStrictEqual(Array.from(prefix.tokens()), prompt);
      assertBitwiseEqual(prefix.lastLogits(), before, 'lastLogits untouched');
      prefix.dispose();
    });

    it('cuts tokens(), clears lastLogits(), and generation without an extend says what to do', async () => {
      const prompt = promptTokens(20, 112);
      const prefix = await main.prefill(prompt);
      prefix.truncate(12);
      assert.strictEqual(prefix.lastLogits(), null);
      assert.deepStrictEqual(Array.from(prefix.tokens()), prompt.slice(0, 12));
      assertFullStats(prefix, main, 12);
      const error = await rejectsWith(collect(prefix.generate({ maxTokens: 3 })), EngineError, /nothing to continue from/);
      assert.strictEqual(error.code, 'INVALID_ARGUMENT');
      // The refused generation did not leave the cache busy or changed.
      assert.strictEqual(prefix.length, 12);
      await prefix.extend(prompt.slice(12));
      const fresh = await main.prefill(prompt);
      assertBitwiseEqual(prefix.lastLogits(), fresh.lastLogits(), 'lastLogits after extending back');
      assert.deepStrictEqual(await collect(prefix.generate({ maxTokens: 4 })), await collect(fresh.generate({ maxTokens: 4 })));
      prefix.dispose();
      fresh.dispose();
    });

    it('is refused while the cache is being extended', async () => {
      const prefix = await main.prefill([1, 2, 3]);
      const running = prefix.extend(promptTokens(400, 113), { chunkTokens: 32 });
      const error = throwsWith(() => prefix.truncate(1), EngineError, /in use/);
      assert.strictEqual(error.code, 'BUSY');
      await running;
      prefix.truncate(1);
      assert.strictEqual(prefix.length, 1);
      prefix.dispose();
    });
  });

  describe('stats', () => {
    it('counts tokens and f32 key/value bytes as the cache grows and shrinks', async () => {
      const capacity = 200;
      const prefix = await main.prefill(promptTokens(37, 120), { capacity });
      assertFullStats(prefix, main, 37);
      const stats = prefix.stats();
      assert.strictEqual(stats.capacity, capacity);
      assert.strictEqual(stats.capacityBytes, capacity * bytesPerToken(main));
      assert.strictEqual(stats.usedBytes, 37 * bytesPerToken(main));
      await prefix.extend(promptTokens(11, 121));
      assertFullStats(prefix, main, 48);
      await collect(prefix.generate({ maxTokens: 5 }));
      assertFullStats(prefix, main, 53);
      prefix.truncate(20);
      assertFullStats(prefix, main, 20);
      assert.strictEqual(prefix.stats().capacity, capacity);
      prefix.dispose();
    });
  });

  for (const name of Object.keys(specs)) {
    describe(`save and loadPrefix (${name})`, () => {
      let model: Model;
      before(() => {
        model = models.get(name)!;
      });

      it('a loaded cache holds the same tokens and logits and extends the same way, bit for bit', async () => {
        const prompt = promptTokens(45, 130);
        const original = await model.prefill(prompt);
        const file = cacheFile(name);
        await original.save(file);
        const loaded = await model.loadPrefix(file);
        assert.deepStrictEqual(Array.from(loaded.tokens()), prompt);
        assert.deepStrictEqual(loaded.tokens(), original.tokens());
        assertBitwiseEqual(loaded.lastLogits(), original.lastLogits(), 'lastLogits');
        assertBitwiseEqual(loaded.logits, original.lastLogits(), 'loaded.logits');
        assertFullStats(loaded, model, prompt.length);

        const more = promptTokens(19, 131);
        const a = await original.extend(more, { logits: 'all' });
        const b = await loaded.extend(more, { logits: 'all', chunkTokens: 5 });
        assertBitwiseEqual(b, a, 'logits of the extension');
        assertBitwiseEqual(loaded.lastLogits(), original.lastLogits(), 'lastLogits after extend');
        assert.deepStrictEqual(loaded.tokens(), original.tokens());
        assert.deepStrictEqual(await collect(loaded.generate({ maxTokens: 6 })), await collect(original.generate({ maxTokens: 6 })));
        assertBitwiseEqual(loaded.lastLogits(), original.lastLogits(), 'lastLogits after generating');
        original.dispose();
        loaded.dispose();
      });

      it('a loaded cache answers a question with the same kept positions and logits', async () => {
        const prompt = promptTokens(80, 132);
        const question = promptTokens(12, 133);
        const options = { window: 16, budget: 40, kernel: 5 } as const;
        const original = await model.prefill(prompt);
        const file = cacheFile(name);
        await original.save(file);
        const loaded = await model.loadPrefix(file);
        const a = await original.query(question, options);
        const b = await loaded.query(question, options);
        assert.strictEqual(b.promptLength, prompt.length + question.length);
        const keptA = a.kept();
        const keptB = b.kept();
        assert.strictEqual(keptB.length, model.info.layers);
        assert.deepStrictEqual(keptB, keptA);
        // Not a keep-everything selection: the budget bites.
        assert.strictEqual(keptB[0][0].positions.length, options.budget);
        keptA.forEach((layer, l) =>
          layer.forEach((head, h) => assertBitwiseEqual(keptB[l][h].scores, head.scores, `scores of layer ${l} head ${h}`)),
        );
        assertBitwiseEqual(b.lastLogits(), a.lastLogits(), 'lastLogits of the question');
        assert.deepStrictEqual(await collect(b.generate({ maxTokens: 6 })), await collect(a.generate({ maxTokens: 6 })));
        assertBitwiseEqual(b.lastLogits(), a.lastLogits(), 'lastLogits after generating');
        for (const c of [a, b, original, loaded]) c.dispose();
      });

      it('a cache saved right after a truncation has no logits and extends like the original', async () => {
        const prompt = promptTokens(30, 134);
        const original = await model.prefill(prompt);
        original.truncate(17);
        const file = cacheFile(name);
        await original.save(file);
        const loaded = await model.loadPrefix(file);
        assert.strictEqual(loaded.lastLogits(), null);
        assert.strictEqual(loaded.logits, null);
        assert.deepStrictEqual(Array.from(loaded.tokens()), prompt.slice(0, 17));
        await rejectsWith(collect(loaded.generate({ maxTokens: 1 })), EngineError, /nothing to continue from/);
        const tail = promptTokens(6, 135);
        assertBitwiseEqual(await loaded.extend(tail, { logits: 'all' }), await original.extend(tail, { logits: 'all' }), 'logits');
        original.dispose();
        loaded.dispose();
      });
    });
  }

  describe('loadPrefix capacity', () => {
    it('leaves extraCapacity tokens of room, and no more', async () => {
      const prompt = promptTokens(10, 140);
      const original = await main.prefill(prompt);
      const file = cacheFile('capacity');
      await original.save(file);
      original.dispose();
      const loaded = await main.loadPrefix(file, { extraCapacity: 4 });
      assert.strictEqual(loaded.stats().capacity, 14);
      await loaded.extend([1, 2, 3, 4]);
      const error = await rejectsWith(loaded.extend([5]), EngineError, /larger capacity/);
      assert.strictEqual(error.code, 'CAPACITY_EXCEEDED');
      loaded.dispose();
      const negative = await rejectsWith(main.loadPrefix(file, { extraCapacity: -1 }), EngineError, /extra capacity/);
      assert.strictEqual(negative.code, 'INVALID_ARGUMENT');
    });
  });

  describe('refused files', () => {
    let saved: string;
    let savedBytes: Buffer;

    before(async () => {
      const prefix = await main.prefill(promptTokens(40, 150));
      saved = cacheFile('good');
      await prefix.save(saved);
      prefix.dispose();
      savedBytes = fs.readFileSync(saved);
    });

    function variant(name: string, bytes: Buffer | string): string {
      const file = cacheFile(name);
      fs.writeFileSync(file, bytes);
      return file;
    }

    async function refused(file: string, pattern: RegExp, code = 'INVALID_FILE', model = main): Promise<EngineError> {
      const error = await rejectsWith(model.loadPrefix(file), EngineError, pattern);
      assert.strictEqual(error.code, code);
      return error;
    }

    it('the unmodified file loads (the refusals below are caused by the change)', async () => {
      const loaded = await main.loadPrefix(variant('copy', Buffer.from(savedBytes)));
      assert.strictEqual(loaded.length, 40);
      loaded.dispose();
    });

    it('a cache of a model with other weights (another seed) is refused as another model', async () => {
      const spec = { ...specs.qwen2, seed: 2 };
      const other = writeTinyModel(spec, tempDir());
      assert.notStrictEqual(other.path, mainFixture.path);
      const otherModel = await Engine.load(other.path, { backend: 'cpu', threads: 2, kvType: 'f32' });
      try {
        const error = await refused(saved, /another model/, 'INVALID_FILE', otherModel);
        assert.match(error.message, /prefill the prompt again/);
        // And the other way round.
        const theirs = await otherModel.prefill(promptTokens(8, 151));
        const file = cacheFile('seed2');
        await theirs.save(file);
        theirs.dispose();
        await refused(file, /another model/);
      } finally {
        otherModel.dispose();
      }
    });

    it('a cache of a model of another shape is refused as another model', async () => {
      const llama = models.get('llama')!;
      await refused(saved, /another model/, 'INVALID_FILE', llama);
      const shaped = writeTinyModel({ ...specs.qwen2, layers: 3, kvHeads: 1 }, tempDir());
      const shapedModel = await Engine.load(shaped.path, { backend: 'cpu', threads: 2, kvType: 'f32' });
      try {
        await refused(saved, /another model/, 'INVALID_FILE', shapedModel);
      } finally {
        shapedModel.dispose();
      }
    });

    it('a file of another format version is refused, naming the versions', async () => {
      assert.strictEqual(savedBytes.readUInt32LE(VERSION_OFFSET), 2, 'the saved file is version 2');
      const bytes = Buffer.from(savedBytes);
      bytes.writeUInt32LE(1, VERSION_OFFSET);
      const error = await refused(variant('version1', bytes), /version 1/);
      assert.match(error.message, /reads version 2/);
      bytes.writeUInt32LE(0, VERSION_OFFSET);
      await refused(variant('version0', bytes), /version 0/);
    });

    it('a truncated file is refused', async () => {
      await refused(variant('short-data', savedBytes.subarray(0, savedBytes.length - 100)), /truncated or corrupt/);
      await refused(variant('one-byte-short', savedBytes.subarray(0, savedBytes.length - 1)), /truncated or corrupt/);
      await refused(variant('header-only', savedBytes.subarray(0, 80)), /truncated or corrupt/);
      // Shorter than the header: not recognisable as a cache at all.
      await refused(variant('ten-bytes', savedBytes.subarray(0, 10)), /not a snapkv prompt cache/);
      await refused(variant('empty', Buffer.alloc(0)), /not a snapkv prompt cache/);
    });

    it('a file with extra bytes or corrupted tokens is refused', async () => {
      await refused(variant('longer', Buffer.concat([savedBytes, Buffer.alloc(4)])), /truncated or corrupt/);
      const bytes = Buffer.from(savedBytes);
      // The first token id sits right after the 72-byte header.
      bytes.writeInt32LE(bytes.readInt32LE(TOKENS_OFFSET) ^ 1, TOKENS_OFFSET);
      await refused(variant('bad-token', bytes), /corrupt/);
    });

    it('a flipped bit anywhere in the keys, values or logits fails the checksum', async () => {
      const random = new SeededRandom(66);
      // Past the header and tokens: the logits and the KV rows, which the token hash does not cover.
      for (let i = 0; i < 8; i++) {
        const bytes = Buffer.from(savedBytes);
        const at = random.integer(TOKENS_OFFSET + 40 * 4, bytes.length);
        bytes[at] ^= 1 << random.integer(0, 8);
        await refused(variant(`flip-${i}`, bytes), /checksum does not match/);
      }
    });

    it('is written readable by its owner only (0600)', function () {
      if (process.platform === 'win32') this.skip();
      assert.strictEqual(fs.statSync(saved).mode & 0o777, 0o600);
    });

    it('a file that is not a cache is refused', async () => {
      await refused(mainFixture.path, /not a snapkv prompt cache/);
      await refused(variant('text', 'hello, this is not a KV cache at all, not even close to one.\n'.repeat(10)), /not a snapkv prompt cache/);
    });

    it('a missing file, or a folder, is an IO_ERROR', async () => {
      const missing = path.join(tempDir(), 'no-such-cache.snapkvpc');
      const error = await refused(missing, /cannot open/, 'IO_ERROR');
      assert.ok(error.message.includes(missing), 'the message names the file');
      await refused(tempDir(), /not a regular file/, 'IO_ERROR');
    });
  });

  describe('atomic save', () => {
    const partials = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.partial'));

    it('leaves no .partial file, and overwriting an existing save replaces it', async () => {
      const dir = fs.mkdtempSync(path.join(tempDir(), 'atomic-'));
      const file = path.join(dir, 'repo.snapkvpc');
      const first = await main.prefill(promptTokens(25, 160));
      await first.save(file);
      assert.deepStrictEqual(fs.readdirSync(dir), ['repo.snapkvpc']);

      const second = await main.prefill(promptTokens(33, 161));
      await second.save(file);
      assert.deepStrictEqual(fs.readdirSync(dir), ['repo.snapkvpc']);
      const loaded = await main.loadPrefix(file);
      assert.deepStrictEqual(loaded.tokens(), second.tokens());
      assertBitwiseEqual(loaded.lastLogits(), second.lastLogits(), 'lastLogits of the second save');

      // Saving over the file that a loaded cache came from is fine too.
      await first.save(file);
      const reloaded = await main.loadPrefix(file);
      assert.deepStrictEqual(reloaded.tokens(), first.tokens());
      assert.deepStrictEqual(loaded.tokens(), second.tokens(), 'the earlier load holds its own copy');
      for (const c of [first, second, loaded, reloaded]) c.dispose();
    });

    it('a failed save is an IO_ERROR and leaves the previous file intact', async () => {
      const dir = fs.mkdtempSync(path.join(tempDir(), 'failed-'));
      const file = path.join(dir, 'repo.snapkvpc');
      const first = await main.prefill(promptTokens(25, 162));
      await first.save(file);
      const before = fs.readFileSync(file);
      // The temporary file cannot be created where a folder of its name stands.
      fs.mkdirSync(`${file}.partial`);
      const second = await main.prefill(promptTokens(30, 163));
      const error = await rejectsWith(second.save(file), EngineError, /cannot write/);
      assert.strictEqual(error.code, 'IO_ERROR');
      assert.ok(fs.readFileSync(file).equals(before), 'the previous save is unchanged');
      const loaded = await main.loadPrefix(file);
      assert.deepStrictEqual(loaded.tokens(), first.tokens());
      fs.rmdirSync(`${file}.partial`);
      await second.save(file);
      assert.deepStrictEqual(partials(dir), []);
      const missingDir = await rejectsWith(second.save(path.join(dir, 'no', 'such', 'dir.snapkvpc')), EngineError, /cannot write/);
      assert.strictEqual(missingDir.code, 'IO_ERROR');
      assert.deepStrictEqual(partials(dir), []);
      for (const c of [first, second, loaded]) c.dispose();
    });

    it('the cache cannot change while it is being saved', async () => {
      const prefix = await main.prefill(promptTokens(20, 164));
      const file = cacheFile('busy');
      const saving = prefix.save(file);
      const extend = await rejectsWith(prefix.extend([1]), EngineError, /being read/);
      assert.strictEqual(extend.code, 'BUSY');
      assert.strictEqual(codeOf(throwsWith(() => prefix.truncate(3), EngineError, /being read/)), 'BUSY');
      await saving;
      const loaded = await main.loadPrefix(file);
      assert.deepStrictEqual(loaded.tokens(), prefix.tokens());
      await prefix.extend([1]);
      for (const c of [prefix, loaded]) c.dispose();
    });
  });
});
