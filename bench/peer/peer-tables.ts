// The peer bench's results as markdown tables.
import { Table, fmt, fmtBytes, fmtInt, left, right } from '../tables';
import { AskTiming } from './ask-timing';
import { LogitsComparison, TOP_K } from './logits-compare';
import { SNAPKV_SETTINGS, SnapkvResult } from './snapkv-rows';
import { EngineRun } from './speed-rows';
import { OtherLoad } from '../machine';

export interface FileRuns {
  shape: string;
  type: string;
  fileBytes: number;
  runs: EngineRun[];
  otherLoad: OtherLoad;
}

const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');

export function speedTable(files: readonly FileRuns[], threads: number, repeats: number, decodeTokens: number): Table {
  const rows: string[][] = [];
  for (const file of files) {
    const peer = file.runs.find((r) => r.engine === 'llama.cpp');
    const ours = file.runs.find((r) => r.engine === 'snapkv');
    if (!peer || !ours) continue;
    const model = `${file.shape} ${file.type}`;
    for (const p of ours.prefill) {
      const q = peer.prefill.find((x) => x.tokens === p.tokens);
      if (!q) continue;
      rows.push([model, `prefill ${p.tokens} (tok/s)`, fmt(q.tokensPerSecond), fmt(p.tokensPerSecond), ratio(p.tokensPerSecond / q.tokensPerSecond)]);
    }
    for (const d of ours.decode) {
      const e = peer.decode.find((x) => x.context === d.context);
      if (!e) continue;
      rows.push([model, `decode at ${d.context} (ms/token)`, fmt(e.medianMsPerToken, 2), fmt(d.medianMsPerToken, 2), ratio(e.medianMsPerToken / d.medianMsPerToken)]);
    }
    rows.push([model, 'load (ms)', fmt(peer.loadMs, 0), fmt(ours.loadMs, 0), '-']);
  }
  const disturbed = files.filter((f) => f.otherLoad.otherCores + f.otherLoad.stealCores > 0.2);
  return {
    title: `snapkv-code against llama.cpp (node-llama-cpp 3.21.1, CPU), ${threads} threads each, same file, same run`,
    columns: [...left('model, file type', 'figure'), ...right('llama.cpp', 'snapkv-code', 'ratio')],
    rows,
    notes: [
      `Ratio: ours over llama.cpp's prefill tokens/s, llama.cpp's over our decode ms/token: above 1.00x we are faster.`,
      `Prefill: median of ${repeats} runs after one warm-up, into an empty cache, last token's logits computed. Decode: median step of ${decodeTokens - 1} greedy tokens after the context.`,
      "llama.cpp: node-llama-cpp's defaults otherwise (batch 512, f16 KV cache, flash attention auto); load includes its context.",
      ...(disturbed.length > 0
        ? [`Disturbed by other processes (> 0.2 cores busy or stolen): ${disturbed.map((f) => `${f.shape} ${f.type} (${fmt(f.otherLoad.otherCores + f.otherLoad.stealCores, 2)})`).join(', ')}.`]
        : []),
    ],
  };
}

export function snapkvTable(results: readonly SnapkvResult[]): Table {
  return {
    title: 'SnapKV question compression (snapkv-code only)',
    columns: [...left('model, file type'), ...right('prompt tokens', 'compression ms', 'compact cache')],
    rows: results.flatMap((r) => r.rows.map((row) => [`${r.shape} ${r.type}`, fmtInt(row.promptTokens), fmt(row.medianMs, 0), fmtBytes(row.keptBytes)])),
    notes: [
      `The last ${SNAPKV_SETTINGS.window} prompt tokens prefilled as the question against the prefix, then scoring, selection and gather`,
      `(window ${SNAPKV_SETTINGS.window}, budget ${SNAPKV_SETTINGS.budget}, kernel ${SNAPKV_SETTINGS.kernel}, ${SNAPKV_SETTINGS.pooling} pooling); median of the repeats.`,
      ...results.map((r) => `${r.shape} ${r.type}: the shared ${fmtInt(r.prefillTokens)}-token prefill took ${fmt(r.prefillMs / 1000)} s (${fmt(r.prefillTokens / (r.prefillMs / 1000))} tok/s).`),
    ],
  };
}

export function logitsTable(rows: readonly LogitsComparison[]): Table {
  const first = rows[0];
  return {
    title: `Next-token probabilities: snapkv-code against llama.cpp on the same files${first ? ` (${first.shape}, ${first.prompts} prompts of ${first.promptLength} tokens)` : ''}`,
    columns: [
      ...left('file type'),
      ...right('top-1 agree', `max abs err (top-${TOP_K})`, 'max rel err', 'mean rel err', 'mean KL (nats)', 'mean top-1 p'),
      ...right('margins where top-1 differs'),
    ],
    rows: rows.map((r) => [
      r.type,
      `${r.top1Agree}/${r.prompts}`,
      r.maxAbsError.toExponential(2),
      r.maxRelError.toExponential(2),
      r.meanRelError.toExponential(2),
      r.meanKl.toExponential(2),
      r.meanTop1Probability.toExponential(2),
      r.disagreementMargins.length === 0 ? '-' : r.disagreementMargins.map((m) => m.toExponential(1)).join(' '),
    ]),
    notes: [
      `Errors over llama.cpp's ${TOP_K} most probable tokens of each prompt: |p_ours - p_llama| and that over p_llama.`,
      'Random weights give a flat distribution, so top-1 can differ where the top two are within the error: the margin column',
      "(llama.cpp's p1 - p2) shows whether a disagreement is such a near-tie. llama.cpp quantizes activations to 8 bits for",
      'quantized weights; the engine computes in f32 from the same blocks, so part of each error is llama.cpp\'s own.',
    ],
  };
}

export function askTable(ask: AskTiming): Table {
  return {
    title: `snapkv-code ask on ${ask.model.split('/').pop()}`,
    columns: [{ header: 'figure' }, { header: 'value', align: 'right' }],
    rows: [
      ['folder', `${ask.files} files, ${fmtInt(ask.tokens)} tokens`],
      ['whole command (s)', fmt(ask.wallMs / 1000, 2)],
      ['start, model load, tokenizer (s)', fmt(ask.otherMs / 1000, 2)],
      ['index: pack, prefill, save (s)', fmt(ask.indexMs / 1000, 2)],
      ['prefill (tok/s)', fmt(ask.prefillTokensPerSecond)],
      ['question: prefill + SnapKV (s)', fmt(ask.compressMs / 1000, 2)],
      ['first token, from the question (s)', fmt(ask.firstTokenMs / 1000, 2)],
      ['decode (ms/token)', fmt(ask.decodeMsPerToken, 1)],
      ['decode (tokens/s)', fmt(1000 / ask.decodeMsPerToken, 1)],
      ['answer tokens', String(ask.answerTokens)],
    ],
    notes: ['The CLI uses every hardware thread (it has no threads flag). "start, model load" is the whole command less the index and the answer.'],
  };
}
