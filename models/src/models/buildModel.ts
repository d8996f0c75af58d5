import { formatIssues, SCHEMA_IDS, validateAgainst } from '@swapformer/schemas';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import type { BuildOptions } from './buildOptions';
import { buildGpt, type GptModel } from './buildGpt';
import { buildVit, type VitModel } from './buildVit';
import { normalizeModelConfig, type GptModelConfig, type ModelConfig, type ModelConfigInput, type VitModelConfig } from './modelConfig';

/** Checks a standalone attention spec (as in a config's `"attention"`) against the schema. */
export function checkAttentionSpec(spec: unknown, path = '/attention'): AttentionSpec {
  const result = validateAgainst<{ attention: AttentionSpec }>(SCHEMA_IDS.attentionConfig, { attention: spec });
  if (!result.valid) throw new SwapformerError('invalid-config', `invalid attention selection:\n${formatIssues(result.issues)}`, { path });
  return result.value.attention;
}

/**
 * Builds a ViT or GPT graph from a model config. The attention selection is `attention` when
 * given, else the config's own `"attention"`, else exact attention everywhere. Each layer's
 * operator is resolved through `registry` with what the place requires (causal for GPT; drop-in
 * use when `options.pretrainedWeights`), so an unusable operator fails here, naming the layer.
 *
 * @example
 * const model = buildModel({ model: 'vit', imageSize: 28, numChannels: 1, hiddenSize: 64, numLayers: 4, numHeads: 4, numLabels: 10,
 *   pixelStage: { layers: 1, hiddenSize: 32, heads: 1, patchMerge: 4 } }, { default: { name: 'exact' }, overrides: [{ layers: { first: 1 }, name: 'performer' }] }, registry);
 */
export function buildModel(config: ModelConfigInput | ModelConfig, attention: AttentionSpec | undefined, registry: OperatorRegistry, options?: BuildOptions): VitModel | GptModel;
export function buildModel(config: ModelConfigInput | ModelConfig, attention?: AttentionSpec, registry?: OperatorRegistry, options: BuildOptions = {}): VitModel | GptModel {
  if (!registry) throw new SwapformerError('invalid-input', 'buildModel needs an operator registry (createOperatorRegistry() + register plugins).');
  const normalized = normalizeModelConfig(config);
  const spec = checkAttentionSpec(attention ?? normalized.attention ?? { name: 'exact' });
  return normalized.model === 'vit' ? buildVit(normalized as VitModelConfig, spec, registry, options) : buildGpt(normalized as GptModelConfig, spec, registry, options);
}
