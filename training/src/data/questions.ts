// How a question about a fact is worded and what its answer is. A few phrasings per kind,
// so the model answers the question rather than one sentence. Answers are copied verbatim
// from the prompt (a path from a file header, a literal from a line), which is what makes
// exact-match scoring fair.
import { SeededRandom } from '../../../test/fixtures/seeded-random';
import { CodeFact, FactKind } from './code-facts';

const PHRASINGS: Readonly<Record<FactKind, readonly ((name: string) => string)[]>> = {
  'function-file': [
    (n) => `In which file is the function \`${n}\` defined?`,
    (n) => `Which file defines \`${n}\`?`,
    (n) => `Where is the function ${n} defined? Give the file path.`,
  ],
  'constant-value': [
    (n) => `What is the value of \`${n}\`?`,
    (n) => `What is ${n} set to?`,
    (n) => `Which value is assigned to the constant \`${n}\`?`,
  ],
  'import-file': [
    (n) => `Which file imports \`${n}\`?`,
    (n) => `Which file imports the module ${n}?`,
    (n) => `Where is \`${n}\` imported? Give the file path.`,
  ],
};

export interface Question {
  readonly text: string;
  readonly answer: string;
}

export function askAbout(fact: CodeFact, filePath: string, random: SeededRandom): Question {
  const phrasings = PHRASINGS[fact.kind];
  const text = phrasings[random.integer(0, phrasings.length)](fact.name);
  if (fact.kind === 'constant-value') {
    if (fact.value === undefined) throw new Error(`constant ${fact.name} has no value`);
    return { text, answer: fact.value };
  }
  return { text, answer: filePath };
}
