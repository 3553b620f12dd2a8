// The files of one split with their facts, indexed for drawing questions and distractors.
import { CodeFact, extractFacts, FactKind, FileFacts } from './code-facts';
import { SourceFile, Split } from './source-pool';

export interface PooledFile {
  readonly file: SourceFile;
  readonly facts: FileFacts;
}

export interface SplitPool {
  readonly split: Split;
  readonly files: readonly PooledFile[];
  /** Indices into `files` of the files with at least one fact of each kind. */
  readonly byKind: Readonly<Record<FactKind, readonly number[]>>;
}

export function indexSplit(pool: readonly SourceFile[], split: Split): SplitPool {
  const files = pool.filter((f) => f.split === split).map((file) => ({ file, facts: extractFacts(file.text) }));
  const byKind: Record<FactKind, number[]> = { 'function-file': [], 'constant-value': [], 'import-file': [] };
  files.forEach((f, i) => {
    for (const kind of Object.keys(byKind) as FactKind[]) if (f.facts.facts.some((fact) => fact.kind === kind)) byKind[kind].push(i);
  });
  for (const kind of Object.keys(byKind) as FactKind[]) {
    if (byKind[kind].length === 0) throw new Error(`the ${split} split has no file with a ${kind} fact: the source pool is too small`);
  }
  return { split, files, byKind };
}

export function factsOfKind(file: PooledFile, kind: FactKind): CodeFact[] {
  return file.facts.facts.filter((f) => f.kind === kind);
}
