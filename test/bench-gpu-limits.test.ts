// The GPU benchmark's arithmetic on fixed numbers: FLOPs and bytes of the real
// shapes, the limits they give at a measured rate and bandwidth, the targets'
// verdicts, and the table cells built from them.
import * as assert from 'assert';
import {
  TARGETS,
  atLeast,
  atMost,
  compactDecodeVerdict,
  decodeWeightBytes,
  kvBytes,
  oneShotVerdict,
  prefillFlopsPerToken,
  prefillLimitTokensPerSecond,
  prefillTflops,
  prefillVerdict,
  rooflineMs,
  streamMs,
} from '../bench/gpu/limits';
import { predictNextMs } from '../bench/gpu/one-shot';
import { GpuBenchReport } from '../bench/gpu/report';
import { decodeTable, num, oneShotTable, prefillTable, renderReport, targetLines } from '../bench/gpu/report-tables';
import { SHAPES } from '../bench/gpu/shapes';
import { defaultOptions } from '../bench/gpu/options';

const Q7 = SHAPES['qwen2.5-coder-7b'];
const Q15 = SHAPES['qwen2.5-coder-1.5b'];

/** Layer matrices of the 7B shape, written out by hand (not through bench/flops.ts). */
const LAYER_7B = 3584 * 3584 + 2 * 512 * 3584 + 3584 * 3584 + 3 * 18944 * 3584; // q, k+v, o, gate+up+down
const LAYER_15B = 1536 * 1536 + 2 * 256 * 1536 + 1536 * 1536 + 3 * 8960 * 1536;

