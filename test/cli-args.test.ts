// The command line's options as settings (the whole command runs in test/cli.test.ts).
import * as assert from 'assert';
import { parseArgs } from '../server/src/cli/args';

describe('snapkv-code options', () => {
  it('takes the backend and its GPU memory settings', () => {
    const args = parseArgs(['ask', 'repo', 'why?', '--backend', 'cuda', '--gpu-memory', '12.5', '--prefix-in-host-memory']);
    assert.strictEqual(args.settings.backend, 'cuda');
    assert.strictEqual(args.settings.gpuMemoryGiB, 12.5);
    assert.strictEqual(args.settings.prefixInHostMemory, true);
    const plain = parseArgs(['ask', 'repo', 'why?']);
    assert.strictEqual(plain.settings.gpuMemoryGiB, undefined);
    assert.strictEqual(plain.settings.prefixInHostMemory, undefined);
    assert.strictEqual(plain.settings.exact, undefined);
    assert.strictEqual(parseArgs(['ask', 'repo', 'why?', '--exact']).settings.exact, true);
  });

  it('says what a GPU memory limit must be', () => {
    assert.throws(() => parseArgs(['ask', 'repo', 'q', '--gpu-memory', 'lots']), /--gpu-memory needs a positive number of GiB, not "lots"/);
    assert.throws(() => parseArgs(['ask', 'repo', 'q', '--gpu-memory', '0']), /--gpu-memory needs a positive number of GiB/);
    assert.throws(() => parseArgs(['ask', 'repo', 'q', '--backend', 'tpu']), /--backend must be auto, cuda or cpu/);
    assert.strictEqual(parseArgs(['ask', 'repo', 'q', '--host-memory', '0.25']).settings.hostMemoryGiB, 0.25);
    assert.throws(() => parseArgs(['ask', 'repo', 'q', '--host-memory', '-3']), /--host-memory needs a positive number of GiB, not "-3"/);
  });

  it('takes the KV cache type and the thread count, and says what they must be', () => {
    const args = parseArgs(['ask', 'repo', 'why?', '--kv-type', 'q8_0', '--threads', '6']);
    assert.strictEqual(args.settings.kvType, 'q8_0');
    assert.strictEqual(args.settings.threads, 6);
    const plain = parseArgs(['ask', 'repo', 'why?']);
    assert.strictEqual(plain.settings.kvType, undefined);
    assert.strictEqual(plain.settings.threads, undefined);
    assert.throws(() => parseArgs(['ask', 'repo', 'q', '--kv-type', 'f8']), /--kv-type must be f16, bf16, q8_0 or f32, not "f8"/);
    assert.throws(() => parseArgs(['ask', 'repo', 'q', '--threads', '0']), /--threads needs a positive whole number/);
  });
});
