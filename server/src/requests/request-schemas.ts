// The schema of every request the server accepts (protocol.ts), with the
// limits that keep one request from freezing or poisoning the server: a 10 MB
// question would block the event loop while it is tokenized and then prefill
// for minutes, a mistyped number would turn the memory estimate into NaN.
import { KV_TYPES } from '../engine';
import type { AskParams, CancelParams, ContextMapParams, IndexParams, ModelsParams, ServerSettings } from '../protocol';
import { boolean, Check, either, finite, integer, InvalidParamsError, list, object, oneOf, optional, params, text } from './schema';

/** The question itself: longer is a document, not a question. */
export const MAX_QUESTION_CHARS = 32_000;
/** A selection (and, separately, the lines around it). */
export const MAX_SELECTION_CHARS = 200_000;
/** Everything a question carries together: question, selection, surroundings, history. */
export const MAX_ASK_CHARS = 400_000;
export const MAX_HISTORY_TURNS = 100;
/** Largest answer a request may ask for; the session caps it further by its own setting. */
export const MAX_ANSWER_TOKENS = 131_072;
const MAX_PATH_CHARS = 4096;
const MAX_ID_CHARS = 256;
const MAX_GLOBS = 1000;
const MAX_GLOB_CHARS = 1000;
/** Generous bounds on SnapKV sizes: far past any model's context, small enough never to overflow a byte count. */
const MAX_TOKENS_ANYWHERE = 1 << 24;

const pathText = text({ maxLength: MAX_PATH_CHARS });
const requestId = text({ maxLength: MAX_ID_CHARS, nonBlank: true });
const globList = list(text({ maxLength: MAX_GLOB_CHARS }), MAX_GLOBS);

const snapkvSettings = object({
  window: optional(integer(1, MAX_TOKENS_ANYWHERE)),
  budget: optional(integer(1, MAX_TOKENS_ANYWHERE)),
  kernel: optional(integer(1, 1023)),
  pooling: optional(oneOf('max', 'avg')),
});

const serverSettingsShape = {
  modelPath: optional(pathText),
  backend: optional(oneOf('auto', 'cuda', 'cpu')),
  gpuMemoryGiB: optional(finite(0, 1 << 20)),
  hostMemoryGiB: optional(finite(0, 1 << 20)),
  prefixInHostMemory: optional(boolean),
  exact: optional(boolean),
  ropeScaling: optional(oneOf('file', 'none', 'linear', 'yarn')),
  ropeScale: optional(finite(1, 1024)),
  kvType: optional(oneOf(...KV_TYPES)),
  threads: optional(integer(0, 4096)),
  snapkv: optional(snapkvSettings),
  maxContextTokens: optional(integer(1, MAX_TOKENS_ANYWHERE)),
  include: optional(globList),
  exclude: optional(globList),
  includeSecrets: optional(globList),
  cacheDir: optional(pathText),
  compactMemoryLimit: optional(integer(1, Number.MAX_SAFE_INTEGER)),
  maxAnswerTokens: optional(integer(1, MAX_ANSWER_TOKENS)),
  serverUrl: optional(text({ maxLength: MAX_PATH_CHARS })),
  serverApiKey: optional(text({ maxLength: MAX_PATH_CHARS })),
  serverModel: optional(text({ maxLength: MAX_PATH_CHARS })),
};

const serverSettings: Check<ServerSettings> = params(serverSettingsShape);

const selection = object({
  path: pathText,
  startLine: integer(1, 100_000_000),
  endLine: integer(1, 100_000_000),
  text: text({ maxLength: MAX_SELECTION_CHARS }),
  surrounding: optional(text({ maxLength: MAX_SELECTION_CHARS })),
  languageId: optional(text({ maxLength: 100 })),
});

const chatTurn = object({
  question: text({ maxLength: MAX_QUESTION_CHARS }),
  answer: text({ maxLength: MAX_SELECTION_CHARS }),
});

const askShape = object({
  requestId,
  question: text({ maxLength: MAX_QUESTION_CHARS, nonBlank: true }),
  selection: optional(selection),
  activeFile: optional(pathText),
  history: optional(list(chatTurn, MAX_HISTORY_TURNS)),
  folder: optional(pathText),
  maxTokens: optional(integer(1, MAX_ANSWER_TOKENS)),
  temperature: optional(finite(0, 5)),
  snapkv: optional(snapkvSettings),
});

function askChars(ask: AskParams): number {
  let chars = ask.question.length;
  if (ask.selection) chars += ask.selection.text.length + (ask.selection.surrounding?.length ?? 0);
  for (const turn of ask.history ?? []) chars += turn.question.length + turn.answer.length;
  return chars;
}

const askParams: Check<AskParams> = (value, where) => {
  const ask = askShape(value, where) as AskParams;
  if (ask.selection && ask.selection.endLine < ask.selection.startLine) {
    throw new InvalidParamsError(`${where}.selection.endLine (${ask.selection.endLine}) must not be before startLine (${ask.selection.startLine})`);
  }
  const chars = askChars(ask);
  if (chars > MAX_ASK_CHARS) {
    throw new InvalidParamsError(
      `${where} is too long: question, selection and history hold ${chars} characters together, at most ${MAX_ASK_CHARS} are accepted; ` +
        'select less or start a new chat',
    );
  }
  return ask;
};

const indexParams: Check<IndexParams> = params({
  folder: optional(pathText),
  force: optional(boolean),
  workDoneToken: optional(either(text({ maxLength: MAX_ID_CHARS }), integer(-(2 ** 31), 2 ** 31 - 1), 'a string or a whole number')),
});

const cancelParams: Check<CancelParams> = object({ requestId });
const contextMapParams: Check<ContextMapParams> = params({ requestId: optional(requestId) });
const modelsParams: Check<ModelsParams> = params({}) as Check<ModelsParams>;

/** Each checker takes the raw params and returns them typed, or throws InvalidParamsError naming the parameter. */
export const checkRequest = {
  index: (value: unknown): IndexParams => indexParams(value, 'index'),
  ask: (value: unknown): AskParams => askParams(value, 'ask'),
  cancel: (value: unknown): CancelParams => cancelParams(value, 'cancel'),
  contextMap: (value: unknown): ContextMapParams => contextMapParams(value, 'contextMap'),
  configure: (value: unknown): ServerSettings => serverSettings(value, 'settings'),
  models: (value: unknown): ModelsParams => modelsParams(value, 'models'),
  /** initializationOptions; the same shape as configure. */
  initialization: (value: unknown): ServerSettings => serverSettings(value, 'initializationOptions'),
};
