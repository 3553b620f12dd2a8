// The tokenizer and chat template of the demonstration model, built in-process from the
// committed vocabulary exactly as the server builds them from a loaded GGUF file.
import { ChatTemplate } from '../../../server/src/text/chat-template';
import { TextTokenizer } from '../../../server/src/text/tokenizer';
import { metadataRecord } from '../../../test/fixtures/tokenizer-metadata';
import { readSmallVocab, SmallVocab } from './small-vocab';
import { vocabGgufEntries } from './vocab-metadata';

export interface DemoText {
  readonly vocab: SmallVocab;
  readonly tokenizer: TextTokenizer;
  readonly template: ChatTemplate;
}

export function demoText(vocab: SmallVocab = readSmallVocab()): DemoText {
  const metadata = metadataRecord(vocabGgufEntries(vocab));
  const tokenizer = TextTokenizer.fromMetadata(metadata);
  return { vocab, tokenizer, template: ChatTemplate.fromMetadata(metadata) };
}
