// The messages between the chat panel's webview (media/chat.js) and the extension, both ways.
import type { ContextFile } from '../../server/src/protocol';

export type TurnStatus = 'waiting' | 'streaming' | 'done' | 'stopped' | 'error';

/** One question and its answer, as shown in the panel and kept in the workspace's history. */
export interface ChatTurnRecord {
  id: string;
  question: string;
  /** Set when the turn explains a selection. */
  selection?: { path: string; startLine: number; endLine: number };
  answer: string;
  status: TurnStatus;
  error?: string;
  /** The server's id of the answer, for its context map. */
  requestId?: string;
  references: ContextFile[];
  /** A short line of numbers under the answer (tokens, speed, compact cache size). */
  stats?: string;
}

/** The buttons a notice can offer; chat-panel.ts runs each as a command. */
export const PANEL_ACTIONS = ['trust', 'selectModel', 'showLog', 'reindex', 'restartServer', 'openSettings', 'newChat'] as const;
export type PanelAction = (typeof PANEL_ACTIONS)[number];

function isPanelAction(value: unknown): value is PanelAction {
  return (PANEL_ACTIONS as readonly unknown[]).includes(value);
}

/** What the panel shows above the chat: whether questions can be asked, and why not. */
export interface PanelNotice {
  kind: 'info' | 'warning' | 'error';
  text: string;
  /** A button under the notice. */
  action?: { label: string; command: PanelAction };
}

export type ToWebview =
  | { type: 'restore'; turns: ChatTurnRecord[] }
  | { type: 'turn'; turn: ChatTurnRecord }
  | { type: 'delta'; id: string; text: string }
  | { type: 'notice'; notice: PanelNotice | null }
  | { type: 'busy'; busy: boolean }
  | { type: 'focusInput' };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'ask'; question: string }
  | { type: 'stop' }
  | { type: 'newChat' }
  | { type: 'openReference'; path: string; startLine: number; endLine: number }
  | { type: 'copy'; text: string }
  | { type: 'insert'; text: string }
  | { type: 'showContextMap'; requestId: string }
  | { type: 'action'; command: PanelAction };

/** Checks a message from the webview before trusting its shape. */
export function parseWebviewMessage(value: unknown): FromWebview | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  const isString = (key: string): boolean => typeof message[key] === 'string';
  const isLine = (key: string): boolean => Number.isInteger(message[key]) && (message[key] as number) >= 1;
  switch (message.type) {
    case 'ready':
    case 'stop':
    case 'newChat':
      return { type: message.type };
    case 'ask':
      return isString('question') ? { type: 'ask', question: message.question as string } : undefined;
    case 'openReference':
      return isString('path') && isLine('startLine') && isLine('endLine')
        ? { type: 'openReference', path: message.path as string, startLine: message.startLine as number, endLine: message.endLine as number }
        : undefined;
    case 'copy':
    case 'insert':
      return isString('text') ? { type: message.type, text: message.text as string } : undefined;
    case 'showContextMap':
      return isString('requestId') ? { type: 'showContextMap', requestId: message.requestId as string } : undefined;
    case 'action':
      return isPanelAction(message.command) ? { type: 'action', command: message.command } : undefined;
    default:
      return undefined;
  }
}
