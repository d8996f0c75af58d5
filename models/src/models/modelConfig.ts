import { BUILT_IN_FAMILIES, type BuiltInModelConfig } from '../families/builtInFamilies';
import { familyNamed } from '../families/familyTable';
import type { FamilyTable } from '../families/ModelFamily';
import type { ModelConfigBase, ModelConfigInput } from './modelConfigBase';

export type { ActivationName, ModelConfigBase, ModelConfigInput } from './modelConfigBase';
export { mlpWidth } from './modelConfigBase';
export type { PixelStageConfig, VitModelConfig } from '../families/vit/vitConfig';
export type { GptModelConfig, TokenizerConfig } from '../families/gpt/gptConfig';
export type { LlamaModelConfig, RopeConfig } from '../families/llama/llamaConfig';

/** A config of a built-in family (`families` tables may hold more). */
export type ModelConfig = BuiltInModelConfig;

/**
 * Validates a model config against its family's schema (unknown keys fail, defaults applied)
 * and checks what a schema cannot say (divisibility, head/pooler combinations, the total size).
 * The family is looked up by `"model"` in `families`. Returns the full config.
 *
 * @example const config = normalizeModelConfig({ model: 'gpt', vocabSize: 65, nPositions: 64, hiddenSize: 32, numLayers: 2, numHeads: 2 });
 */
export function normalizeModelConfig<T extends ModelConfigBase = ModelConfig>(input: ModelConfigInput | ModelConfigBase, families: FamilyTable = BUILT_IN_FAMILIES): T {
  return familyNamed(families, (input as { model?: unknown } | undefined)?.model).normalize(input) as T;
}
