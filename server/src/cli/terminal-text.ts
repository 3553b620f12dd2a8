// Text from files and from the model, made safe to print on a terminal. A file
// name or an answer may hold escape sequences (set the window title, clear the
// screen, rewrite a line), a carriage return, or bidirectional overrides that
// make a listing read differently from what it is; here each such character is
// shown as an escape (\x1b, \u202e) instead of being interpreted.

// C0 controls, DEL, C1 controls; the bidi embeddings, overrides and isolates and the marks; line and paragraph separators.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_KEEPING_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(char: string): string {
  const code = char.charCodeAt(0);
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** A name (file, folder, model) for one line of output: every control and bidi character escaped, newlines too. */
export function visibleName(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/** Running text (an answer, a message): line breaks and tabs kept, a lone carriage return and every other control escaped. */
export function visibleText(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(UNSAFE_KEEPING_LINES, escapeOne);
}

/** JSON for a terminal: JSON.stringify escapes C0 controls already; C1, bidi and separators get \u escapes, still valid JSON. */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
