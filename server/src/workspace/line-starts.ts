// Where lines begin, counted as VS Code counts them: \r\n, \n and a lone \r
// each end a line. Line numbers in answers must match what the editor shows.

/** UTF-16 offsets in `text` of the first character of each line in [from, to). */
export function lineStartOffsets(text: string, from: number, to: number): number[] {
  const starts: number[] = [];
  if (from >= to) return starts;
  starts.push(from);
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const endsLine = c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a);
    if (endsLine && i + 1 < to) starts.push(i + 1);
  }
  return starts;
}
