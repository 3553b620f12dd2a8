// `snapkv/context`: what SnapKV keeps for a question, with the text of the
// kept lines and no answer. The VS Code language-model tool
// `snapkv_repository_context` reaches the engine through it.
import type { Connection } from 'vscode-languageserver/node';
import type { ContextParams } from '../protocol';
import { Methods } from '../protocol';
import type { Session } from '../session/session';
import { abortOn } from './handlers';
import { answering } from './request-errors';

export function registerContextHandler(connection: Connection, session: Session, log: (line: string) => void): void {
  connection.onRequest(Methods.context, (params: ContextParams, token) =>
    answering(() => session.context(params, { signal: abortOn(token).signal }), log, 'repository context'),
  );
}
