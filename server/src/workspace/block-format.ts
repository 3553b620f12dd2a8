// How one file is written into the prompt. A block is
//
//   <file path="src/a.ts">\n
//   ...the file's text, ending with a newline (one is added when missing)...
//   </file>\n
//   \n
//
// The path is an XML-style attribute value: &, ", <, > and line breaks are
// written as entities, so a header is always exactly one line. An empty file
// has no text lines: its header is followed directly by the footer.

export const BLOCK_FOOTER = '</file>\n\n';

const ATTRIBUTE_ESCAPES: Record<string, string> = { '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;', '\n': '&#10;', '\r': '&#13;' };

export function blockHeader(relPath: string): string {
  return `<file path="${relPath.replace(/[&"<>\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c])}">\n`;
}

export interface RenderedBlock {
  text: string;
  /** UTF-16 offset in `text` where the file's text begins. */
  contentStart: number;
  /** UTF-16 offset where the footer begins. */
  contentEnd: number;
}

export function renderBlock(relPath: string, fileText: string): RenderedBlock {
  const header = blockHeader(relPath);
  // A text ending in a lone \r gets \r\n: still one line break, so no extra line appears.
  const content = fileText === '' || fileText.endsWith('\n') ? fileText : `${fileText}\n`;
  return { text: header + content + BLOCK_FOOTER, contentStart: header.length, contentEnd: header.length + content.length };
}
