import type { OperatorRequirements } from '@swapformer/core';
import { SCHEMA_IDS } from '@swapformer/schemas';
import type { OperatorSelection } from '../registry/OperatorRegistry';
import { normalizeModelConfig, type ModelConfigInput } from '../models/modelConfig';
import { attentionSelections, selectionForLayer, type AttentionSpec } from './attentionSelections';
import { RUN_CONFIG_SCHEMA } from '../run/runConfig';
import { TRAIN_CONFIG_SCHEMA } from '../train/trainConfig';

/** What `validate` checks beyond a model config's schema: divisibility and head rules, then the sizes. */
function checkModelConfig(config: Record<string, unknown>): void {
  normalizeModelConfig(config as ModelConfigInput);
}

/** A selection inside a config, where it is, and what the place requires of it. */
export interface SelectionSite {
  readonly selection: OperatorSelection;
  readonly path: string;
  readonly requirements: OperatorRequirements;
}

/** A kind of Swapformer config file: how to recognise it and which schema checks it. */
export interface ConfigKind {
  readonly name: string;
  readonly description: string;
  readonly schemaId: string;
  /** The schema itself, for kinds whose schema is not one of @swapformer/schemas' built-ins. */
  readonly schema?: object;
  matches(config: Record<string, unknown>): boolean;
  /** The operator selections it contains (their options are checked against the plugins). */
  selections(config: Record<string, unknown>): SelectionSite[];
  /**
   * Checks a schema cannot express (a width the heads must divide, sizes that together would not
   * fit in memory), run on the schema-valid config with defaults; throws `invalid-config`.
   */
  check?(config: Record<string, unknown>): void;
}

/** One site per distinct selection a model's layers use, with what the model requires of it. */
function modelSites(config: Record<string, unknown>, numLayers: number, requirements: OperatorRequirements): SelectionSite[] {
  if (!config.attention) return [];
  const sites = new Map<string, SelectionSite>();
  for (let i = 0; i < numLayers; i++) {
    const { selection, path } = selectionForLayer(config.attention as AttentionSpec, i, numLayers);
    if (!sites.has(path)) sites.set(path, { selection, path, requirements });
  }
  return [...sites.values()];
}

const onlyKeys = (config: Record<string, unknown>, keys: readonly string[]) => Object.keys(config).every((k) => keys.includes(k));

/**
 * Every config kind `swapformer validate` understands, most specific first. Model configs
 * (ViT/GPT) and run configs add their kinds here.
 */
export const CONFIG_KINDS: ConfigKind[] = [
  {
    name: 'train',
    description: 'training config: {"task": "fashion-mnist" | "sotu", "model": {...}, "attention"?: {...}, "optimizer"?: {...}, "schedule"?: {...}, "output": ...}',
    schemaId: TRAIN_CONFIG_SCHEMA.$id,
    schema: TRAIN_CONFIG_SCHEMA,
    matches: (c) => 'task' in c,
    selections: (c) => {
      const requirements = c.task === 'sotu' ? { causal: true } : {};
      const warm = (c.warmStart as { attention?: AttentionSpec } | undefined)?.attention;
      return [
        ...(c.attention ? attentionSelections(c.attention as AttentionSpec) : []),
        ...(warm ? attentionSelections(warm, '/warmStart/attention') : []),
      ].map((s) => ({ ...s, requirements }));
    },
  },
  {
    name: 'run',
    description: 'main-job config: {"vit"?: {"checkpoint": ..., "swapLayers": ..., "operators": [...]}, "gpt"?: {...}, "seeds"?: [...]} (operators that are not installed become skipped rows)',
    schemaId: RUN_CONFIG_SCHEMA.$id,
    schema: RUN_CONFIG_SCHEMA,
    matches: (c) => ('vit' in c || 'gpt' in c) && !('model' in c),
    selections: () => [],
  },
  {
    name: 'vit-model',
    description: 'ViT model: {"model": "vit", "imageSize": ..., "patchSize": ..., "hiddenSize": ..., "attention": {...}, "pixelStage"?: {...}}',
    schemaId: SCHEMA_IDS.vitModelConfig,
    matches: (c) => c.model === 'vit',
    check: checkModelConfig,
    selections: (c) => modelSites(c, ((c.pixelStage as { layers?: number } | undefined)?.layers ?? 0) + (c.numLayers as number), {}),
  },
  {
    name: 'gpt-model',
    description: 'GPT model: {"model": "gpt", "vocabSize": ..., "nPositions": ..., "hiddenSize": ..., "attention": {...}} (every operator must support causal masking)',
    schemaId: SCHEMA_IDS.gptModelConfig,
    matches: (c) => c.model === 'gpt',
    check: checkModelConfig,
    selections: (c) => modelSites(c, c.numLayers as number, { causal: true }),
  },
  {
    name: 'attention',
    description: 'operator selection: {"attention": {"name": ..., "options": {...}}} or a default with per-layer overrides',
    schemaId: SCHEMA_IDS.attentionConfig,
    matches: (c) => 'attention' in c && !('model' in c),
    selections: (c) => attentionSelections(c.attention as AttentionSpec).map((s) => ({ ...s, requirements: {} })),
  },
  {
    name: 'backend',
    description: 'backend settings: {"backend": "wasm" | "cpu" | "webgpu" | "tensorflow" | "auto"}',
    schemaId: SCHEMA_IDS.backendSettings,
    matches: (c) => 'backend' in c && onlyKeys(c, ['$schema', 'backend']),
    selections: () => [],
  },
];
