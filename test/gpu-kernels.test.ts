// The CUDA kernels of kernels/ against their CPU references in the engine,
// through the standalone tool build/native/snapkv-kernel-test (the same checks
// run without Node on a GPU machine: native/tools/gpu_kernel_check.sh). Each
// run draws fresh random inputs (the seed is printed; SNAPKV_KERNEL_TEST_SEED
// repeats one). Where no GPU is usable the tests are skipped with the reason
// printed; `npm run test:gpu` runs them with --forbid-pending, so there a skip
// is a failure.
import * as assert from 'assert';
import * as fs from 'fs';
import { Engine } from '../server/src/engine';
import { nativeBuildFile, ProgramRun, runProgram } from './helpers/run-program';

const TOOL = nativeBuildFile('snapkv-kernel-test');
const GROUPS = ['basic', 'matrix', 'attention', 'snapkv', 'sampling'];
// The block-quantized weight types the kernels decode in place (matvec, the
// GEMM's operand conversion, the embedding lookup), each checked against the
// CPU engine's decoders (held bit-exact against an independent reference by
// weight-decoders.test.ts) on random blocks.
const BLOCK_QUANTIZED_TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

function runTool(args: readonly string[]): Promise<ProgramRun> {
  return runProgram(TOOL, args, { timeoutMs: 25 * 60_000 });
}

describe('GPU kernels against their CPU references (snapkv-kernel-test)', function () {
  this.timeout(30 * 60_000);
  let run: ProgramRun;

  before(async function () {
    const cuda = Engine.buildInfo().cuda;
    if (!cuda.usable) {
      const why = cuda.compiled ? cuda.message : 'this build has no CUDA kernels (nvcc was not found when it was built)';
      console.log(`      SKIPPED: no usable GPU: ${why}`);
      this.skip();
    }
    assert.ok(fs.existsSync(TOOL), `${TOOL} is missing although CUDA is compiled in: rebuild with npm run build:native`);
    const seed = process.env.SNAPKV_KERNEL_TEST_SEED;
    run = await runTool(seed ? ['--seed', seed] : []);
    for (const line of run.stdout.split('\n')) {
      if (/^(FAIL|device|seed)/.test(line) || /checks, \d+ failed/.test(line)) console.log(`      ${line}`);
    }
  });

  it('runs every group of checks and passes them all', function () {
    const failed = run.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
    assert.strictEqual(run.code, 0, `snapkv-kernel-test exited with ${run.code}:\n${failed.join('\n')}\n${run.stderr}`);
    assert.deepStrictEqual(failed, []);
    for (const group of GROUPS) assert.ok(run.stdout.includes(`(${group}: `), `group ${group} did not run`);
  });

  it('checks each kernel at least once', function () {
    const kernels = [
      'embed_tokens', 'convert_matrix', 'rms_norm', 'rope', 'add_in_place', 'swiglu', 'convert_f32', 'matvec F16',
      'matvec BF16', 'matvec Q8_0', 'gemm bf16', 'gemm f16', 'flash_attention_prefill', 'decode_attention', 'snapkv_scores',
      'snapkv_pool', 'snapkv_select_top', 'snapkv_keep_all', 'snapkv_gather', 'snapkv selection', 'sample_token',
    ];
    for (const type of BLOCK_QUANTIZED_TYPES) {
      kernels.push(`matvec ${type}`, `embed_tokens ${type}`, `convert_matrix ${type}`, `${type}->bf16 convert + gemm`);
    }
    for (const kernel of kernels) {
      assert.ok(run.stdout.split('\n').some((line) => line.startsWith('PASS') && line.includes(kernel)), `no passing check of ${kernel}`);
    }
  });
});
