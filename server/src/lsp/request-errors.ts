// Failures as the client sees them: a ResponseError whose message says what
// to do and whose data carries the protocol's code to branch on; cancellation
// is LSP's RequestCancelled.
import { ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';
import { failureCode } from '../failure-code';
import type { ErrorCode, ErrorData } from '../protocol';

function lspCode(code: ErrorCode): number {
  if (code === 'CANCELLED') return LSPErrorCodes.RequestCancelled;
  if (code === 'INVALID_PARAMS' || code === 'INVALID_SETTINGS') return ErrorCodes.InvalidParams;
  return LSPErrorCodes.RequestFailed;
}

export function toResponseError(error: unknown): ResponseError<ErrorData> {
  if (error instanceof ResponseError) return error as ResponseError<ErrorData>;
  const code = failureCode(error);
  const message = code === 'CANCELLED' ? 'cancelled' : error instanceof Error ? error.message : String(error);
  return new ResponseError<ErrorData>(lspCode(code), message, { code });
}

/** Runs a handler and turns what it throws into a ResponseError, so one failure never stops the server. */
export async function answering<T>(work: () => Promise<T>, log: (line: string) => void, what: string): Promise<T | ResponseError<ErrorData>> {
  try {
    return await work();
  } catch (error) {
    const response = toResponseError(error);
    if (response.code !== LSPErrorCodes.RequestCancelled) log(`${what} failed: ${response.message}`);
    return response;
  }
}
