// What the editor offers when something fails: a deliberate choice for every
// failure code of the protocol (the compiler checks that none is left out),
// read from the code the server sends in ResponseError.data, never from the
// wording of the message. No `vscode` here, so the tests run it directly.
import type { ErrorCode } from '../../server/src/protocol';
import { isErrorCode } from '../../server/src/protocol';
import type { PanelAction } from './chat-messages';

/** The server's codes, and the one failure only the extension sees: a server that crashed too often. */
export type Failure = ErrorCode | 'SERVER_STOPPED';

export interface FailureAdvice {
  /** The button offered with the message. */
  action?: { label: string; command: PanelAction };
  /** A sentence shown after the message, where the message alone does not say what to do. */
  hint?: string;
}

/** An Error that keeps the failure code the server sent. */
export class ServerFailure extends Error {
  override name = 'ServerFailure';
  constructor(
    message: string,
    readonly failure: Failure | undefined,
  ) {
    super(message);
  }
}

/** The code in a ResponseError's data (or a ServerFailure's), when it is one the protocol knows. */
export function failureOf(error: unknown): Failure | undefined {
  if (error instanceof ServerFailure) return error.failure;
  if (typeof error !== 'object' || error === null) return undefined;
  const data = (error as { data?: unknown }).data;
  const code = typeof data === 'object' && data !== null ? (data as { code?: unknown }).code : undefined;
  return isErrorCode(code) ? code : undefined;
}

const SELECT_MODEL = { label: 'Select Model', command: 'selectModel' } as const;
const OPEN_SETTINGS = { label: 'Open Settings', command: 'openSettings' } as const;
const SHOW_LOG = { label: 'Show Log', command: 'showLog' } as const;
const REINDEX = { label: 'Reindex', command: 'reindex' } as const;
const RESTART_SERVER = { label: 'Restart Server', command: 'restartServer' } as const;
const NEW_CHAT = { label: 'New Chat', command: 'newChat' } as const;

export function adviceFor(failure: Failure | undefined): FailureAdvice {
  switch (failure) {
    // The file cannot run here: another model is the way out.
    case 'INVALID_FILE':
    case 'UNSUPPORTED_MODEL':
    case 'NO_MODEL':
    case 'MODEL_NOT_LOADED':
      return { action: SELECT_MODEL };
    case 'OUT_OF_MEMORY':
      return {
        action: OPEN_SETTINGS,
        hint: 'Close other programs using the memory, choose a smaller model, or lower snapkvCode.gpuMemoryGiB, snapkvCode.maxContextTokens or the SnapKV budget.',
      };
    case 'CAPACITY_EXCEEDED':
      return { action: OPEN_SETTINGS, hint: 'Leave files out (snapkvCode.exclude) or lower snapkvCode.maxContextTokens.' };
    case 'BACKEND_UNAVAILABLE':
      return { action: OPEN_SETTINGS, hint: 'Set snapkvCode.backend to "auto" or "cpu".' };
    case 'INVALID_SETTINGS':
    case 'REMOTE_FAILED':
    case 'NOTHING_TO_READ':
      return { action: OPEN_SETTINGS };
    case 'INDEX_INCOMPLETE':
      return { action: REINDEX };
    case 'QUESTION_TOO_LONG':
      return { action: NEW_CHAT, hint: 'A new chat drops the earlier turns that the question carries.' };
    case 'BUSY':
      return { hint: 'Another request is using the model; ask again when it is done.' };
    case 'SERVER_STOPPED':
      return { action: RESTART_SERVER };
    // The user stopped it: nothing to offer.
    case 'CANCELLED':
      return {};
    // A request the extension should not have made, a state the server should not reach, or an unreadable
    // folder or cache: the log has the detail.
    case 'IO_ERROR':
    case 'WORKSPACE_UNREADABLE':
    case 'INVALID_ARGUMENT':
    case 'INVALID_PARAMS':
    case 'INVALID_REQUEST':
    case 'DISPOSED':
    case 'FINISHED':
    case 'INTERNAL':
    case 'UNEXPECTED':
    case undefined:
      return { action: SHOW_LOG };
    default:
      return unhandled(failure);
  }
}

/**
 * A failure as the editor shows it, wherever it shows it (the chat panel's turn and notice, a command's
 * error message): the message, the hint after it, and the one button.
 */
export function failureNotice(message: string, failure: Failure | undefined): { text: string; action?: FailureAdvice['action'] } {
  const advice = adviceFor(failure);
  return { text: advice.hint ? `${message} ${advice.hint}` : message, action: advice.action };
}

/** What each button runs: a command and its arguments. */
export const ACTION_COMMANDS: Readonly<Record<PanelAction, readonly [string, ...unknown[]]>> = {
  trust: ['workbench.trust.manage'],
  restartServer: ['snapkvCode.restartServer'],
  selectModel: ['snapkvCode.selectModel'],
  showLog: ['snapkvCode.showLog'],
  reindex: ['snapkvCode.reindex'],
  openSettings: ['workbench.action.openSettings', 'snapkvCode'],
  newChat: ['snapkvCode.newChat'],
};

function unhandled(failure: never): FailureAdvice {
  throw new Error(`no advice for the failure ${String(failure)}`);
}
