import { SCHEMA_IDS } from '@swapformer/schemas';
import { ATTENTION_CONFIG_KINDS, modelSelectionSites, type ConfigKind } from '@swapformer/registry';
import { normalizeModelConfig, type ModelConfigInput } from './modelConfig';

/** What `validate` checks beyond a model config's schema: divisibility and head rules, then the sizes. */
function checkModelConfig(config: Record<string, unknown>): void {
  normalizeModelConfig(config as ModelConfigInput);
}

/** Model configs (ViT/GPT) in front of the registry's attention and backend kinds. */
export const MODEL_CONFIG_KINDS: readonly ConfigKind[] = [
  {
    name: 'vit-model',
    description: 'ViT model: {"model": "vit", "imageSize": ..., "patchSize": ..., "hiddenSize": ..., "attention": {...}, "pixelStage"?: {...}}',
    schemaId: SCHEMA_IDS.vitModelConfig,
    matches: (c) => c.model === 'vit',
    check: checkModelConfig,
    selections: (c) => modelSelectionSites(c, ((c.pixelStage as { layers?: number } | undefined)?.layers ?? 0) + (c.numLayers as number), {}),
  },
  {
    name: 'gpt-model',
    description: 'GPT model: {"model": "gpt", "vocabSize": ..., "nPositions": ..., "hiddenSize": ..., "attention": {...}} (every operator must support causal masking)',
    schemaId: SCHEMA_IDS.gptModelConfig,
    matches: (c) => c.model === 'gpt',
    check: checkModelConfig,
    selections: (c) => modelSelectionSites(c, c.numLayers as number, { causal: true }),
  },
  ...ATTENTION_CONFIG_KINDS,
];
