// The one byte format of the terminal, the server's messages and the editor.
import * as assert from 'assert';
import { formatBytes } from '../server/src/format-bytes';

describe('formatBytes', () => {
  it('writes bytes, then binary units with one decimal and no trailing .0', () => {
    const cases: Array<[number, string]> = [
      [0, '0 bytes'],
      [1023, '1023 bytes'],
      [1024, '1 KiB'],
      [1536, '1.5 KiB'],
      [100 * 1024, '100 KiB'],
      [262_200, '256.1 KiB'],
      [1024 ** 2 - 1, '1024 KiB'],
      [1024 ** 2, '1 MiB'],
      [44_904_288, '42.8 MiB'],
      [3.25 * 1024 ** 3, '3.3 GiB'],
      [5 * 1024 ** 5, '5120 TiB'],
    ];
    for (const [bytes, text] of cases) assert.strictEqual(formatBytes(bytes), text, String(bytes));
  });
});
