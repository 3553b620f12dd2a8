// Whether the repository is answered from a prefix cache or one-shot. A
// prefix cache (DESIGN.md section 1) is prefilled once and every question is
// compressed against it; when the repository's keys and values do not fit in
// the memory the engine may use, one-shot mode still answers: each question
// runs the whole prompt layer by layer and keeps only one layer's keys and
// values at a time, at the cost of reading the whole repository again for
// every question.
import * as os from 'os';
import { EngineError } from '../engine';
import type { Model } from '../engine';
import type { NativeOneShotPlan } from '../engine/native-addon';
import { formatBytes } from '../format-bytes';
import type { AnswerModeInfo } from '../protocol';
import { QUESTION_RESERVE_TOKENS } from './prompt';
import type { ResolvedSettings } from './settings';

/** Memory the engine may fill with something, and where it is, in words ("host memory"). */
export interface MemoryLimit {
  bytes: number;
  where: string;
}

export interface AnswerModeFacts {
  /** The packed repository (the template head included). */
  repositoryTokens: number;
  /** Bytes its prefix cache would take. */
  prefixBytes: number;
  prefixLimit: MemoryLimit;
  /** One-shot of the repository with room for a question and its answer; null when the backend cannot say. */
  oneShot: NativeOneShotPlan | null;
  oneShotLimit: MemoryLimit;
}

export type AnswerMode =
  | { kind: 'prefix-cache'; info: AnswerModeInfo }
  | { kind: 'one-shot'; info: AnswerModeInfo; oneShotBytes: number };

/** What the user reads when questions are answered one-shot. */
export function oneShotNote(prefixLimit: MemoryLimit): string {
  return `repository too large for a prefix cache in ${formatBytes(prefixLimit.bytes)}; answering one-shot (each question reads the whole repository)`;
}

/**
 * Prefix cache when it fits, else one-shot when that fits; else an OUT_OF_MEMORY error that names the sizes
 * and what to do.
 */
export function chooseAnswerMode(facts: AnswerModeFacts): AnswerMode {
  if (facts.prefixBytes <= facts.prefixLimit.bytes) return { kind: 'prefix-cache', info: { mode: 'prefix-cache' } };
  const plan = facts.oneShot;
  const oneShotBytes = plan?.bytesNeeded ?? Number.POSITIVE_INFINITY;
  if (plan && oneShotBytes <= facts.oneShotLimit.bytes) {
    return { kind: 'one-shot', info: { mode: 'one-shot', note: oneShotNote(facts.prefixLimit) }, oneShotBytes };
  }
  const repository = `the repository (${facts.repositoryTokens.toLocaleString('en-US')} tokens)`;
  const prefix = `its prefix cache needs ${formatBytes(facts.prefixBytes)}, over the ${formatBytes(facts.prefixLimit.bytes)} of ${facts.prefixLimit.where} the engine may use`;
  const oneShot = plan
    ? `answering one-shot needs ${formatBytes(plan.bytesNeeded)} of ${facts.oneShotLimit.where}, over the ${formatBytes(facts.oneShotLimit.bytes)} free for it` +
      ` (the longest prompt that fits one-shot is ${plan.longestPrompt.toLocaleString('en-US')} tokens)`
    : 'and this backend cannot answer one-shot';
  throw new EngineError(
    'OUT_OF_MEMORY',
    `${repository} fits neither way: ${prefix}; ${oneShot}. ` +
      'Pack fewer files (setting maxContextTokens or exclude globs), let the engine use more memory (settings hostMemoryGiB, gpuMemoryGiB), ' +
      'free memory, or use a smaller model.',
  );
}

/** Room for a question and its answer in the one-shot plan made when the repository is indexed. */
export interface QuestionRoom {
  questionTokens: number;
  answerTokens: number;
}

/**
 * The facts for `model` and `settings`: a prefix cache lives in host memory on the CPU backend, and on a GPU
 * where it fits beside what the engine computes, else in (pinned) host memory. `heldBytes` are those of the
 * prefix cache the index holds now, which the new one replaces.
 */
export function answerModeFacts(model: Model, settings: ResolvedSettings, repositoryTokens: number, room: QuestionRoom, heldBytes: number): AnswerModeFacts {
  const hostBytes = settings.hostMemoryBytes > 0 ? settings.hostMemoryBytes : os.freemem() + heldBytes;
  const host: MemoryLimit = { bytes: hostBytes, where: 'host memory' };
  const gpu = model.gpuMemory();
  const gpuFree = gpu && !settings.prefixInHostMemory ? Math.max(0, gpu.budget - gpu.inUse) : 0;
  const prefixLimit: MemoryLimit = gpu ? { bytes: gpuFree + hostBytes, where: settings.prefixInHostMemory ? 'host memory' : 'GPU and host memory' } : host;
  const oneShot = model.planOneShot(repositoryTokens + room.questionTokens, {
    window: settings.snapkv.window,
    budget: settings.snapkv.budget,
    kernel: settings.snapkv.kernel,
    pooling: settings.snapkv.pooling,
    reserveTokens: room.answerTokens + 1,
  });
  // One-shot computes where the backend does: on the GPU its plan knows what is free; on the CPU the
  // host limit applies as well.
  const oneShotLimit: MemoryLimit = oneShot
    ? { bytes: gpu ? oneShot.bytesAvailable : Math.min(hostBytes, oneShot.bytesAvailable), where: oneShot.memory }
    : host;
  return {
    repositoryTokens,
    prefixBytes: repositoryTokens * model.info.kvBytesPerToken,
    prefixLimit,
    oneShot,
    oneShotLimit,
  };
}

/** What WorkspaceIndex asks before it prefills: the choice for `model` under `settings`, planned with room for a question. */
export function answerModeChooser(model: Model, settings: ResolvedSettings): (tokens: number, heldPrefixBytes: number) => AnswerMode {
  const room: QuestionRoom = { questionTokens: QUESTION_RESERVE_TOKENS, answerTokens: settings.maxAnswerTokens };
  return (tokens, held) => chooseAnswerMode(answerModeFacts(model, settings, tokens, room, held));
}
