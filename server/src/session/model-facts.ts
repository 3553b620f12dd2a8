// What each model found on this machine is and whether it runs here, for the
// `models` listing and the editor's model picker. The engine's inspect() is
// the one owner of "runs here": it applies the load's checks to the file's
// header and tensor directory, never reading the weights.
import { Engine, EngineError, RopeScalingRequest } from '../engine';
import type { LocalModel, ModelsResult } from '../protocol';
import { FoundModel, findLocalModels, howToGetAModel } from './model-search';

/** The wire type of `snapkv/models`, which is what `snapkv-code models` prints too. */
export type ModelFacts = LocalModel;

/** Tensor counts per type as one line, most frequent first. */
export function weightTypeMix(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([type, count]) => `${type} ${count}`)
    .join(', ');
}

export async function describeModels(models: readonly FoundModel[], rope: RopeScalingRequest = {}): Promise<ModelFacts[]> {
  const facts: ModelFacts[] = [];
  for (const model of models) {
    try {
      const inspection = await Engine.inspect(model.path, rope);
      facts.push({
        ...model,
        architecture: inspection.architecture,
        weightTypes: weightTypeMix(inspection.tensorTypes),
        contextLength: inspection.config?.contextLength ?? 0,
        runs: inspection.runs,
        whyNot: inspection.runs ? undefined : inspection.error,
      });
    } catch (error) {
      const reason = error instanceof EngineError || error instanceof Error ? error.message : String(error);
      facts.push({ ...model, architecture: '', weightTypes: '', contextLength: 0, runs: false, whyNot: reason });
    }
  }
  return facts;
}

/** Every model found where Ollama and LM Studio keep them, described; with advice when there is none. */
export async function listLocalModels(rope: RopeScalingRequest = {}): Promise<ModelsResult> {
  const found = findLocalModels();
  return { models: await describeModels(found, rope), advice: found.length === 0 ? howToGetAModel() : undefined };
}
