// The rule that picks a backend from what the build says about CUDA
// (Engine.load follows it; the GPU half runs in test/gpu-model.test.ts).
import * as assert from 'assert';
import { planBackend } from '../server/src/engine/engine';
import { NativeBuildInfo } from '../server/src/engine/native-addon';

function cuda(usable: boolean, message = ''): NativeBuildInfo['cuda'] {
  return { compiled: true, devices: usable ? 1 : 0, usable, deviceName: usable ? 'Test GPU' : '', totalMemory: 0, message };
}

describe('backend choice', () => {
  it("'cpu' takes the CPU whatever the device", () => {
    assert.deepStrictEqual(planBackend('cpu', cuda(true)), { first: 'cpu', cpuReason: 'cpu backend requested', fallBackToCpu: false });
  });

  it("'auto' takes CUDA when a device works, and falls back to the CPU when the model cannot run there", () => {
    const plan = planBackend('auto', cuda(true));
    assert.strictEqual(plan.first, 'cuda');
    assert.strictEqual(plan.fallBackToCpu, true);
  });

  it("'auto' takes the CPU without a usable device and gives CUDA's reason", () => {
    const plan = planBackend('auto', cuda(false, 'no CUDA device is visible'));
    assert.strictEqual(plan.first, 'cpu');
    assert.strictEqual(plan.cpuReason, 'auto: CPU (no CUDA device is visible)');
  });

  it("'cuda' insists on the GPU: no fallback, the engine's refusal reaches the caller", () => {
    assert.deepStrictEqual(planBackend('cuda', cuda(false, 'x')), { first: 'cuda', cpuReason: '', fallBackToCpu: false });
  });
});
