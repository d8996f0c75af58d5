import { formatIssues, SCHEMA_IDS, validateAgainst } from '@swapformer/schemas';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import { BUILT_IN_FAMILIES, type BuiltInModel } from '../families/builtInFamilies';
import { familyNamed } from '../families/familyTable';
import type { FamilyTable } from '../families/ModelFamily';
import type { BuildOptions } from './buildOptions';
import type { ModelConfigBase, ModelConfigInput } from './modelConfigBase';

/** Checks a standalone attention spec (as in a config's `"attention"`) against the schema. */
export function checkAttentionSpec(spec: unknown, path = '/attention'): AttentionSpec {
  const result = validateAgainst<{ attention: AttentionSpec }>(SCHEMA_IDS.attentionConfig, { attention: spec });
  if (!result.valid) throw new SwapformerError('invalid-config', `invalid attention selection:\n${formatIssues(result.issues)}`, { path });
  return result.value.attention;
}

/** Options of `buildModel`: the build options plus the families table to look the config up in. */
export interface BuildModelOptions extends BuildOptions {
  /** Default: the built-in ViT, GPT-2 and Llama families. */
  readonly families?: FamilyTable;
}

/**
 * Builds a model graph from a config of any family in `options.families`. The attention
 * selection is `attention` when given, else the config's own `"attention"`, else exact attention
 * everywhere. Each layer's operator is resolved through `registry` with what the place requires
 * (causal for decoders; drop-in use when `options.pretrainedWeights`), so an unusable operator
 * fails here, naming the layer.
 *
 * @example
 * const model = buildModel({ model: 'vit', imageSize: 28, numChannels: 1, hiddenSize: 64, numLayers: 4, numHeads: 4, numLabels: 10,
 *   pixelStage: { layers: 1, hiddenSize: 32, heads: 1, patchMerge: 4 } }, { default: { name: 'exact' }, overrides: [{ layers: { first: 1 }, name: 'performer' }] }, registry);
 */
export function buildModel(config: ModelConfigInput | ModelConfigBase, attention: AttentionSpec | undefined, registry: OperatorRegistry, options?: BuildModelOptions): BuiltInModel;
export function buildModel(config: ModelConfigInput | ModelConfigBase, attention?: AttentionSpec, registry?: OperatorRegistry, options: BuildModelOptions = {}): BuiltInModel {
  if (!registry) throw new SwapformerError('invalid-input', 'buildModel needs an operator registry (createOperatorRegistry() + register plugins).');
  const family = familyNamed(options.families ?? BUILT_IN_FAMILIES, (config as { model?: unknown } | undefined)?.model);
  const normalized = family.normalize(config);
  const spec = checkAttentionSpec(attention ?? normalized.attention ?? { name: 'exact' });
  return family.build(normalized, spec, registry, options) as BuiltInModel;
}
