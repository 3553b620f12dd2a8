// What kind of failure an error is, as a protocol ErrorCode: the one place
// that maps the server's error classes to the codes clients branch on.
import { AbortError, EngineError } from './engine';
import type { ErrorCode } from './protocol';
import { RemoteError } from './remote/openai-client';
import { InvalidParamsError } from './requests/schema';
import { ModelLoadError } from './session/loaded-model';
import { UserError } from './session/session';
import { WorkspaceError } from './workspace/workspace-errors';

export function failureCode(error: unknown): ErrorCode {
  if (error instanceof EngineError) return error.code;
  if (error instanceof AbortError || (error instanceof Error && error.name === 'AbortError')) return 'CANCELLED';
  if (error instanceof UserError) return error.code;
  if (error instanceof InvalidParamsError) return 'INVALID_PARAMS';
  // SettingsError and RemoteSettingsError share the name (they live apart, one per kind of setting).
  if (error instanceof Error && error.name === 'SettingsError') return 'INVALID_SETTINGS';
  if (error instanceof ModelLoadError) return 'MODEL_NOT_LOADED';
  if (error instanceof WorkspaceError) return error.code === 'INVALID_SETTING' ? 'INVALID_SETTINGS' : 'WORKSPACE_UNREADABLE';
  if (error instanceof RemoteError) return error.code;
  return 'UNEXPECTED';
}
