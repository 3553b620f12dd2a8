// A chat template that writes today's date (Llama 3.x: "Today Date: ..." in the system turn) puts
// the date before the repository, inside the prefix cache. The cache keeps the date it was written
// with, across days and restarts, so a new morning does not prefill the repository again; a forced
// re-index takes the new date. Also: the date's text does not depend on the host's locale.
import * as assert from 'assert';
import * as path from 'path';
import { loadModel, LoadedModel } from '../server/src/session/loaded-model';
import { PrefixStore } from '../server/src/session/prefix-store';
import { QuestionScheduler } from '../server/src/session/question-scheduler';
import { IndexOptions, WorkspaceIndex } from '../server/src/session/workspace-index';
import { ChatTemplate, SERVER_TEMPLATE_VARIABLES } from '../server/src/text/chat-template';
import { formatTemplateDate, parseTemplateDay, templateDay } from '../server/src/text/template-clock';
import { LLAMA32_TEMPLATE } from './fixtures/chat-templates';
import { writeFixtureRepo, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const RealDate = Date;

/** Runs `fn` with the clock (new Date(), Date.now()) at `iso`; the engine does not read it. */
async function onDay<T>(iso: string, fn: () => Promise<T>): Promise<T> {
  const fixed = new RealDate(iso).getTime();
  class FixedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(fixed);
      else super(...(args as [string]));
    }
    static override now(): number {
      return fixed;
    }
  }
  globalThis.Date = FixedDate as DateConstructor;
  try {
    return await fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

const INDEX: IndexOptions = { maxContextTokens: undefined, include: [], exclude: [], includeSecrets: [], force: false };

describe('the date a chat template writes', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('template-date');
  let loaded: LoadedModel;

  before(async () => {
    const modelPath = writeServerModel(tempDir());
    const plain = await loadModel(modelPath, { backend: 'cpu', gpuMemoryBytes: 0, prefixInHostMemory: false });
    // The tiny model's own template (Qwen's) writes no date; Llama 3.2's real one does.
    const template = new ChatTemplate({ template: LLAMA32_TEMPLATE, bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>', variables: SERVER_TEMPLATE_VARIABLES });
    loaded = { ...plain, template };
  });

  after(() => loaded?.model.dispose());

  it('formats Python strftime directives in English and UTC, whatever the locale', () => {
    const date = new Date('2026-12-05T23:30:00Z');
    assert.strictEqual(formatTemplateDate(date, '%d %b %Y'), '05 Dec 2026');
    assert.strictEqual(formatTemplateDate(date, '%Y-%m-%d %H:%M %B 100%%'), '2026-12-05 23:30 December 100%');
    assert.strictEqual(templateDay(date), '2026-12-05');
    assert.strictEqual(parseTemplateDay('2026-12-05')?.toISOString(), '2026-12-05T00:00:00.000Z');
    for (const bad of ['2026-13-01', '2026-02-30', 'yesterday', 20261205, undefined]) assert.strictEqual(parseTemplateDay(bad), undefined, String(bad));
  });

  it('keeps the cache\'s date across a restart on a later day, and takes the new one on a forced re-index', async () => {
    const repo = path.join(tempDir(), 'repo');
    writeFixtureRepo(repo);
    const cacheDir = path.join(tempDir(), 'cache');
    const newIndex = (): WorkspaceIndex => new WorkspaceIndex(repo, loaded, new PrefixStore(cacheDir, repo), new QuestionScheduler(Number.MAX_SAFE_INTEGER), () => {});

    const first = await onDay('2026-12-04T22:00:00Z', async () => {
      const index = newIndex();
      try {
        const result = await index.update(INDEX);
        assert.ok(index.current?.head.text.includes('Today Date: 04 Dec 2026\n'), index.current?.head.text);
        return result;
      } finally {
        await index.close();
      }
    });
    assert.strictEqual(first.source, 'prefill');

    await onDay('2026-12-05T09:00:00Z', async () => {
      const index = newIndex();
      try {
        const reopened = await index.update(INDEX);
        assert.strictEqual(reopened.source, 'saved-cache');
        assert.strictEqual(reopened.prefilledTokens, 0, 'the saved cache serves the next day as it is');
        assert.ok(index.current?.head.text.includes('Today Date: 04 Dec 2026\n'));

        const forced = await index.update({ ...INDEX, force: true });
        assert.strictEqual(forced.prefilledTokens, forced.tokens);
        assert.ok(index.current?.head.text.includes('Today Date: 05 Dec 2026\n'), index.current?.head.text);
      } finally {
        await index.close();
      }
    });

    await onDay('2026-12-06T09:00:00Z', async () => {
      const index = newIndex();
      try {
        const reopened = await index.update(INDEX);
        assert.strictEqual(reopened.prefilledTokens, 0);
        assert.ok(index.current?.head.text.includes('Today Date: 05 Dec 2026\n'), 'the forced re-index\'s date was saved');
      } finally {
        await index.close();
      }
    });
  });
});
