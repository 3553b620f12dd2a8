// Many questions at once through one session: the scheduler runs them together
// or one at a time (by the memory limit), cancelled ones end wherever they were
// (queued, compressing or answering), an update waits for the questions reading
// the prefix, and nothing is left held afterwards.
import * as assert from 'assert';
import * as path from 'path';
import { AbortError } from '../server/src/engine';
import type { AskResult } from '../server/src/protocol';
import { Session } from '../server/src/session/session';
import { writeServerFixture } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const QUESTIONS = ['What is MAX_ITEMS?', 'What does report print?', 'Where is addItem defined?', 'What is CURRENCY?'];

describe('session scheduling', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('session-scheduling');
  let modelPath: string;
  let repo: string;

  before(() => {
    ({ model: modelPath, repo } = writeServerFixture(tempDir()));
  });

  function session(name: string, compactMemoryLimit?: number): Session {
    return new Session({
      settings: { modelPath, cacheDir: path.join(tempDir(), name), backend: 'cpu', maxAnswerTokens: 12, ...(compactMemoryLimit ? { compactMemoryLimit } : {}) },
      defaultFolder: repo,
    });
  }

  /**
   * Asks every question twice at once, cancels every other one at a different moment, and checks that all end.
   * Returns the most questions seen running together.
   */
  async function askMany(s: Session): Promise<number> {
    let most = 0;
    await s.indexFolder();
    const alone = new Map<string, string>();
    for (const question of QUESTIONS) alone.set(question, (await s.ask({ requestId: `alone ${question}`, question })).text);

    const asks: { id: string; question: string; cancelled: boolean; answer: Promise<AskResult> }[] = [];
    const controllers = new Map<string, AbortController>();
    for (let i = 0; i < 2 * QUESTIONS.length; i++) {
      const id = `q${i}`;
      const question = QUESTIONS[i % QUESTIONS.length];
      const controller = new AbortController();
      controllers.set(id, controller);
      const cancelled = i % 2 === 1;
      // Every other one cancelled: by its signal before anything streams, or by id once its answer streams.
      const onDelta = (): void => {
        most = Math.max(most, s.status().questionsRunning);
        if (cancelled && i % 4 === 3) s.cancel(id);
      };
      asks.push({ id, question, cancelled, answer: s.ask({ requestId: id, question }, { signal: controller.signal, onDelta }) });
    }
    // An update in the middle: it waits for the questions reading the prefix, and those behind it wait for it.
    const update = s.indexFolder();
    for (const [i, { id }] of asks.entries()) if (i % 4 === 1) controllers.get(id)?.abort(new AbortError());

    const settled = await Promise.allSettled(asks.map((a) => a.answer));
    assert.strictEqual((await update).source, 'unchanged');
    for (const [i, outcome] of settled.entries()) {
      const { id, question, cancelled } = asks[i];
      if (!cancelled) {
        assert.strictEqual(outcome.status, 'fulfilled', `${id}: ${outcome.status === 'rejected' ? String(outcome.reason) : ''}`);
        assert.strictEqual(outcome.value.text, alone.get(question), `${id} answers as it does alone`);
      } else if (outcome.status === 'rejected') {
        assert.ok(outcome.reason instanceof AbortError, `${id} failed with ${String(outcome.reason)}`);
      } else {
        assert.strictEqual(outcome.value.stopReason, 'cancelled', `${id} was cancelled while answering`);
      }
    }
    const status = s.status();
    assert.strictEqual(status.questionsRunning, 0);
    assert.strictEqual(status.questionsQueued, 0);
    assert.strictEqual(status.compactBytes, 0);
    // Still serving.
    assert.strictEqual((await s.ask({ requestId: 'after', question: QUESTIONS[0] })).text, alone.get(QUESTIONS[0]));
    return most;
  }

  it('questions that fit together run together; half of them cancelled, all end and the rest answer as alone', async () => {
    const s = session('roomy');
    try {
      assert.ok((await askMany(s)) >= 2, 'questions ran together');
    } finally {
      await s.dispose();
    }
  });

  it('questions over the memory limit run one at a time; half of them cancelled, all end and the rest answer as alone', async () => {
    const s = session('tight', 1);
    try {
      assert.strictEqual(await askMany(s), 1, 'never two compact caches over the limit');
    } finally {
      await s.dispose();
    }
  });
});
