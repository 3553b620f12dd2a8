// The SnapKV-compressed cache (CompactCache) made by PrefixCache.query and
// Model.compressOneShot: exactness when nothing is dropped, its size,
// parameter checks, many questions over one prefix at once, cancellation and
// progress.
//
// The engine's CPU arithmetic is batch-invariant, so every "same logits"
// below is demanded bit for bit.
import * as assert from 'assert';
import * as path from 'path';
import { AbortError, CompactCache, Engine, EngineError, Model, PrefixCache, QueryOptions } from '../server/src/engine';
import { promptTokens, tinyModelSpec, TinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { collect, rejectsWith, throwsWith } from './helpers/async-helpers';
import { assertBitwiseEqual } from './helpers/bitwise';
import { useTempDir } from './helpers/temp-dir';

describe('compact cache', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('compact');

  // Both have 4 query heads sharing 2 KV heads, so 'mean' and 'repeat' differ in size.
  const specs: Record<string, TinyModelSpec> = {
    qwen2: tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true }),
    llama: tinyModelSpec({ arch: 'llama', weightType: 'F16' }),
  };
  const models = new Map<string, Model>();
  let main: Model;

  before(async () => {
    for (const [name, spec] of Object.entries(specs)) {
      const fixture = writeTinyModel(spec, tempDir());
      models.set(name, await Engine.load(fixture.path, { backend: 'cpu', threads: 2, kvType: 'f32' }));
    }
    main = models.get('qwen2')!;
    assert.notStrictEqual(main.info.heads, main.info.kvHeads, 'the fixture must have grouped query heads');
  });
  after(() => {
    for (const model of models.values()) model.dispose();
  });

  function cacheHeadsOf(model: Model, gqa: QueryOptions['gqa']): number {
    return gqa === 'repeat' ? model.info.heads : model.info.kvHeads;
  }

  function kvBytes(model: Model, heads: number, tokens: number): number {
    return model.info.layers * heads * tokens * model.info.headDim * 2 * 4;
  }

  function assertCompactStats(compact: CompactCache, model: Model, heads: number, tokens: number, nextPosition: number): void {
    const stats = compact.stats();
    assert.strictEqual(stats.cacheHeads, heads, 'cacheHeads');
    assert.strictEqual(stats.tokens, tokens, 'tokens');
    assert.strictEqual(stats.nextPosition, nextPosition, 'nextPosition');
    assert.strictEqual(stats.usedBytes, kvBytes(model, heads, tokens), 'usedBytes');
  }

  /** Everything a question's answer is judged by. */
  interface Answer {
    kept: ReturnType<CompactCache['kept']>;
    firstLogits: Float32Array;
    tokens: number[];
    lastLogits: Float32Array;
  }

  function assertSameAnswer(actual: Answer, expected: Answer, what: string): void {
    assert.deepStrictEqual(actual.kept, expected.kept, `${what}: kept positions and scores`);
    assertBitwiseEqual(actual.firstLogits, expected.firstLogits, `${what}: logits after the question`);
    assert.deepStrictEqual(actual.tokens, expected.tokens, `${what}: generated tokens`);
    assertBitwiseEqual(actual.lastLogits, expected.lastLogits, `${what}: logits after generating`);
  }

  async function answer(prefix: PrefixCache, question: number[], options: QueryOptions, maxTokens: number): Promise<Answer> {
    const compact = await prefix.query(question, options);
    try {
      const kept = compact.kept();
      const firstLogits = compact.lastLogits()!;
      const tokens = await collect(compact.generate({ maxTokens }));
      return { kept, firstLogits, tokens, lastLogits: compact.lastLogits()! };
    } finally {
      compact.dispose();
    }
  }

  describe('a budget of at least the prompt length', () => {
    const prefixLength = 40;
    const questionLength = 12;
    const L = prefixLength + questionLength;
    const cases: Array<{ label: string; options: QueryOptions; keepAll: boolean }> = [
      { label: 'budget above L (keep all)', options: { budget: L + 12 }, keepAll: true },
      { label: 'budget above L, gqa repeat', options: { budget: 2048, gqa: 'repeat' }, keepAll: true },
      // budget == L runs the selection, which must then choose every position;
      // a window longer than the question re-runs the prefix's last tokens.
      { label: 'budget == L, window longer than the question', options: { budget: L, window: 16, kernel: 3 }, keepAll: false },
      { label: 'budget == L, gqa repeat, avg pooling', options: { budget: L, window: 8, gqa: 'repeat', pooling: 'avg' }, keepAll: false },
    ];

    for (const name of Object.keys(specs)) {
      for (const { label, options, keepAll } of cases) {
        it(`gives the full cache's logits bit for bit (${name}, ${label})`, async () => {
          const model = models.get(name)!;
          const context = promptTokens(prefixLength, 200);
          const question = promptTokens(questionLength, 201);
          const prefix = await model.prefill(context);
          const full = await model.prefill([...context, ...question]);
          const compact = await prefix.query(question, options);
          const heads = cacheHeadsOf(model, options.gqa);

          assert.strictEqual(compact.promptLength, L);
          assertBitwiseEqual(compact.lastLogits(), full.lastLogits(), 'logits after the question');
          assertCompactStats(compact, model, heads, L, L);
          assert.strictEqual(compact.stats().capacity, L + 1024, 'capacity: kept entries plus the default reserve');

          const kept = compact.kept();
          assert.strictEqual(kept.length, model.info.layers);
          const all = Array.from({ length: L }, (_, i) => i);
          kept.forEach((layer, l) => {
            assert.strictEqual(layer.length, heads, `layer ${l}: heads`);
            layer.forEach((head, h) => {
              assert.deepStrictEqual(Array.from(head.positions), all, `layer ${l} head ${h}: positions`);
              const scores = Array.from(head.scores);
              if (keepAll) {
                assert.ok(scores.every(Number.isNaN), `layer ${l} head ${h}: scores are NaN when everything fits`);
              } else {
                const window = options.window!;
                assert.ok(scores.slice(0, L - window).every(Number.isFinite), `layer ${l} head ${h}: pooled scores`);
                assert.ok(scores.slice(L - window).every((s) => s === Infinity), `layer ${l} head ${h}: window scores`);
              }
            });
          });

          const n = 16;
          const fromCompact = await collect(compact.generate({ maxTokens: n }));
          const fromFull = await collect(full.generate({ maxTokens: n }));
          assert.strictEqual(fromCompact.length, n);
          assert.deepStrictEqual(fromCompact, fromFull);
          assertBitwiseEqual(compact.lastLogits(), full.lastLogits(), 'logits after generating');
          assertCompactStats(compact, model, heads, L + n, L + n);
          assert.strictEqual(full.length, L + n);
          for (const c of [compact, full, prefix]) c.dispose();
        });
      }
    }
  });

  describe('size', () => {
    for (const gqa of ['mean', 'repeat'] as const) {
      it(`holds budget + generated entries per ${gqa === 'mean' ? 'KV' : 'query'} head (gqa ${gqa})`, async () => {
        const context = promptTokens(60, 210);
        const question = promptTokens(10, 211);
        const L = context.length + question.length;
        const budget = 24;
        const reserveTokens = 40;
        const prefix = await main.prefill(context);
        const compact = await prefix.query(question, { window: 8, budget, gqa, reserveTokens });
        const heads = cacheHeadsOf(main, gqa);
        assert.strictEqual(compact.stats().cacheHeads, gqa === 'repeat' ? main.info.heads : main.info.kvHeads);
        assert.strictEqual(compact.promptLength, L);
        assertCompactStats(compact, main, heads, budget, L);
        assert.strictEqual(compact.stats().capacity, budget + reserveTokens);
        assert.strictEqual(compact.stats().capacityBytes, kvBytes(main, heads, budget + reserveTokens));

        const kept = compact.kept();
        assert.strictEqual(kept.length, main.info.layers);
        for (const layer of kept) {
          assert.strictEqual(layer.length, heads);
          for (const head of layer) {
            assert.strictEqual(head.positions.length, budget);
            assert.deepStrictEqual(Array.from(head.positions.slice(budget - 8)), [62, 63, 64, 65, 66, 67, 68, 69]);
          }
        }

        await collect(compact.generate({ maxTokens: 5 }));
        assertCompactStats(compact, main, heads, budget + 5, L + 5);
        await collect(compact.generate({ maxTokens: 3 }));
        assertCompactStats(compact, main, heads, budget + 8, L + 8);
        assert.strictEqual(compact.promptLength, L, 'promptLength does not grow with generation');
        // The prefix is not the compact cache's storage.
        assert.strictEqual(prefix.length, context.length);
        assert.strictEqual(prefix.stats().usedBytes, kvBytes(main, main.info.kvHeads, context.length));
        compact.dispose();
        prefix.dispose();
      });
    }
  });

  describe('parameter checks', () => {
    let prefix: PrefixCache;
    before(async () => {
      prefix = await main.prefill(promptTokens(40, 220));
    });
    after(() => prefix.dispose());

    const question = promptTokens(8, 221);
    const invalid: Array<[string, QueryOptions, RegExp]> = [
      ['budget under the window', { window: 16, budget: 8 }, /budget \(8\) must be at least the window \(16\)/],
      ['window 0', { window: 0 }, /window must be at least 1/],
      ['window negative', { window: -3, budget: 16 }, /window must be at least 1/],
      ['kernel even', { kernel: 4 }, /kernel must be a positive odd number.*got 4/],
      ['kernel 0', { kernel: 0 }, /kernel must be a positive odd number.*got 0/],
      ['budget above the context length', { budget: 4097 }, /budget \(4097\) is above the model's context length \(4096\)/],
      ['reserveTokens negative', { reserveTokens: -1 }, /reserveTokens must not be negative/],
    ];

    for (const [label, options, pattern] of invalid) {
      it(`${label}: INVALID_ARGUMENT from query and compressOneShot`, async () => {
        const error = await rejectsWith(prefix.query(question, options), EngineError, pattern);
        assert.strictEqual(error.code, 'INVALID_ARGUMENT');
        const oneShot = await rejectsWith(main.compressOneShot(question, options), EngineError, pattern);
        assert.strictEqual(oneShot.code, 'INVALID_ARGUMENT');
        // The refused question left the prefix free.
        assert.strictEqual(prefix.length, 40);
        assert.strictEqual(prefix.stats().tokens, 40);
      });
    }

    // Option parsing in the binding refuses these before any work: plain
    // RangeErrors (no engine code), whose messages name the option.
    const malformed: Array<[string, QueryOptions, RegExp]> = [
      ['pooling of an unknown name', { pooling: 'median' as 'max' }, /pooling must be 'max' or 'avg'/],
      ['gqa of an unknown name', { gqa: 'group' as 'mean' }, /gqa must be 'mean' or 'repeat'/],
      ['fractional window', { window: 2.5 }, /option 'window' must be an integer/],
      ['fractional budget', { budget: 100.5 }, /option 'budget' must be an integer/],
      ['chunkTokens 0', { chunkTokens: 0 }, /chunkTokens must be positive/],
    ];
    for (const [label, options, pattern] of malformed) {
      it(`${label}: RangeError naming the option from query and compressOneShot`, async () => {
        await rejectsWith(prefix.query(question, options), RangeError, pattern);
        await rejectsWith(main.compressOneShot(question, options), RangeError, pattern);
      });
    }

    it('the limits themselves are accepted', async () => {
      for (const options of [{ window: 1, budget: 1, kernel: 1 }, { budget: 4096 }, { window: 8, budget: 8 }, { reserveTokens: 0 }]) {
        const compact = await prefix.query(question, options);
        assert.strictEqual(compact.promptLength, 48, JSON.stringify(options));
        compact.dispose();
      }
    });

    it('an empty question, or one outside the vocabulary, is refused', async () => {
      const empty = await rejectsWith(prefix.query([]), EngineError, /no tokens/);
      assert.strictEqual(empty.code, 'INVALID_ARGUMENT');
      const emptyTyped = await rejectsWith(prefix.query(new Int32Array(0)), EngineError, /no tokens/);
      assert.strictEqual(emptyTyped.code, 'INVALID_ARGUMENT');
      const outside = await rejectsWith(prefix.query([1, main.info.vocab]), EngineError, /vocabulary/);
      assert.strictEqual(outside.code, 'INVALID_ARGUMENT');
      await rejectsWith(main.compressOneShot([]), EngineError, /no tokens/);
    });

    it('a compact cache cannot be asked a question, truncated, extended or saved', async () => {
      const compact = await prefix.query(question, { window: 4, budget: 16 });
      // @ts-expect-error CompactCache has no query: questions are asked of the full prefix.
      assert.strictEqual(compact.query, undefined);
      // @ts-expect-error CompactCache has no extend.
      assert.strictEqual(compact.extend, undefined);
      // @ts-expect-error CompactCache has no truncate.
      assert.strictEqual(compact.truncate, undefined);
      // @ts-expect-error CompactCache has no save.
      assert.strictEqual(compact.save, undefined);
      // Below the types, the addon's compact cache has none of them either.
      for (const name of ['query', 'extend', 'truncate', 'save', 'tokens']) {
        assert.strictEqual((compact.native as unknown as Record<string, unknown>)[name], undefined, name);
      }
      compact.dispose();
    });
  });

  describe('many questions over one prefix', () => {
    const options: QueryOptions = { window: 16, budget: 48, kernel: 5 };
    const context = promptTokens(160, 230);
    const questions = [promptTokens(20, 231), promptTokens(33, 232), promptTokens(47, 233)];

    it('live and generate at the same time independently; disposing one leaves the rest and the prefix untouched', async () => {
      const prefix = await main.prefill(context);
      const prefixTokens = prefix.tokens();
      const prefixLogits = prefix.lastLogits();

      // Asked at once: the prefix is only read.
      const compacts = await Promise.all(questions.map((q) => prefix.query(q, options)));
      const kept = compacts.map((c) => c.kept());
      const firstLogits = compacts.map((c) => c.lastLogits()!);
      const round1 = await Promise.all(compacts.map((c) => collect(c.generate({ maxTokens: 6 }))));
      const afterRound1 = compacts.map((c) => c.lastLogits()!);

      // Generation goes on in two of them while the third is disposed.
      const round2Running = Promise.all([compacts[0], compacts[2]].map((c) => collect(c.generate({ maxTokens: 6 }))));
      compacts[1].dispose();
      const round2 = await round2Running;
      const disposed = throwsWith(() => compacts[1].stats(), EngineError, /disposed/);
      assert.strictEqual(disposed.code, 'DISPOSED');
      await rejectsWith(collect(compacts[1].generate({ maxTokens: 1 })), EngineError, /disposed/);
      throwsWith(() => compacts[1].kept(), EngineError, /disposed/);

      // The prefix is as it was.
      assert.strictEqual(prefix.length, context.length);
      assert.deepStrictEqual(prefix.tokens(), prefixTokens);
      assertBitwiseEqual(prefix.lastLogits(), prefixLogits, 'prefix lastLogits');

      // Each equals the same question asked alone afterwards, on a fresh compact cache.
      for (const i of [0, 2]) {
        const alone = await answer(prefix, questions[i], options, 12);
        const together: Answer = {
          kept: kept[i],
          firstLogits: firstLogits[i],
          tokens: [...round1[i], ...round2[i === 0 ? 0 : 1]],
          lastLogits: compacts[i].lastLogits()!,
        };
        assertSameAnswer(together, alone, `question ${i}`);
      }
      const alone1 = await answer(prefix, questions[1], options, 6);
      assertSameAnswer({ kept: kept[1], firstLogits: firstLogits[1], tokens: round1[1], lastLogits: afterRound1[1] }, alone1, 'question 1');
      // The three questions did select differently (the comparison above is not vacuous).
      assert.notDeepStrictEqual(kept[0], kept[2]);
      compacts[0].dispose();
      compacts[2].dispose();
      prefix.dispose();
    });

    it('a compact cache outlives its prefix', async () => {
      const prefix = await main.prefill(context);
      const compact = await prefix.query(questions[0], options);
      const expected = await answer(prefix, questions[0], options, 8);
      const kept = compact.kept();
      const firstLogits = compact.lastLogits()!;
      prefix.dispose();
      const tokens = await collect(compact.generate({ maxTokens: 8 }));
      assertSameAnswer({ kept, firstLogits, tokens, lastLogits: compact.lastLogits()! }, expected, 'after the prefix was disposed');
      compact.dispose();
    });

    it('the prefix cannot change while a question runs, and can afterwards', async () => {
      const prefix = await main.prefill(context);
      const expected = await answer(prefix, questions[2], options, 4);
      const long = promptTokens(600, 234);
      const running = prefix.query(long, { ...options, chunkTokens: 32 });
      // All synchronous: the question holds the prefix from the call on.
      const extend = prefix.extend([1, 2]);
      const truncate = throwsWith(() => prefix.truncate(10), EngineError, /being read/);
      assert.strictEqual(truncate.code, 'BUSY');
      const generate = collect(prefix.generate({ maxTokens: 1 }));
      // Another question, and a save, only read it: they may run meanwhile.
      const alongside = answer(prefix, questions[2], options, 4);
      const file = path.join(tempDir(), 'while-query.snapkvpc');
      const saving = prefix.save(file);

      const extendError = await rejectsWith(extend, EngineError, /being read/);
      assert.strictEqual(extendError.code, 'BUSY');
      assert.strictEqual((await rejectsWith(generate, EngineError, /being read/)).code, 'BUSY');
      assertSameAnswer(await alongside, expected, 'question asked alongside');
      await saving;
      const compact = await running;
      assert.strictEqual(compact.promptLength, context.length + long.length);
      compact.dispose();

      // Free again.
      await prefix.extend([1, 2]);
      assert.strictEqual(prefix.length, context.length + 2);
      prefix.truncate(context.length);
      const loaded = await main.loadPrefix(file);
      assert.deepStrictEqual(loaded.tokens(), prefix.tokens());
      assertSameAnswer(await answer(loaded, questions[2], options, 4), expected, 'question asked of the file saved meanwhile');
      loaded.dispose();
      prefix.dispose();
    });

    it('a question is refused while the prefix is being extended', async () => {
      const prefix = await main.prefill(promptTokens(16, 235));
      const extending = prefix.extend(promptTokens(400, 236), { chunkTokens: 32 });
      const error = await rejectsWith(prefix.query(questions[0], options), EngineError, /in use/);
      assert.strictEqual(error.code, 'BUSY');
      await extending;
      const compact = await prefix.query(questions[0], options);
      assert.strictEqual(compact.promptLength, 416 + questions[0].length);
      compact.dispose();
      prefix.dispose();
    });
  });

  describe('cancellation and progress', () => {
    const options: QueryOptions = { window: 16, budget: 48, kernel: 5 };

    function monotone(values: number[]): boolean {
      return values.every((v, i) => i === 0 || v >= values[i - 1]);
    }

    it('a question reports progress, rising to the total', async () => {
      const prefix = await main.prefill(promptTokens(64, 240));
      const question = promptTokens(300, 241);
      const done: number[] = [];
      const totals = new Set<number>();
      const compact = await prefix.query(question, {
        ...options,
        chunkTokens: 32,
        onProgress: (p) => {
          done.push(p.tokensDone);
          totals.add(p.tokensTotal);
        },
      });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepStrictEqual([...totals], [question.length]);
      assert.ok(done.length >= Math.ceil(question.length / 32), `only ${done.length} reports`);
      assert.ok(monotone(done), `not monotone: ${done.join(',')}`);
      assert.strictEqual(done[done.length - 1], question.length);
      compact.dispose();
      prefix.dispose();
    });

    it('a question can be cancelled, and the prefix is unchanged', async () => {
      const prefix = await main.prefill(promptTokens(64, 242));
      const small = promptTokens(20, 243);
      const expected = await answer(prefix, small, options, 4);
      const tokens = prefix.tokens();
      const logits = prefix.lastLogits();
      const stats = prefix.stats();

      const long = promptTokens(1500, 244);
      const controller = new AbortController();
      const done: number[] = [];
      await rejectsWith(
        prefix.query(long, {
          ...options,
          chunkTokens: 32,
          signal: controller.signal,
          onProgress: (p) => {
            done.push(p.tokensDone);
            assert.strictEqual(p.tokensTotal, long.length);
            if (p.tokensDone >= 128) controller.abort();
          },
        }),
        AbortError,
      );
      assert.ok(done.length > 0 && monotone(done), `progress: ${done.join(',')}`);
      assert.ok(done[done.length - 1] < long.length, 'the question stopped before its end');

      assert.deepStrictEqual(prefix.tokens(), tokens);
      assertBitwiseEqual(prefix.lastLogits(), logits, 'prefix lastLogits');
      assert.deepStrictEqual(prefix.stats(), stats);
      assertSameAnswer(await answer(prefix, small, options, 4), expected, 'question after the cancelled one');
      await prefix.extend([7]);
      assert.strictEqual(prefix.length, 65);
      prefix.dispose();
    });

    it('an already aborted signal rejects a question and a one-shot compression at once', async () => {
      const prefix = await main.prefill(promptTokens(16, 245));
      await rejectsWith(prefix.query([1, 2, 3], { signal: AbortSignal.abort() }), AbortError);
      await rejectsWith(main.compressOneShot([1, 2, 3], { signal: AbortSignal.abort() }), AbortError);
      // Nothing was left holding the prefix.
      await prefix.extend([4]);
      prefix.dispose();
    });

    describe('compressOneShot', () => {
      let deep: Model;
      before(async () => {
        // More layers: one-shot reports progress once per layer.
        const fixture = writeTinyModel({ ...specs.qwen2, layers: 6 }, tempDir());
        deep = await Engine.load(fixture.path, { backend: 'cpu', threads: 2, kvType: 'f32' });
      });
      after(() => deep.dispose());

      it('reports progress layer by layer, rising to the total', async () => {
        const prompt = promptTokens(400, 250);
        const done: number[] = [];
        const compact = await deep.compressOneShot(prompt, {
          ...options,
          onProgress: (p) => {
            done.push(p.tokensDone);
            assert.strictEqual(p.tokensTotal, prompt.length);
          },
        });
        await new Promise((resolve) => setImmediate(resolve));
        assert.strictEqual(done.length, deep.info.layers);
        assert.ok(monotone(done), `not monotone: ${done.join(',')}`);
        assert.strictEqual(done[done.length - 1], prompt.length);
        assert.strictEqual(compact.promptLength, prompt.length);
        compact.dispose();
      });

      it('can be cancelled', async () => {
        const prompt = promptTokens(2000, 251);
        const controller = new AbortController();
        const done: number[] = [];
        await rejectsWith(
          deep.compressOneShot(prompt, {
            ...options,
            chunkTokens: 64,
            signal: controller.signal,
            onProgress: (p) => {
              done.push(p.tokensDone);
              controller.abort();
            },
          }),
          AbortError,
        );
        assert.ok(done.length >= 1 && done[done.length - 1] < prompt.length, `progress: ${done.join(',')}`);
        // The model goes on working.
        const compact = await deep.compressOneShot(promptTokens(50, 252), options);
        assert.strictEqual(compact.promptLength, 50);
        compact.dispose();
      });
    });
  });
});
