// Failures as the client sees them: a ResponseError whose message says what
// to do, and cancellation as LSP's RequestCancelled.
import { ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';
import { AbortError } from '../engine';
import { InvalidParamsError } from '../requests/schema';

export function toResponseError(error: unknown): ResponseError<void> {
  if (error instanceof ResponseError) return error as ResponseError<void>;
  if (error instanceof AbortError || (error instanceof Error && error.name === 'AbortError')) {
    return new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
  }
  const message = error instanceof Error ? error.message : String(error);
  const invalid = error instanceof InvalidParamsError || (error instanceof Error && error.name === 'SettingsError');
  const code = invalid ? ErrorCodes.InvalidParams : LSPErrorCodes.RequestFailed;
  return new ResponseError(code, message);
}

/** Runs a handler and turns what it throws into a ResponseError, so one failure never stops the server. */
export async function answering<T>(work: () => Promise<T>, log: (line: string) => void, what: string): Promise<T | ResponseError<void>> {
  try {
    return await work();
  } catch (error) {
    const response = toResponseError(error);
    if (response.code !== LSPErrorCodes.RequestCancelled) log(`${what} failed: ${response.message}`);
    return response;
  }
}
