// The chat of this workspace, kept in workspaceState so it survives reloads.
import * as vscode from 'vscode';
import type { ChatTurn } from '../../server/src/protocol';
import type { ChatTurnRecord } from './chat-messages';

const HISTORY_KEY = 'snapkvCode.chatHistory';
const MAX_KEPT_TURNS = 100;
/** Earlier turns sent with a follow-up question; older ones are left out to keep the suffix short. */
const MAX_FOLLOW_UP_TURNS = 6;

export class ChatHistory {
  private turns: ChatTurnRecord[];

  constructor(private readonly memento: vscode.Memento) {
    this.turns = (memento.get<ChatTurnRecord[]>(HISTORY_KEY) ?? []).map(settleInterrupted);
  }

  all(): readonly ChatTurnRecord[] {
    return this.turns;
  }

  get(id: string): ChatTurnRecord | undefined {
    return this.turns.find((turn) => turn.id === id);
  }

  /** Earlier finished turns of this chat, oldest first, as the server takes them for a follow-up. */
  followUpHistory(): ChatTurn[] {
    return this.turns
      .filter((turn) => (turn.status === 'done' || turn.status === 'stopped') && turn.answer.length > 0)
      .slice(-MAX_FOLLOW_UP_TURNS)
      .map((turn) => ({ question: turn.question, answer: turn.answer }));
  }

  async add(turn: ChatTurnRecord): Promise<void> {
    this.turns.push(turn);
    await this.save();
  }

  async update(turn: ChatTurnRecord): Promise<void> {
    const index = this.turns.findIndex((candidate) => candidate.id === turn.id);
    if (index >= 0) this.turns[index] = turn;
    await this.save();
  }

  async clear(): Promise<void> {
    this.turns = [];
    await this.save();
  }

  private async save(): Promise<void> {
    this.turns = this.turns.slice(-MAX_KEPT_TURNS);
    await this.memento.update(HISTORY_KEY, this.turns);
  }
}

/** A turn that was still running when the window closed is shown as stopped. */
function settleInterrupted(turn: ChatTurnRecord): ChatTurnRecord {
  return turn.status === 'waiting' || turn.status === 'streaming' ? { ...turn, status: 'stopped' } : turn;
}
