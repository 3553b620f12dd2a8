// Run in a child process by one-shot.test.ts: measures the peak resident
// memory of compressing a long prompt, either one-shot or by prefilling a full
// prefix cache and asking the question against it. Prints one JSON line.
import * as fs from 'fs';
import { Engine } from '../../server/src/engine';
import { promptTokens } from '../fixtures/tiny-models';

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]);
}

async function main(): Promise<void> {
  const [modelPath, mode, lengthText, budgetText] = process.argv.slice(2);
  const length = Number(lengthText);
  const question = 32;
  const options = { window: 32, budget: Number(budgetText), kernel: 7 };
  // f32 keys and values, so the full cache the parent expects is plain arithmetic.
  const model = await Engine.load(modelPath, { backend: 'cpu', kvType: 'f32' });
  // Touch every weight first, so the measurement is of caches and activations.
  (await model.prefill(promptTokens(8, 1))).dispose();
  const prompt = promptTokens(length, 2);
  const before = statusKiB('VmRSS');
  fs.writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  if (mode === 'one-shot') {
    const compact = await model.compressOneShot(prompt, options);
    compact.dispose();
  } else {
    const prefix = await model.prefill(prompt.slice(0, length - question), { capacity: length });
    const compact = await prefix.query(prompt.slice(length - question), options);
    compact.dispose();
    prefix.dispose();
  }
  const peak = statusKiB('VmHWM');
  // What the server plans with when it chooses one-shot (session/answer-mode.ts).
  const plannedKiB = (model.planOneShot(length, options)?.bytesNeeded ?? 0) / 1024;
  process.stdout.write(`${JSON.stringify({ mode, beforeKiB: before, peakKiB: peak, growthKiB: peak - before, plannedKiB })}\n`);
  model.dispose();
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
