// CLI: train.py's weights into the demonstration model's GGUF file.
//
//   node out/training/src/export-gguf.js --weights training/runs/demo \
//     --out models/snapkv-demo.gguf --type Q8_0 [--probe training/runs/demo/probe.json] [--max-mb 40]
//
// With --probe, a float32 export is loaded by the engine and its logits compared with the ones
// PyTorch computed (a mismatch is an error and nothing is written); the chosen type's own
// deviation from them, which is quantization error, is reported.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs, runCli, UsageError } from './cli-args';
import { EXPORT_TYPES, ExportType, exportGguf } from './export/gguf-export';
import { checkProbe, readProbe } from './export/probe-check';
import { defaultVocabPath, readSmallVocab } from './vocab/small-vocab';
import { readCheckpoint } from './weights/checkpoint';
import { parameterCount } from './weights/trainer-layout';

const USAGE = [
  'usage: node out/training/src/export-gguf.js --weights RUN_FOLDER|FILE.safetensors --out models/snapkv-demo.gguf',
  '         [--type Q8_0|F16|F32] [--probe probe.json] [--vocab training/tokenizer/snapkv-demo-vocab.json] [--max-mb 40]',
].join('\n');

if (require.main === module) {
  runCli(async () => {
    const args = parseArgs(process.argv.slice(2), { values: ['weights', 'out', 'type', 'probe', 'vocab', 'max-mb'] });
    const type = args.value('type') ?? 'Q8_0';
    if (!(EXPORT_TYPES as readonly string[]).includes(type)) throw new UsageError(`--type must be one of ${EXPORT_TYPES.join(', ')}`);
    const vocabPath = args.value('vocab') ?? defaultVocabPath();
    const out = args.required('out');
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const checkpoint = readCheckpoint(args.required('weights'));
    const options = {
      vocab: readSmallVocab(vocabPath),
      vocabSha256: createHash('sha256').update(fs.readFileSync(vocabPath)).digest('hex'),
    };
    const probePath = args.value('probe');
    const probe = probePath === undefined ? undefined : readProbe(probePath);
    if (probe !== undefined) {
      // The conventions (names, shapes, RoPE layout, GQA mapping) are checked exactly on a
      // float32 copy; quantization error, which depends on the weights, is only reported.
      const exact = `${out}.f32.tmp`;
      try {
        exportGguf(checkpoint, exact, { ...options, type: 'F32' });
        const result = await checkProbe(exact, probe, 'F32');
        process.stdout.write(`probe, F32: relative error ${result.relativeError.toExponential(2)} (tolerance ${result.tolerance}), same argmax: ${result.sameArgmax}\n`);
        if (!result.ok) throw new Error('the exported model does not compute what PyTorch computed: nothing written');
      } finally {
        fs.rmSync(exact, { force: true });
      }
    }
    const tmp = `${out}.tmp`;
    const exported = exportGguf(checkpoint, tmp, { ...options, type: type as ExportType });
    const megabytes = exported.layout.fileSize / 1e6;
    const limit = args.number('max-mb', 40);
    if (megabytes > limit) {
      fs.rmSync(tmp, { force: true });
      throw new Error(`the model file would be ${megabytes.toFixed(1)} MB, over the ${limit} MB limit: use a smaller type or model`);
    }
    if (probe !== undefined && type !== 'F32') {
      const result = await checkProbe(tmp, probe, type as ExportType);
      process.stdout.write(`probe, ${type}: relative error ${result.relativeError.toExponential(2)} from quantization, same argmax: ${result.sameArgmax}\n`);
    }
    fs.renameSync(tmp, out);
    process.stdout.write(`${out}: ${megabytes.toFixed(1)} MB, ${type}, ${parameterCount(exported.config).toLocaleString('en-US')} parameters\n`);
  }, USAGE);
}
