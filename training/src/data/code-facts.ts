// Facts that a question can ask about, read from a source file with line-based regular
// expressions: where a function is defined, what a constant is set to, which module a file
// imports. Two scans per file:
//  - strict: the few line shapes that state a fact unmistakably (`export function foo(`,
//    `const MAX_SIZE = 64;`, `import x from 'mod'`), each fact's name appearing in exactly one
//    such line of the file;
//  - broad: every line that might define, assign or import a name, over-matching on purpose.
//    A question is kept only when no other file of its repository broadly matches its name,
//    so over-matching only costs candidates, never correctness.
// Regexes stay simple and per line: the files are real code in many styles, and a missed
// fact is harmless while a wrong one teaches the model nonsense.

export type FactKind = 'function-file' | 'constant-value' | 'import-file';

export interface CodeFact {
  readonly kind: FactKind;
  /** The function, the constant or the module. */
  readonly name: string;
  /** For constant-value: the literal exactly as written (quotes included). */
  readonly value?: string;
  /** 1-based line of the file that states the fact. */
  readonly line: number;
}

export interface FileFacts {
  readonly facts: readonly CodeFact[];
  /** Names that some line might define (functions, classes, variables, methods, properties). */
  readonly definedNames: ReadonlySet<string>;
  /** Every identifier-like word of the file. */
  readonly words: ReadonlySet<string>;
  /** Modules the file might import, require or re-export. */
  readonly importedModules: ReadonlySet<string>;
}

const ID = String.raw`[A-Za-z_$][\w$]*`;
const LITERAL = String.raw`-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|'[^'\\\n]{1,40}'|"[^"\\\n]{1,40}"|` + '`[^`\\\\$\\n]{1,40}`';

const STRICT_FUNCTION = [
  new RegExp(String.raw`^\s*(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:async\s+)?function\s*\*?\s*(${ID})\s*[<(]`),
  new RegExp(String.raw`^\s*(?:export\s+)?(?:const|let|var)\s+(${ID})\s*=\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*(?::[^=]+)?=>|${ID}\s*=>)`),
  new RegExp(String.raw`^\s*(?:module\.)?exports\.(${ID})\s*=\s*(?:async\s+)?function\b`),
  new RegExp(String.raw`^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(`),
];

const STRICT_CONSTANT = [
  new RegExp(String.raw`^\s*(?:export\s+)?(?:declare\s+)?(?:const|let|var)\s+(${ID})\s*(?::\s*[\w$.<>\[\]| ]+?)?\s*=\s*(${LITERAL})\s*;?\s*(?://.*)?$`),
  new RegExp(String.raw`^\s*(?:module\.)?exports\.(${ID})\s*=\s*(${LITERAL})\s*;?\s*(?://.*)?$`),
  new RegExp(String.raw`^([A-Za-z_]\w*)\s*(?::\s*[\w.\[\], ]+)?=\s*(${LITERAL})\s*(?:#.*)?$`),
];

const STRICT_IMPORT = [
  /^\s*import\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s+)?['"]([^'"\n]+)['"]\s*;?\s*$/,
  /^\s*(?:const|let|var)\s+[\w${}\s,:]+=\s*require\(\s*['"]([^'"\n]+)['"]\s*\)\s*;?\s*$/,
  /^\s*from\s+([\w.]+)\s+import\s/,
  /^\s*import\s+([\w.]+)(?:\s+as\s+\w+)?\s*$/,
];

const BROAD_DEFINITIONS = [
  new RegExp(String.raw`\bfunction\s*\*?\s*(${ID})`, 'g'),
  new RegExp(String.raw`\b(?:const|let|var|class|interface|type|enum|def|namespace|module)\s+(${ID})`, 'g'),
  new RegExp(String.raw`(${ID})\s*[:=]\s*(?:async\s+)?(?:function\b|\([^()\n]*\)\s*=>|${ID}\s*=>)`, 'g'),
  new RegExp(String.raw`\bexports\.(${ID})\s*=`, 'g'),
  // Methods, and calls at a line start (over-matching is fine here).
  new RegExp(String.raw`^\s*(?:(?:public|private|protected|static|async|readonly|get|set|export|declare|abstract|override)\s+)*\*?(${ID})\s*(?:<[^>\n]*>)?\s*\(`, 'g'),
];

