// A GGUF model loaded for evaluation: the engine's model and the tokenizer from its own
// metadata (the same path the language server takes).
import { Engine, Model } from '../../../server/src/engine';
import { TextTokenizer } from '../../../server/src/text/tokenizer';

export interface EvalModel {
  readonly model: Model;
  readonly tokenizer: TextTokenizer;
}

export async function loadEvalModel(path: string, threads?: number): Promise<EvalModel> {
  const model = await Engine.load(path, { backend: 'cpu', threads });
  try {
    return { model, tokenizer: TextTokenizer.fromMetadata(model.metadata()) };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
