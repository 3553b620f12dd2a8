// Checks an exported GGUF against the logits train.py computed for a fixed prompt
// (probe.json): the end-to-end proof that names, shapes, RoPE layout and GQA head mapping
// survived the trip from PyTorch into the engine.
import * as fs from 'fs';
import { Engine } from '../../../server/src/engine';
import { ExportType } from './gguf-export';

export interface Probe {
  readonly tokens: readonly number[];
  readonly last_logits: readonly number[];
}

export interface ProbeResult {
  /** max |engine - torch| / max |torch| over the vocabulary. */
  readonly relativeError: number;
  readonly sameArgmax: boolean;
  readonly tolerance: number;
  readonly ok: boolean;
}

/**
 * float32 differs from PyTorch only by summation order (about 1e-5 of the logits' scale was
 * measured); F16 and Q8_0 add quantization error that depends on the weights, so their bounds
 * are only for reporting.
 */
export const PROBE_TOLERANCE: Readonly<Record<ExportType, number>> = { F32: 1e-3, F16: 2e-2, Q8_0: 6e-2 };

export function readProbe(file: string): Probe {
  const probe = JSON.parse(fs.readFileSync(file, 'utf8')) as Probe;
  if (!Array.isArray(probe.tokens) || !Array.isArray(probe.last_logits)) throw new Error(`${file} is not a probe.json written by train.py`);
  return probe;
}

export async function checkProbe(ggufPath: string, probe: Probe, type: ExportType): Promise<ProbeResult> {
  const model = await Engine.load(ggufPath, { backend: 'cpu' });
  try {
    const prefix = await model.prefill(probe.tokens, { capacity: probe.tokens.length + 8 });
    try {
      const logits = prefix.logits;
      if (logits === null) throw new Error('the engine returned no logits for the probe prompt');
      if (logits.length !== probe.last_logits.length) throw new Error(`the engine gives ${logits.length} logits, the probe ${probe.last_logits.length}`);
      let maxDiff = 0;
      let maxRef = 0;
      for (let i = 0; i < logits.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(logits[i] - probe.last_logits[i]));
        maxRef = Math.max(maxRef, Math.abs(probe.last_logits[i]));
      }
      const relativeError = maxDiff / Math.max(maxRef, 1e-12);
      const sameArgmax = argmax(logits) === argmax(probe.last_logits);
      const tolerance = PROBE_TOLERANCE[type];
      return { relativeError, sameArgmax, tolerance, ok: relativeError <= tolerance };
    } finally {
      prefix.dispose();
    }
  } finally {
    model.dispose();
  }
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
