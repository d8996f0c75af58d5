import { SCHEMA_IDS } from '@swapformer/schemas';
import type { AttentionSpec } from '@swapformer/registry';
import { num, type Fields, type ModelSize } from '../../models/modelSizeLimits';
import { invalidConfig as invalid, validateModelConfig, type ActivationName, type ConfigRules } from '../../models/modelConfigBase';

/** Rotary scaling types this family implements (transformers' `rope_type`). */
export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3'] as const;
export type RopeType = (typeof ROPE_TYPES)[number];

/** Rotary position embedding settings (transformers' rope_theta + rope_scaling, or rope_parameters). */
export interface RopeConfig {
  readonly type: RopeType;
  readonly theta: number;
  readonly factor?: number;
  readonly lowFreqFactor?: number;
  readonly highFreqFactor?: number;
  readonly originalMaxPositionEmbeddings?: number;
}

/** A Llama-family model config (schema `llama-model-config.schema.json`, defaults applied). */
export interface LlamaModelConfig {
  readonly model: 'llama';
  /** The transformers architecture it is written back as; the graph is the same. */
  readonly variant: 'llama' | 'mistral' | 'qwen2';
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Defaults to numHeads. */
  readonly numKeyValueHeads?: number;
  /** Defaults to hiddenSize / numHeads. */
  readonly headDim?: number;
  readonly maxPositionEmbeddings: number;
  readonly rmsNormEps: number;
  readonly rope: RopeConfig;
  readonly attentionBias: boolean;
  readonly outputBias: boolean;
  readonly mlpBias: boolean;
  readonly hiddenAct: ActivationName;
  readonly tieWordEmbeddings: boolean;
  readonly lmHead: boolean;
  readonly slidingWindow?: number;
  readonly initializerRange: number;
  readonly seed: number;
  readonly decoding: 'incremental' | 'recompute';
  readonly attention?: AttentionSpec;
}

/** Head geometry of a config, defaults applied. */
export function llamaHeads(c: Pick<LlamaModelConfig, 'hiddenSize' | 'numHeads' | 'numKeyValueHeads' | 'headDim'>): { heads: number; kvHeads: number; headDim: number } {
  return { heads: c.numHeads, kvHeads: c.numKeyValueHeads ?? c.numHeads, headDim: c.headDim ?? Math.floor(c.hiddenSize / c.numHeads) };
}

function checkLlama(c: LlamaModelConfig): void {
  const { heads, kvHeads, headDim } = llamaHeads(c);
  if (heads % kvHeads !== 0) {
    throw invalid(`Llama config: numHeads ${heads} is not a multiple of numKeyValueHeads ${kvHeads}; grouped-query attention shares each key/value head among numHeads / numKeyValueHeads query heads.`, '/numKeyValueHeads');
  }
  if (c.headDim === undefined && c.hiddenSize % heads !== 0) throw invalid(`Llama config: hiddenSize ${c.hiddenSize} is not a multiple of numHeads ${heads}; set headDim explicitly.`, '/headDim');
  if (headDim % 2 !== 0) throw invalid(`Llama config: the head dimension ${headDim} is odd; rotary embeddings rotate pairs of features.`, '/headDim');
  const r = c.rope;
  const need = (key: keyof RopeConfig) => {
    if (r[key] === undefined) throw invalid(`Llama config: rope type "${r.type}" needs rope.${key}.`, `/rope/${key}`);
  };
  if (r.type !== 'default') need('factor');
  if (r.type === 'llama3') {
    need('lowFreqFactor');
    need('highFreqFactor');
    need('originalMaxPositionEmbeddings');
    if (r.highFreqFactor! <= r.lowFreqFactor!) throw invalid(`Llama config: rope.highFreqFactor ${r.highFreqFactor} must exceed rope.lowFreqFactor ${r.lowFreqFactor}.`, '/rope/highFreqFactor');
  }
}

/** Weights of a Llama config: embedding, blocks (q/k/v/o, gate/up/down, two norms), final norm, an untied head. */
export function llamaModelSize(c: Fields): ModelSize {
  const d = num(c, 'hiddenSize');
  const heads = num(c, 'numHeads', 1);
  const kv = num(c, 'numKeyValueHeads', heads);
  const hd = num(c, 'headDim', Math.floor(d / heads));
  const m = num(c, 'intermediateSize');
  const vocab = num(c, 'vocabSize');
  const block = d * heads * hd * 2 + 2 * d * kv * hd + 3 * d * m + 2 * d;
  const untiedHead = c.lmHead !== false && c.tieWordEmbeddings !== true ? d * vocab : 0;
  return { parameters: vocab * d + num(c, 'numLayers') * block + d + untiedHead, hiddenState: 0 };
}

export const LLAMA_CONFIG_RULES: ConfigRules<LlamaModelConfig> = { label: 'Llama', schemaId: SCHEMA_IDS.llamaModelConfig, check: checkLlama, modelSize: llamaModelSize };

/** Validates a Llama config (schema, head divisibility, rope parameters, size). */
export const normalizeLlamaConfig = (input: unknown): LlamaModelConfig => validateModelConfig(LLAMA_CONFIG_RULES, input);
