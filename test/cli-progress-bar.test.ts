// The terminal progress bar: drawn in place on a terminal, silent in a pipe.
import * as assert from 'assert';
import { ProgressBar } from '../server/src/cli/progress-bar';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string } {
  const stream = {
    isTTY,
    columns: 120,
    written: '',
    write(chunk: string): boolean {
      stream.written += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { written: string };
}

describe('terminal progress bar', () => {
  it('draws the prefill with a bar, percentage, rate and time left, in place', () => {
    const stream = fakeStream(true);
    const bar = new ProgressBar(stream);
    bar.update({ phase: 'prefilling', filesDone: 12, filesTotal: 12, tokensDone: 5000, tokensTotal: 20000, tokensPerSecond: 1234.5, etaMs: 12_150 });
    assert.match(stream.written, /^\r\x1b\[K\[######\.{18}\]  25% 12 files · 5,000\/20,000 tokens · 1,235 tokens\/s · 12 s left$/);
    bar.clear();
    assert.ok(stream.written.endsWith('\r\x1b[K'));
  });

  it('writes nothing when the output is not a terminal', () => {
    const stream = fakeStream(false);
    const bar = new ProgressBar(stream);
    bar.update({ phase: 'listing', filesDone: 1, filesTotal: 2, tokensDone: 0, tokensTotal: 10, tokensPerSecond: 0, etaMs: undefined });
    bar.clear();
    assert.strictEqual(stream.written, '');
  });
});
