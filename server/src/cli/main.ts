#!/usr/bin/env node
// `snapkv-code`: the terminal face of the main job. Ask a question about a
// folder, see what would be packed, or list the models found locally.
import { AbortError } from '../engine';
import { demoModelPath } from '../session/demo-model';
import { describeModels } from '../session/model-facts';
import { findLocalModels, howToGetAModel } from '../session/model-search';
import { resolveSettings } from '../session/settings';
import { Session } from '../session/session';
import { CliArgs, parseArgs, USAGE, UsageError } from './args';
import { printAnswerSummary, printAnswerText, printIndexPreview, printModels } from './output';
import { terminalJson, visibleText } from './terminal-text';
import { ProgressBar } from './progress-bar';

async function run(args: CliArgs, signal: AbortSignal): Promise<number> {
  if (args.command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.command === 'models') {
    const models = await describeModels(findLocalModels(), resolveSettings(args.settings).rope);
    if (args.json) process.stdout.write(`${terminalJson(models)}\n`);
    else printModels(models, howToGetAModel(), demoModelPath());
    return 0;
  }
  const log = (line: string): void => {
    if (args.verbose || line.startsWith('no model set')) process.stderr.write(`${visibleText(line)}\n`);
  };
  // Keys from the environment stay out of the process list.
  args.serve.apiKey ??= process.env.SNAPKV_API_KEY || undefined;
  args.settings.serverApiKey ??= process.env.SNAPKV_SERVER_API_KEY || undefined;
  const session = new Session({ settings: args.settings, defaultFolder: args.folder, log, fallbackModel: demoModelPath });
  const bar = new ProgressBar();
  try {
    // Loaded only for their commands: the MCP SDK alone takes longer to load than the rest of the CLI.
    if (args.command === 'mcp') return await (await import('./mcp-command.js')).runMcp(session, signal);
    if (args.command === 'serve') return await (await import('./serve-command.js')).runServe(session, args.serve, signal);
    if (args.command === 'index') {
      if (args.prefill) {
        const result = await session.indexFolder({ force: args.force, signal, onProgress: (p) => bar.update(p) });
        bar.clear();
        process.stderr.write(`prefilled ${result.prefilledTokens} tokens (${result.source}) in ${result.seconds.toFixed(1)} s\n`);
      }
      const preview = await session.previewIndex({ signal, onProgress: (p) => bar.update(p) });
      bar.clear();
      printIndexPreview(preview, args.json, session.status().model?.contextLength);
      return 0;
    }
    const result = await session.indexFolder({ force: args.force, signal, onProgress: (p) => bar.update(p) });
    bar.clear();
    if (!args.json) {
      process.stderr.write(`${result.files} files, ${result.tokens.toLocaleString('en-US')} tokens (${result.source}); ${result.leftOut.length} left out\n`);
      if (result.answerMode?.note) process.stderr.write(`${result.answerMode.note}\n`);
    }
    const answer = await session.ask(
      { requestId: 'cli', question: args.question ?? '', maxTokens: args.maxTokens, temperature: args.temperature },
      {
        signal,
        onDelta: (text) => {
          bar.clear();
          if (!args.json) printAnswerText(text);
        },
        // One-shot: the whole repository runs through the model for this question.
        onIndexProgress: (p) => bar.update(p),
      },
    );
    bar.clear();
    const map = session.contextMap('cli');
    if (args.json) process.stdout.write(`${terminalJson({ index: result, answer, contextMap: map })}\n`);
    else printAnswerSummary(answer, map);
    return answer.stopReason === 'cancelled' ? 130 : 0;
  } finally {
    bar.clear();
    await session.dispose();
  }
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nstopping (Ctrl-C again to quit at once)\n');
    controller.abort(new AbortError());
  });
  // What a service manager (or a test) sends: stop as after one Ctrl-C.
  process.on('SIGTERM', () => controller.abort(new AbortError()));
  try {
    process.exitCode = await run(args, controller.signal);
  } catch (error) {
    if (error instanceof AbortError) {
      process.stderr.write('cancelled\n');
      process.exitCode = 130;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`snapkv-code: ${visibleText(message)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

void main();
