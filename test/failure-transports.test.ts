// One code list (protocol.ts), one classifier (failure-code.ts), and every
// transport reading them: each code becomes an MCP tool error carrying it and
// an HTTP error with a status chosen for it, as LSP's ResponseError.data
// carries it (error-codes.test.ts follows that one to the editor).
import * as assert from 'assert';
import { AbortError, EngineError } from '../server/src/engine';
import { failureCode } from '../server/src/failure-code';
import { HttpError } from '../server/src/http/chat-request';
import { HTTP_STATUS, httpErrorOf } from '../server/src/http/failure-status';
import { toolError } from '../server/src/mcp/repository-mcp-server';
import { ENGINE_ERROR_CODES, ErrorCode, SERVER_ERROR_CODES } from '../server/src/protocol';
import { RemoteError } from '../server/src/remote/openai-client';
import { InvalidParamsError } from '../server/src/requests/schema';
import { UserError } from '../server/src/session/session';
import { SettingsError } from '../server/src/session/settings';

/** An error of the kind each code is thrown as. */
function errorFor(code: ErrorCode): Error {
  if ((ENGINE_ERROR_CODES as readonly string[]).includes(code)) return new EngineError(code as (typeof ENGINE_ERROR_CODES)[number], `engine says ${code}`);
  if (code === 'CANCELLED') return new AbortError();
  return new UserError(`server says ${code}`, code as (typeof SERVER_ERROR_CODES)[number]);
}

describe('failure codes over MCP and HTTP', () => {
  const ALL: readonly ErrorCode[] = [...ENGINE_ERROR_CODES, ...SERVER_ERROR_CODES];

  it('every code is an MCP tool error naming it and an HTTP error with its status', () => {
    for (const code of ALL) {
      const error = errorFor(code);
      assert.strictEqual(failureCode(error), code);
      const tool = toolError(error);
      assert.strictEqual(tool.isError, true, code);
      assert.deepStrictEqual(tool.structuredContent, { error: { code, message: error.message } });
      assert.deepStrictEqual(tool.content, [{ type: 'text', text: `${code}: ${error.message}` }]);
      const http = httpErrorOf(error);
      const status = HTTP_STATUS[code];
      assert.ok(Number.isInteger(status) && status >= 400 && status < 600, `${code}: ${status}`);
      assert.strictEqual(http.status, status, code);
      assert.strictEqual(http.message, `${code}: ${error.message}`);
      assert.strictEqual(http.type, status >= 500 ? 'server_error' : 'invalid_request_error', code);
    }
    assert.deepStrictEqual(Object.keys(HTTP_STATUS).sort(), [...ALL].sort(), 'a status for each code and no other');
  });

  it('statuses say who can act: the client (4xx), a retry (503), or the server (5xx)', () => {
    for (const code of ['INVALID_ARGUMENT', 'CAPACITY_EXCEEDED', 'INVALID_PARAMS', 'QUESTION_TOO_LONG'] as const) assert.strictEqual(HTTP_STATUS[code], 400, code);
    for (const code of ['OUT_OF_MEMORY', 'BUSY', 'DISPOSED'] as const) assert.strictEqual(HTTP_STATUS[code], 503, code);
    assert.strictEqual(HTTP_STATUS.REMOTE_FAILED, 502);
    for (const code of ['INVALID_FILE', 'UNSUPPORTED_MODEL', 'INTERNAL', 'UNEXPECTED'] as const) assert.strictEqual(HTTP_STATUS[code], 500, code);
  });

  it('the server error classes reach the same codes whichever transport carries them', () => {
    const cases: Array<[Error, ErrorCode]> = [
      [new SettingsError('setting x is bad'), 'INVALID_SETTINGS'],
      [new InvalidParamsError('ask.question must be a string'), 'INVALID_PARAMS'],
      [new RemoteError('the endpoint said 502', 502), 'REMOTE_FAILED'],
      [new TypeError('a bug'), 'UNEXPECTED'],
    ];
    for (const [error, code] of cases) {
      assert.strictEqual((toolError(error).structuredContent as { error: { code: string } }).error.code, code);
      assert.strictEqual(httpErrorOf(error).status, HTTP_STATUS[code]);
    }
    const own = new HttpError(413, 'the body is larger than 1 MiB');
    assert.strictEqual(httpErrorOf(own), own, "HTTP's own errors pass as they are");
  });
});
