/**
 * snapkv-code against llama.cpp on the CPU, in one run: `npm run bench:peer`
 * (`-- --quick` for a minutes-long pass, `-- --help` for the options).
 *
 * Installs node-llama-cpp into a scratch folder outside the project, writes
 * GGUF files of real Qwen shapes (random weights, the real vocabulary) that
 * both engines read, and prints markdown tables to stdout (progress to
 * stderr); the results go to bench/results/peer-latest.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cpuSnapshot, machineInfo, otherLoad } from '../machine';
import { repoRoot } from '../native-tools';
import { Table, renderTable } from '../tables';
import { AskTiming, timeAsk } from './ask-timing';
import { NODE_LLAMA_CPP_VERSION, PeerLlama, ensureNodeLlamaCpp, loadPeerLlama } from './llama-cpp-package';
import { LogitsComparison, compareLogits } from './logits-compare';
import { ensurePeerModel } from './model-files';
import { PeerOptions, parsePeerOptions } from './options';
import { UsageRequested } from '../usage';
import { FileRuns, askTable, logitsTable, snapkvTable, speedTable } from './peer-tables';
import { SnapkvResult, measureSnapkv } from './snapkv-rows';
import { measureFile } from './speed-rows';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function speedSection(llama: PeerLlama, options: PeerOptions): Promise<FileRuns[]> {
  const files = options.shapes.flatMap((shape) => options.types.map((type) => ensurePeerModel(shape, type, options.modelsDir, log)));
  const results: FileRuns[] = [];
  for (const file of files) {
    log(`speed: ${file.shape.name} ${file.type}`);
    const before = cpuSnapshot();
    const runs = await measureFile(llama, file, { ...options, log });
    results.push({ shape: file.shape.name, type: file.type, fileBytes: file.bytes, runs, otherLoad: otherLoad(before, cpuSnapshot()) });
  }
  return results;
}

async function snapkvSection(options: PeerOptions): Promise<SnapkvResult[]> {
  const results: SnapkvResult[] = [];
  for (const shape of options.shapes) {
    const file = ensurePeerModel(shape, options.snapkvType, options.modelsDir, log);
    results.push(await measureSnapkv(file, options.snapkvLengths, options.threads, options.repeats, log));
  }
  return results;
}

async function logitsSection(llama: PeerLlama, options: PeerOptions): Promise<LogitsComparison[]> {
  const rows: LogitsComparison[] = [];
  for (const type of options.logitsTypes) {
    const file = ensurePeerModel(options.logitsShape, type, options.modelsDir, log);
    log(`logits: ${file.shape.name} ${type}`);
    rows.push(await compareLogits(llama, file, options.logitsPrompts, options.logitsPromptLength, options.threads, options.logitsExact));
  }
  return rows;
}

async function main(): Promise<void> {
  const root = repoRoot();
  const options = parsePeerOptions(process.argv.slice(2), root);
  const wants = (section: PeerOptions['sections'][number]): boolean => options.sections.includes(section);
  const machine = machineInfo(options.threads);
  log(`peer bench${options.quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${options.threads} threads, models in ${options.modelsDir}`);

  let llama: PeerLlama | undefined;
  if (wants('speed') || wants('logits')) {
    await ensureNodeLlamaCpp(options.scratch, log);
    llama = await loadPeerLlama(options.scratch, options.threads);
    log(`llama.cpp ${llama.llamaCppRelease.release} (node-llama-cpp ${NODE_LLAMA_CPP_VERSION}, ${llama.buildType} build, gpu: ${String(llama.gpu)})`);
  }
  const tables: Table[] = [];
  const json: Record<string, unknown> = {
    machine,
    quick: options.quick,
    threads: options.threads,
    llamaCpp: llama ? { nodeLlamaCpp: NODE_LLAMA_CPP_VERSION, release: llama.llamaCppRelease.release, buildType: llama.buildType } : undefined,
  };
  try {
    if (wants('speed') && llama) {
      const speed = await speedSection(llama, options);
      tables.push(speedTable(speed, options.threads, options.repeats, options.decodeTokens));
      json.speed = { prefillLengths: options.prefillLengths, decodeContexts: options.decodeContexts, decodeTokens: options.decodeTokens, repeats: options.repeats, files: speed };
    }
    if (wants('snapkv')) {
      const snapkv = await snapkvSection(options);
      tables.push(snapkvTable(snapkv));
      json.snapkv = snapkv;
    }
    if (wants('logits') && llama) {
      const logits = await logitsSection(llama, options);
      tables.push(logitsTable(logits));
      json.logits = logits;
    }
    if (wants('ask')) {
      const file = ensurePeerModel(options.askShape, 'Q4_K_M', options.modelsDir, log);
      const ask: AskTiming = await timeAsk(root, file, options.askFolder, options.askQuestion, options.askMaxTokens, log);
      tables.push(askTable(ask));
      json.ask = ask;
    }
  } finally {
    await llama?.dispose();
  }
  process.stdout.write(`${tables.map(renderTable).join('\n\n')}\n`);
  const out = options.out ?? path.join(root, 'bench', 'results', 'peer-latest.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  log(`results: ${out}`);
}

main().catch((error: unknown) => {
  if (error instanceof UsageRequested) {
    process.stdout.write(`${error.message}\n`);
    return;
  }
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