const BROAD_IMPORTS = [
  /\bfrom\s+['"]([^'"\n]+)['"]/g,
  /\bimport\s*\(?\s*['"]([^'"\n]+)['"]/g,
  /\brequire\(\s*['"]([^'"\n]+)['"]\s*\)/g,
  /^\s*from\s+([\w.]+)\s+import\s/g,
  /^\s*import\s+([\w.]+)/g,
];

const WORD = /[A-Za-z_$][\w$]*/g;

/** Names too generic to ask about even when unique. */
const GENERIC_NAMES: ReadonlySet<string> = new Set([
  'main', 'init', 'test', 'setup', 'noop', 'default', 'constructor', 'require', 'module', 'exports', 'self', 'this', 'name',
  'value', 'type', 'data', 'index', 'args', 'options', 'callback', 'handler', 'error', 'result', 'string', 'number',
]);

export const MIN_NAME_LENGTH = 4;

/**
 * Values that can be guessed without reading the file: single digits, one-character strings,
 * and strings that spell the constant's own name (`PASSWORD_TOO_WEAK = "password_too_weak"`).
 */
function isGuessableValue(name: string, literal: string): boolean {
  if (/^-?\d$/.test(literal)) return true;
  if (!/^['"`]/.test(literal)) return false;
  const letters = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  return literal.length - 2 < 2 || letters(literal) === letters(name);
}

function isAskableName(name: string): boolean {
  return name.length >= MIN_NAME_LENGTH && !GENERIC_NAMES.has(name);
}

/** VS Code's lines: \r\n, \n or a lone \r ends a line. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

export function extractFacts(text: string): FileFacts {
  const lines = splitLines(text);
  const definitionLines = new Map<string, Set<number>>();
  const importLines = new Map<string, Set<number>>();
  const assignmentLines = new Map<string, Set<number>>();
  const words = new Set<string>();
  const note = (map: Map<string, Set<number>>, name: string, line: number): void => {
    let set = map.get(name);
    if (set === undefined) map.set(name, (set = new Set()));
    set.add(line);
  };

  lines.forEach((line, i) => {
    for (const pattern of BROAD_DEFINITIONS) for (const m of line.matchAll(pattern)) note(definitionLines, m[1], i);
    for (const pattern of BROAD_IMPORTS) for (const m of line.matchAll(pattern)) note(importLines, m[1], i);
    for (const m of line.matchAll(WORD)) words.add(m[0]);
    // Any `name =` or `name:` (assignment, property, default value): a constant's name must have one.
    for (const m of line.matchAll(/([A-Za-z_$][\w$]*)\s*(?::[^=\n;,)]{0,60})?=(?![=>])|([A-Za-z_$][\w$]*)\s*:(?!:)/g)) {
      note(assignmentLines, m[1] ?? m[2], i);
    }
  });

  const facts: CodeFact[] = [];
  const onlyLine = (map: Map<string, Set<number>>, name: string, line: number): boolean => {
    const set = map.get(name);
    return set !== undefined && set.size === 1 && set.has(line);
  };
  lines.forEach((line, i) => {
    const fn = firstMatch(STRICT_FUNCTION, line);
    if (fn && isAskableName(fn[1]) && onlyLine(definitionLines, fn[1], i)) {
      facts.push({ kind: 'function-file', name: fn[1], line: i + 1 });
    }
    const constant = firstMatch(STRICT_CONSTANT, line);
    if (constant && isAskableName(constant[1]) && !isGuessableValue(constant[1], constant[2]) && onlyLine(assignmentLines, constant[1], i)) {
      facts.push({ kind: 'constant-value', name: constant[1], value: constant[2], line: i + 1 });
    }
    const imported = firstMatch(STRICT_IMPORT, line);
    if (imported && imported[1].length >= 3 && onlyLine(importLines, imported[1], i)) {
      facts.push({ kind: 'import-file', name: imported[1], line: i + 1 });
    }
  });

  return {
    facts: dedupeFacts(facts),
    definedNames: new Set(definitionLines.keys()),
    words,
    importedModules: new Set(importLines.keys()),
  };
}

function firstMatch(patterns: readonly RegExp[], line: string): RegExpMatchArray | null {
  for (const pattern of patterns) {
    const m = line.match(pattern);
    if (m) return m;
  }
  return null;
}

/** A name stated by two strict lines of one kind is ambiguous: drop both. */
function dedupeFacts(facts: CodeFact[]): CodeFact[] {
  const count = new Map<string, number>();
  for (const f of facts) count.set(`${f.kind} ${f.name}`, (count.get(`${f.kind} ${f.name}`) ?? 0) + 1);
  return facts.filter((f) => count.get(`${f.kind} ${f.name}`) === 1);
}

/**
 * Whether a file of the repository would make a question about `fact` ambiguous:
 * it might define the same function, it mentions the constant at all, or it imports the module.
 */
export function conflictsWith(other: FileFacts, fact: CodeFact): boolean {
  switch (fact.kind) {
    case 'function-file':
      return other.definedNames.has(fact.name);
    case 'constant-value':
      return other.words.has(fact.name);
    case 'import-file':
      return other.importedModules.has(fact.name);
  }
}
