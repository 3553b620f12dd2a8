// What a failure means over HTTP: the protocol's code (failure-code.ts
// classifies every error once, for LSP, MCP and HTTP alike) and the status
// each code answers with. The table is total over the code list, so a new
// code does not compile until it has a status.
import { failureCode } from '../failure-code';
import type { ErrorCode } from '../protocol';
import { HttpError } from './chat-request';

/** 499: the client went away (nginx's status; nobody reads it, but logs say what happened). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_FILE: 500,
  UNSUPPORTED_MODEL: 500,
  INVALID_ARGUMENT: 400,
  CAPACITY_EXCEEDED: 400,
  OUT_OF_MEMORY: 503,
  IO_ERROR: 500,
  BUSY: 503,
  DISPOSED: 503,
  FINISHED: 500,
  BACKEND_UNAVAILABLE: 500,
  INTERNAL: 500,
  CANCELLED: 499,
  NO_MODEL: 400,
  MODEL_NOT_LOADED: 500,
  INVALID_SETTINGS: 400,
  INVALID_PARAMS: 400,
  INVALID_REQUEST: 400,
  INDEX_INCOMPLETE: 400,
  NOTHING_TO_READ: 400,
  QUESTION_TOO_LONG: 400,
  WORKSPACE_UNREADABLE: 500,
  REMOTE_FAILED: 502,
  UNEXPECTED: 500,
};

/** A session's failure as the HTTP error sent for it; the message starts with the code, as MCP's tool errors do. */
export function httpErrorOf(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const code = failureCode(error);
  const status = HTTP_STATUS[code];
  const message = error instanceof Error ? error.message : String(error);
  return new HttpError(status, `${code}: ${message}`, status >= 500 ? 'server_error' : 'invalid_request_error');
}
