// The model load shared by every request, under the two races it must survive. A new model chosen while the old
// one answers: requests from then on wait for the new model, and the old one is let go only once its running
// questions end. Callers that cancel while the model loads: each stops waiting at once, and the read itself stops
// only when nobody wants it any more.
// The engine's read of the file runs on its own thread and its end comes back through the event loop, so a load
// started and cancelled without yielding to the loop is still in flight when the cancels are heard: these tests
// order events that way rather than by sleeping.
import * as assert from 'assert';
import * as path from 'path';
import { AbortError } from '../server/src/engine';
import { Session } from '../server/src/session/session';
import { rejectsWith } from './helpers/async-helpers';
import { writeFixtureRepo, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const QUESTION = 'What is MAX_ITEMS?';
const ANSWER_TOKENS = 12;

describe('session: model load races', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('session-model-load-races');
  let oldModel: string;
  let newModel: string;
  let repo: string;

  before(() => {
    oldModel = writeServerModel(tempDir());
    newModel = writeServerModel(tempDir(), { layers: 3, seed: 2 });
    repo = path.join(tempDir(), 'repo');
    writeFixtureRepo(repo);
  });

  let sessions = 0;
  /** A session of its own (own cache folder) on `modelPath`, and the lines it logs. */
  function session(modelPath: string): { session: Session; logs: string[]; settings: { modelPath: string; cacheDir: string; backend: 'cpu' } } {
    const logs: string[] = [];
    const settings = { modelPath, cacheDir: path.join(tempDir(), `cache-${sessions++}`), backend: 'cpu' as const };
    return { session: new Session({ settings, defaultFolder: repo, log: (line) => logs.push(line) }), logs, settings };
  }

  const reads = (logs: readonly string[]): string[] => logs.filter((line) => line.startsWith('loading model '));
  const loadsEnded = (logs: readonly string[]): string[] => logs.filter((line) => line.startsWith('loaded '));

  /** The answer a session of its own gives with `modelPath`. */
  async function answerAlone(modelPath: string): Promise<string> {
    const { session: alone } = session(modelPath);
    try {
      return (await alone.ask({ requestId: 'alone', question: QUESTION, maxTokens: ANSWER_TOKENS })).text;
    } finally {
      await alone.dispose();
    }
  }

  it('a question asked right after a new model is chosen, while one on the old model runs, answers with the new model; the old one ends normally', async () => {
    const oldAnswer = await answerAlone(oldModel);
    const newAnswer = await answerAlone(newModel);
    assert.notStrictEqual(oldAnswer, newAnswer, 'the two models must answer differently for this test to tell them apart');

    const { session: s, settings } = session(oldModel);
    try {
      await s.indexFolder();
      let during: { configured: Promise<{ reindex: boolean }>; model: ReturnType<Session['model']>; question: ReturnType<Session['ask']> } | undefined;
      const running = s.ask(
        { requestId: 'old', question: QUESTION, maxTokens: ANSWER_TOKENS },
        {
          // Its turn has come: it reads the old model's prefix now, and answers from it after.
          onStarted: () => {
            const configured = s.configure({ ...settings, modelPath: newModel });
            during = { configured, model: s.model(), question: s.ask({ requestId: 'new', question: QUESTION, maxTokens: ANSWER_TOKENS }) };
          },
        },
      );
      const old = await running;
      assert.ok(during, 'the old question started');
      assert.strictEqual(old.stopReason === 'cancelled', false);
      assert.strictEqual(old.text, oldAnswer, 'the question on the old model answers as it does alone');

      const answer = await during.question;
      assert.strictEqual(answer.text, newAnswer, 'the question after the change answers with the new model');
      const model = await during.model;
      assert.strictEqual(model.path, newModel, 'a request after the change waits for the new model');
      assert.strictEqual(model.model.disposed, false);
      assert.strictEqual((await during.configured).reindex, true);

      const status = s.status();
      assert.strictEqual(status.model?.path, newModel);
      assert.strictEqual(status.modelLoad, undefined);
      assert.strictEqual(status.modelProblem, undefined);
      assert.strictEqual(status.questionsRunning, 0);
    } finally {
      await s.dispose();
    }
  });

  it('an index asked for just before a new model is chosen is built with the new model, not on the one let go', async () => {
    const newAnswer = await answerAlone(newModel);
    const { session: s, settings } = session(oldModel);
    try {
      await s.model();
      // The same turn of the event loop: the request has the old model in hand when the new one is chosen.
      const indexing = s.indexFolder();
      const configured = s.configure({ ...settings, modelPath: newModel });
      assert.strictEqual((await indexing).source, 'prefill');
      await configured;
      assert.strictEqual(s.status().model?.path, newModel);
      const answer = await s.ask({ requestId: 'after', question: QUESTION, maxTokens: ANSWER_TOKENS });
      assert.strictEqual(answer.text, newAnswer);
      assert.strictEqual(answer.prompt?.cachedTokens, answer.prompt?.repositoryTokens, 'the index built for the new model serves the question');
    } finally {
      await s.dispose();
    }
  });

  it('a question whose index is being built when a new model is chosen starts over and answers with the new model', async () => {
    const newAnswer = await answerAlone(newModel);
    const { session: s, settings } = session(oldModel);
    try {
      let configured: Promise<{ reindex: boolean }> | undefined;
      const phases: string[] = [];
      const answer = await s.ask(
        { requestId: 'q', question: QUESTION, maxTokens: ANSWER_TOKENS },
        {
          onIndexProgress: (progress) => {
            phases.push(progress.phase);
            // Inside the old model's update: the old index is let go once it ends, before this question's turn.
            if ((progress.phase === 'prefilling' || progress.phase === 'saving') && !configured) configured = s.configure({ ...settings, modelPath: newModel });
          },
        },
      );
      assert.ok(configured, `the index was never built: ${JSON.stringify(phases)}`);
      await configured;
      assert.strictEqual(answer.text, newAnswer);
      assert.strictEqual(s.status().model?.path, newModel);
      assert.strictEqual(s.status().modelProblem, undefined);
    } finally {
      await s.dispose();
    }
  });

  it('a question asked right after new packing settings, while another question runs, is answered from the folder packed anew', async () => {
    const { session: s, settings } = session(oldModel);
    try {
      await s.indexFolder();
      let during: { configured: Promise<{ reindex: boolean }>; question: ReturnType<Session['ask']> } | undefined;
      const old = await s.ask(
        { requestId: 'old', question: QUESTION, maxTokens: ANSWER_TOKENS },
        {
          onStarted: () => {
            const configured = s.configure({ ...settings, exclude: ['src/report.py'] });
            during = { configured, question: s.ask({ requestId: 'new', question: QUESTION, maxTokens: ANSWER_TOKENS }) };
          },
        },
      );
      assert.ok(during, 'the first question started');
      assert.strictEqual((await during.configured).reindex, true);
      const answer = await during.question;
      assert.ok(old.prompt && answer.prompt);
      assert.ok(answer.prompt.repositoryTokens < old.prompt.repositoryTokens, 'packed without the excluded file');
      assert.strictEqual(s.status().files, 3, 'the index serving it is the new one');
    } finally {
      await s.dispose();
    }
  });

  it('an update still listing files when a new model is chosen is run again on the new model, not on the index let go', async () => {
    const newAnswer = await answerAlone(newModel);
    const { session: s, settings } = session(oldModel);
    try {
      await s.model();
      let configured: Promise<{ reindex: boolean }> | undefined;
      const result = await s.indexFolder({
        onProgress: (progress) => {
          // Before the update's turn: the old index is let go while its files are still being read.
          if (progress.phase === 'listing' && !configured) configured = s.configure({ ...settings, modelPath: newModel });
        },
      });
      assert.ok(configured, 'no listing was reported');
      await configured;
      assert.strictEqual(result.source, 'prefill');
      const answer = await s.ask({ requestId: 'after', question: QUESTION, maxTokens: ANSWER_TOKENS });
      assert.strictEqual(answer.text, newAnswer);
      assert.strictEqual(answer.prompt?.cachedTokens, answer.prompt?.repositoryTokens, 'the update ran on the index that serves the question');
    } finally {
      await s.dispose();
    }
  });

  it('an update still listing files when the packing changes is run again with the new packing', async () => {
    const { session: s, settings } = session(oldModel);
    try {
      const before = await s.indexFolder();
      let configured: Promise<{ reindex: boolean }> | undefined;
      const result = await s.indexFolder({
        force: true,
        onProgress: (progress) => {
          if (progress.phase === 'listing' && !configured) configured = s.configure({ ...settings, exclude: ['src/report.py'] });
        },
      });
      assert.ok(configured, 'no listing was reported');
      await configured;
      assert.strictEqual(result.files, before.files - 1, 'indexed with the new exclude');
      assert.strictEqual(s.status().files, result.files, 'the index kept is the one updated');
    } finally {
      await s.dispose();
    }
  });

  it('two callers wait for one load and the first cancels: it stops waiting at once, the second gets the model from the same read', async () => {
    const { session: s, logs } = session(oldModel);
    try {
      const first = new AbortController();
      const cancelled = s.model(first.signal);
      const waiting = s.model(new AbortController().signal);
      first.abort(new AbortError());
      await rejectsWith(cancelled, AbortError);
      // At once: the read goes on for the second caller, and is still in flight.
      assert.strictEqual(s.status().modelLoad?.path, oldModel);
      assert.deepStrictEqual(loadsEnded(logs), []);

      const loaded = await waiting;
      assert.strictEqual(loaded.path, oldModel);
      assert.strictEqual(reads(logs).length, 1, `one read, not restarted: ${JSON.stringify(logs)}`);
      const status = s.status();
      assert.strictEqual(status.model?.path, oldModel);
      assert.strictEqual(status.modelLoad, undefined);
      assert.strictEqual(status.modelProblem, undefined);
    } finally {
      await s.dispose();
    }
  });

  it('every caller cancels: each stops waiting at once, the read is dropped without a problem, and a later request loads the model and answers', async () => {
    const { session: s, logs } = session(oldModel);
    try {
      const first = new AbortController();
      const second = new AbortController();
      const firstWait = s.model(first.signal);
      const secondWait = s.model(second.signal);
      first.abort(new AbortError());
      await rejectsWith(firstWait, AbortError);
      assert.strictEqual(s.status().modelLoad?.path, oldModel, 'still wanted by the second caller');
      second.abort(new AbortError());
      await rejectsWith(secondWait, AbortError);
      // Both heard of their cancel before the engine's read ended.
      assert.deepStrictEqual(loadsEnded(logs), []);

      const status = s.status();
      assert.strictEqual(status.modelLoad, undefined, 'no load in flight once nobody waits for it');
      assert.strictEqual(status.modelProblem, undefined, 'a load nobody wants is no problem');
      assert.strictEqual(status.model, null);
      assert.ok(logs.some((line) => line.startsWith(`stopped loading ${oldModel}`)), JSON.stringify(logs));

      const loaded = await s.model();
      assert.strictEqual(loaded.path, oldModel);
      assert.strictEqual(loaded.model.disposed, false);
      assert.strictEqual(reads(logs).length, 2, `read again after the dropped read: ${JSON.stringify(logs)}`);
      const answer = await s.ask({ requestId: 'later', question: QUESTION, maxTokens: ANSWER_TOKENS });
      assert.strictEqual(answer.text, await answerAlone(oldModel));
      assert.strictEqual(s.status().model?.path, oldModel);
      assert.strictEqual(s.status().modelProblem, undefined);
    } finally {
      await s.dispose();
    }
  });

  it('a caller that cannot cancel keeps the load when a caller that can cancels', async () => {
    const { session: s, logs } = session(oldModel);
    try {
      const controller = new AbortController();
      const cancelled = s.model(controller.signal);
      const kept = s.model();
      controller.abort(new AbortError());
      await rejectsWith(cancelled, AbortError);
      assert.strictEqual(s.status().modelLoad?.path, oldModel);
      assert.deepStrictEqual(loadsEnded(logs), []);
      assert.strictEqual((await kept).path, oldModel);
      assert.strictEqual(reads(logs).length, 1, JSON.stringify(logs));
      assert.strictEqual(s.status().modelProblem, undefined);
    } finally {
      await s.dispose();
    }
  });

  it('the load a new choice of model starts is kept when a caller waiting for it cancels', async () => {
    const { session: s, logs, settings } = session(oldModel);
    try {
      await s.model();
      const configured = s.configure({ ...settings, modelPath: newModel });
      const controller = new AbortController();
      const cancelled = s.model(controller.signal);
      controller.abort(new AbortError());
      await rejectsWith(cancelled, AbortError);
      assert.strictEqual(s.status().modelLoad?.path, newModel, 'the settings still want it');
      await configured;
      const loaded = await s.model();
      assert.strictEqual(loaded.path, newModel);
      assert.strictEqual(reads(logs).filter((line) => line.includes(newModel)).length, 1, JSON.stringify(logs));
      assert.strictEqual(s.status().modelProblem, undefined);
    } finally {
      await s.dispose();
    }
  });
});
