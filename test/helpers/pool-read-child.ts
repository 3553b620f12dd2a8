// Run by engine-api.test.ts with UV_THREADPOOL_SIZE=1: starts a long prefill
// and, once it reports progress (the engine is busy), reads a file through
// libuv's thread pool. Prints which of the two ended first, as one JSON line.
import * as fs from 'fs';
import { Engine } from '../../server/src/engine';
import { promptTokens } from '../fixtures/tiny-models';

async function main(): Promise<void> {
  const [modelPath, lengthText] = process.argv.slice(2);
  const model = await Engine.load(modelPath, { backend: 'cpu', threads: 1 });
  const ended: string[] = [];
  let reading: Promise<void> | undefined;
  const prefix = await model.prefill(promptTokens(Number(lengthText), 8), {
    chunkTokens: 64,
    logits: 'none',
    onProgress: () => {
      // A small file: a few pool jobs of microseconds each, so only a pool held by the engine delays them.
      reading ??= fs.promises.readFile(__filename).then(() => void ended.push('read'));
    },
  });
  ended.push('prefill');
  await reading;
  prefix.dispose();
  model.dispose();
  process.stdout.write(`${JSON.stringify({ ended })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
