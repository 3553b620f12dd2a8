// Turns what the user asked (with a selection or the file in view) into the
// text of the user turn, and fixes the instructions the model gets.
import { AskParams } from '../protocol';

export const SYSTEM_PROMPT =
  'You are a coding assistant. The files of a software repository come first, each between ' +
  '<file path="..."> and </file>. Answer the question that follows them from those files: be concise, ' +
  'name the files (and lines) you rely on, and say so when the files do not contain the answer.';

function fence(text: string): string {
  let ticks = '```';
  while (text.includes(ticks)) ticks += '`';
  return ticks;
}

export function questionText(params: Pick<AskParams, 'question' | 'selection' | 'activeFile'>): string {
  const parts: string[] = [];
  const { selection } = params;
  if (selection) {
    const marks = fence(selection.text + (selection.surrounding ?? ''));
    const lines = selection.startLine === selection.endLine ? `line ${selection.startLine}` : `lines ${selection.startLine}-${selection.endLine}`;
    parts.push(`Selected code from ${selection.path}, ${lines}:\n${marks}${selection.languageId ?? ''}\n${selection.text.replace(/\n$/, '')}\n${marks}`);
    if (selection.surrounding) {
      parts.push(`Around the selection:\n${marks}${selection.languageId ?? ''}\n${selection.surrounding.replace(/\n$/, '')}\n${marks}`);
    }
  } else if (params.activeFile) {
    parts.push(`(The file open in the editor is ${params.activeFile}.)`);
  }
  parts.push(params.question.trim());
  return parts.join('\n\n');
}