function close(actual: number, expected: number, relative = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${actual} is not ${expected}`);
}

describe('GPU benchmark limits and targets', () => {
  it('counts prefill FLOPs per token: 2 per weight, attention at the mean context, one row of logits', () => {
    const n = 32768;
    const expected = 2 * 28 * LAYER_7B + 4 * 28 * 28 * 128 * ((n + 1) / 2) + (2 * 3584 * 152064) / n;
    close(prefillFlopsPerToken(Q7, n), expected);
    // 7B at 32K: about 13.1 GFLOP of matrices and 6.6 GFLOP of attention per token.
    close(prefillFlopsPerToken(Q7, n), 19.63e9, 0.01);
    // At 800 TFLOP/s that is about 42,000 tokens/s.
    close(prefillLimitTokensPerSecond(Q7, n, 800), 800e12 / expected);
    // A prefill of 32K tokens in 1.5 s reaches 32768 x FLOPs/token / 1.5 s.
    close(prefillTflops(Q7, n, 1500), (n * expected) / 1.5 / 1e12);
  });

  it('counts the bytes a decode step reads: layer matrices and the output projection, plus the KV held', () => {
    close(decodeWeightBytes(Q7, 'BF16'), (28 * LAYER_7B + 152064 * 3584) * 2);
    // Tied 1.5B: the embedding matrix is the output projection, read once per step.
    close(decodeWeightBytes(Q15, 'BF16'), (28 * LAYER_15B + 151936 * 1536) * 2);
    close(decodeWeightBytes(Q15, 'Q8_0'), ((28 * LAYER_15B + 151936 * 1536) * 34) / 32);
    // bf16 KV of 128K positions of the 7B shape: 2 x 28 layers x 4 heads x 128 x 2 bytes per position.
    assert.strictEqual(kvBytes(Q7, 131072, 2), 2 * 28 * 4 * 128 * 131072 * 2);
    assert.strictEqual(kvBytes(Q7, 1, 4, 28), 2 * 28 * 28 * 128 * 4);
    // 15 GB at 3000 GB/s: 5 ms.
    close(streamMs(15e9, 3000), 5);
    // Roofline: the larger of compute and memory time.
    close(rooflineMs(8e12, 3e9, 800, 3000), 10);
    close(rooflineMs(8e9, 30e9, 800, 3000), 10);
  });

  it('says "met" or "missed by Nx" against each target', () => {
    assert.deepStrictEqual(atMost(0.9, 1), { met: true, ratio: 0.9, text: 'met' });
    assert.strictEqual(atMost(1.2, 1).text, 'missed by 1.20x');
    assert.strictEqual(atMost(25, 1).text, 'missed by 25x');
    assert.strictEqual(atLeast(300, 400).text, 'missed by 1.33x');
    assert.strictEqual(atLeast(NaN, 400).text, 'not measured');
    assert.strictEqual(atLeast(0, 400).text, 'missed (measured 0)');
    // Decode from a compact cache: within 1.3x of the weights-over-bandwidth time.
    assert.strictEqual(compactDecodeVerdict(6.5, 5).text, 'met');
    assert.strictEqual(compactDecodeVerdict(13, 5).text, 'missed by 2.00x');
    // Prefill at 32K: half the matrix rate.
    assert.strictEqual(prefillVerdict(400, 800).text, 'met');
    assert.strictEqual(prefillVerdict(100, 800).text, 'missed by 4.00x');
    // One-shot: past a million tokens.
    assert.strictEqual(oneShotVerdict(1048576).text, 'met');
    assert.strictEqual(oneShotVerdict(524288).text, 'missed by 1.91x');
    assert.strictEqual(TARGETS.oneShotTokens, 1_000_000);
  });

  it('predicts the next one-shot step from the FLOPs: between linear and quadratic in the prompt', () => {
    const next = predictNextMs(Q7, 131072, 10_000, 262144);
    close(next, (10_000 * prefillFlopsPerToken(Q7, 262144) * 262144) / (prefillFlopsPerToken(Q7, 131072) * 131072));
    assert.ok(next > 20_000 && next < 40_000, String(next));
  });

  it('prints small figures with three significant digits instead of 0.0', () => {
    assert.strictEqual(num(0.0123, 1), '0.0123');
    assert.strictEqual(num(12.345, 1), '12.3');
    assert.strictEqual(num(0, 2), '0.00');
    assert.strictEqual(num(NaN), 'n/a');
  });

  describe('tables from a fixed report', () => {
    const report: GpuBenchReport = {
      version: 1,
      startedAt: '2026-11-24T12:00:00.000Z',
      complete: true,
      commands: ['npm run bench:gpu'],
      sections: ['prefill', 'decode', 'ttft', 'oneshot', 'torch'],
      options: defaultOptions(false),
      device: {
        date: '2026-11-24T12:00:00.000Z',
        gpu: 'NVIDIA H100 80GB HBM3',
        driver: '580.159.04',
        cudaVersion: '13.0',
        gpuMemory: '81559 MiB',
        nvcc: '13.0 V13.0.88',
        engineCuda: 'usable',
        cpu: 'x86',
        logicalCpus: 16,
        hostMemoryBytes: 128e9,
        node: 'v20.20.2',
        platform: 'linux',
      },
      engine: {
        backend: 'cuda',
        shapes: [
          {
            shape: 'qwen2.5-coder-7b',
            weightType: 'BF16',
            kvBytesPerPosition: 57344,
            prefill: [
              { tokens: 32768, medianMs: 4000, runsMs: [4000], tokensPerSecond: 8192 },
              { tokens: 131072, error: 'OOM' },
            ],
            decode: [
              { context: 16384, cache: 'full', medianMsPerToken: 9, cacheBytes: 16384 * 57344 },
              { context: 16384, cache: 2048, medianMsPerToken: 6, cacheBytes: 2048 * 57344 },
              { context: 16384, cache: 4096, medianMsPerToken: 12, cacheBytes: 4096 * 57344 },
            ],
            ttft: [{ prefix: 131072, question: 64, cache: 'full', medianMs: 50, runsMs: [50] }],
            oneShot: {
              shape: 'qwen2.5-coder-7b',
              budget: 2048,
              attempts: [
                { tokens: 524288, outcome: 'ok', ms: 100_000, cacheBytes: 1e8 },
                { tokens: 1048576, outcome: 'out-of-memory', error: 'OOM' },
              ],
              longestOk: 524288,
              stoppedBy: 'out-of-memory',
            },
          },
        ],
      },
      torch: {
        status: 'ok',
        command: 'python3 bench/gpu/torch_bench.py',
        report: {
          device: 'cuda',
          limits: { matmul: { n: 8192, tflops: 800, medianMs: 1.37, runsMs: [1.37] }, copy: { bytes: 2 ** 31, gbps: 3000, medianMs: 1.4, runsMs: [1.4] } },
          shapes: [{ shape: 'qwen2.5-coder-7b', prefill: [{ tokens: 32768, medianMs: 2000, tokensPerSecond: 16384 }], decode: [{ context: 16384, steps: 64, medianMsPerToken: 11 }] }],
          skipped: null,
        },
      },
    };
    const limits = { matmulTflops: 800, copyGBps: 3000 };

    it('puts prefill next to the bf16 rate, the baseline and the 32K target', () => {
      const rows = prefillTable(report, limits).rows;
      const achieved = prefillTflops(Q7, 32768, 4000);
      assert.deepStrictEqual(rows[0].slice(0, 5), ['qwen2.5-coder-7b', '32768', '8192', num(achieved, 1), `${Math.round((100 * achieved) / 800)}%`]);
      assert.strictEqual(rows[0][5], '16384');
      assert.strictEqual(rows[0][8], prefillVerdict(achieved, 800).text);
      assert.match(rows[0][8], /^missed by /);
      assert.strictEqual(rows[1][2], 'OOM');
      assert.strictEqual(rows[1][8], '-');
    });

    it('puts decode next to the weight-bytes limit, judging compact caches only', () => {
      const rows = decodeTable(report, limits).rows;
      const weightsMs = streamMs(decodeWeightBytes(Q7, 'BF16'), 3000);
      assert.strictEqual(rows[0][2], 'full cache');
      assert.strictEqual(rows[0][8], '-');
      assert.strictEqual(rows[0][9], '11.00');
      assert.strictEqual(rows[0][5], num(weightsMs, 2));
      assert.strictEqual(rows[1][2], 'SnapKV 2048');
      assert.strictEqual(rows[1][8], compactDecodeVerdict(6, weightsMs).text);
      assert.strictEqual(rows[1][8], 'met');
      assert.strictEqual(rows[2][8], `missed by ${(12 / (1.3 * weightsMs)).toFixed(2)}x`);
      assert.strictEqual(rows[2][9], '-');
    });

    it('reports the one-shot search with its stop and the 1M target', () => {
      const rows = oneShotTable(report).rows;
      assert.deepStrictEqual(rows.map((r) => r[2]), ['ok', 'OOM', 'stopped by out-of-memory']);
      assert.strictEqual(rows[2][5], 'missed by 1.91x');
    });

    it('lists every target, and renders a document with the commands and the limits', () => {
      const lines = targetLines(report, limits);
      assert.strictEqual(lines.length, 1 + 2 + 1);
      const markdown = renderReport(report);
      assert.match(markdown, /^# GPU benchmark: NVIDIA H100 80GB HBM3, 2026-11-24/);
      assert.match(markdown, /npm run bench:gpu\npython3 bench\/gpu\/torch_bench\.py/);
      assert.match(markdown, /800\.0 TFLOP\/s/);
      assert.match(markdown, /3000 GB\/s read \+ write/);
      assert.match(markdown, /1 met, 3 missed, 0 not decided/);
      assert.doesNotMatch(markdown, /Incomplete|not measured\*\*/);
    });
  });
});
