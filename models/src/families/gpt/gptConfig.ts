import { SCHEMA_IDS } from '@swapformer/schemas';
import type { AttentionSpec } from '@swapformer/registry';
import { blockParameters, num, type Fields, type ModelSize } from '../../models/modelSizeLimits';
import { invalidConfig as invalid, validateModelConfig, type ActivationName, type ConfigRules } from '../../models/modelConfigBase';

/** Tokenizer of a GPT config: a character vocabulary or GPT-2 BPE. */
export type TokenizerConfig = { readonly type: 'char'; readonly vocab: string } | { readonly type: 'gpt2' };

/** A GPT model config (schema `gpt-model-config.schema.json`, defaults applied). */
export interface GptModelConfig {
  readonly model: 'gpt';
  readonly vocabSize: number;
  readonly nPositions: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Defaults to 4 × hiddenSize. */
  readonly intermediateSize?: number;
  readonly activation: ActivationName;
  readonly layerNormEps: number;
  readonly tieWordEmbeddings: boolean;
  /** false: bare GPT2Model. */
  readonly lmHead: boolean;
  readonly scaleAttnWeights: boolean;
  readonly scaleAttnByInverseLayerIdx: boolean;
  readonly initializerRange: number;
  readonly seed: number;
  readonly decoding: 'incremental' | 'recompute';
  readonly tokenizer?: TokenizerConfig;
  readonly attention?: AttentionSpec;
}

function checkGpt(c: GptModelConfig): void {
  if (c.hiddenSize % c.numHeads !== 0) throw invalid(`GPT config: hiddenSize ${c.hiddenSize} is not a multiple of numHeads ${c.numHeads}.`, '/hiddenSize');
  if (!c.lmHead && !c.tieWordEmbeddings) throw invalid('GPT config: tieWordEmbeddings false needs an LM head (lmHead true).', '/tieWordEmbeddings');
  const t = c.tokenizer;
  if (t?.type === 'char') {
    if (!('vocab' in t) || typeof t.vocab !== 'string') throw invalid('GPT config: a "char" tokenizer needs its vocab string.', '/tokenizer/vocab');
    const chars = [...t.vocab];
    if (new Set(chars).size !== chars.length) throw invalid('GPT config: tokenizer.vocab repeats a character.', '/tokenizer/vocab');
    if (chars.length > c.vocabSize) throw invalid(`GPT config: tokenizer.vocab has ${chars.length} characters, more than vocabSize ${c.vocabSize}.`, '/tokenizer/vocab');
  }
  if (t?.type === 'gpt2' && c.vocabSize < 50257) throw invalid(`GPT config: the gpt2 tokenizer needs vocabSize ≥ 50257, got ${c.vocabSize}.`, '/tokenizer');
}

/** Weights of a GPT config: embeddings, blocks, final norm, an untied head. */
export function gptModelSize(c: Fields): ModelSize {
  const d = num(c, 'hiddenSize');
  const m = num(c, 'intermediateSize', 4 * d);
  const vocab = num(c, 'vocabSize');
  const untiedHead = c.lmHead !== false && c.tieWordEmbeddings === false ? d * vocab : 0;
  return { parameters: vocab * d + num(c, 'nPositions') * d + num(c, 'numLayers') * blockParameters(d, m) + 2 * d + untiedHead, hiddenState: 0 };
}

export const GPT_CONFIG_RULES: ConfigRules<GptModelConfig> = { label: 'GPT', schemaId: SCHEMA_IDS.gptModelConfig, check: checkGpt, modelSize: gptModelSize };

/** Validates a GPT config (schema, divisibility, tokenizer, size). */
export const normalizeGptConfig = (input: unknown): GptModelConfig => validateModelConfig(GPT_CONFIG_RULES, input);
