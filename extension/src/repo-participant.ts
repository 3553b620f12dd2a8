// The @repo chat participant for VS Code's own chat view: the same server, the same references.
import * as vscode from 'vscode';
import type { ChatTurn, SelectionContext } from '../../server/src/protocol';
import { explainQuestion, selectionContext } from './explain-selection';
import { referenceLocation } from './references';
import { messageOf, RepoServer } from './repo-server';
import { RepositoryIndex } from './repository-index';

export const PARTICIPANT_ID = 'snapkv-code.repo';
/** Locations (one per kept line range) listed under an answer, at most. */
const MAX_REFERENCE_LOCATIONS = 12;

interface RepoChatResult extends vscode.ChatResult {
  metadata: { requestId?: string };
}

/** Registers @repo where the chat API exists (VS Code 1.90+); elsewhere it is left out without an error. */
export function registerRepoParticipant(
  extensionUri: vscode.Uri,
  server: RepoServer,
  index: RepositoryIndex,
  log: vscode.LogOutputChannel,
): vscode.Disposable | undefined {
  const chatApi = (vscode as { chat?: typeof vscode.chat }).chat;
  if (chatApi === undefined || typeof chatApi.createChatParticipant !== 'function') {
    log.info('This editor has no chat API: @repo is not available (the SnapKV chat panel is).');
    return undefined;
  }
  const handler: vscode.ChatRequestHandler = async (request, context, stream, token): Promise<RepoChatResult> => {
    try {
      if (index.state.kind !== 'indexed') stream.progress('Indexing the repository…');
      await index.ensureIndexed();
      const selection = request.command === 'explain' ? activeSelection(index) : referencedSelection(request, index);
      if (request.command === 'explain' && selection === undefined) {
        stream.markdown('Select some code in an editor first, then ask `@repo /explain`.');
        return { metadata: {} };
      }
      const question = request.prompt.trim() || (selection ? explainQuestion(selection) : '');
      if (!question) {
        stream.markdown('Ask a question about this repository.');
        return { metadata: {} };
      }
      stream.progress('Compressing the repository for this question…');
      let streaming = false;
      const result = await server.ask(
        { question, selection, history: previousTurns(context), folder: index.folder?.uri.fsPath },
        (text) => {
          if (!text) return;
          streaming = true;
          stream.markdown(text);
        },
        token,
      );
      if (!streaming && result.text) stream.markdown(result.text);
      let listed = 0;
      for (const file of result.references) {
        for (const range of file.ranges) {
          if (listed++ >= MAX_REFERENCE_LOCATIONS) break;
          stream.reference(referenceLocation(index.folder, file.path, range.startLine, range.endLine));
        }
      }
      return { metadata: { requestId: result.requestId } };
    } catch (error) {
      if (token.isCancellationRequested) return { metadata: {} };
      log.error(`@repo: ${messageOf(error)}`);
      return { metadata: {}, errorDetails: { message: messageOf(error) } };
    }
  };
  const participant = chatApi.createChatParticipant(PARTICIPANT_ID, handler);
  participant.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
  return participant;
}

/** Earlier @repo turns of this chat, oldest first. */
function previousTurns(context: vscode.ChatContext): ChatTurn[] {
  const turns: ChatTurn[] = [];
  let question: string | undefined;
  for (const turn of context.history) {
    if (turn instanceof vscode.ChatRequestTurn) {
      question = turn.participant === PARTICIPANT_ID ? turn.prompt : undefined;
    } else if (turn instanceof vscode.ChatResponseTurn && question !== undefined && turn.participant === PARTICIPANT_ID) {
      const answer = turn.response
        .map((part) => (part instanceof vscode.ChatResponseMarkdownPart ? part.value.value : ''))
        .join('');
      turns.push({ question, answer });
      question = undefined;
    }
  }
  return turns;
}

function activeSelection(index: RepositoryIndex): SelectionContext | undefined {
  const editor = vscode.window.activeTextEditor;
  return editor && selectionContext(editor.document, editor.selection, index.folder);
}

/** A `#selection` (or any attached location with a range) in the request becomes the selection context. */
function referencedSelection(request: vscode.ChatRequest, index: RepositoryIndex): SelectionContext | undefined {
  for (const reference of request.references) {
    const location = reference.value;
    if (location instanceof vscode.Location && !location.range.isEmpty) {
      const open = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === location.uri.toString());
      if (open) return selectionContext(open, location.range, index.folder);
    }
  }
  return undefined;
}
