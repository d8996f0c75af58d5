import { formatIssues, SCHEMA_IDS, validateAgainst } from '@swapformer/schemas';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec } from '@swapformer/registry';
import { assertModelFits } from './modelSizeLimits';

/** MLP activations by their Hugging Face names (`gelu` = erf form, `gelu_new` = tanh form). */
export type ActivationName = 'gelu' | 'gelu_python' | 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'quick_gelu' | 'relu' | 'silu' | 'swish' | 'tanh';

/** The per-pixel first stage of a Swapformer ViT (T2T-ViT-like long-sequence layers). */
export interface PixelStageConfig {
  readonly layers: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly patchMerge: number;
  /** Defaults to 4 × hiddenSize. */
  readonly intermediateSize?: number;
}

/** A ViT model config (schema `vit-model-config.schema.json`, defaults applied). */
export interface VitModelConfig {
  readonly model: 'vit';
  readonly imageSize: number;
  readonly patchSize: number;
  readonly numChannels: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Defaults to 4 × hiddenSize. */
  readonly intermediateSize?: number;
  /** 0: bare encoder (ViTModel). */
  readonly numLabels: number;
  readonly pooler: boolean;
  readonly hiddenAct: ActivationName;
  readonly layerNormEps: number;
  readonly qkvBias: boolean;
  readonly initializerRange: number;
  readonly seed: number;
  readonly pixelStage?: PixelStageConfig;
  readonly attention?: AttentionSpec;
}

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

export type ModelConfig = VitModelConfig | GptModelConfig;

/** A config as a user writes it: `model` plus any subset of the fields (schema defaults fill the rest). */
export type ModelConfigInput = { readonly model: 'vit' | 'gpt' } & Readonly<Record<string, unknown>>;

function invalid(message: string, path?: string): SwapformerError {
  return new SwapformerError('invalid-config', message, { path });
}

function checkVit(c: VitModelConfig): void {
  if (c.hiddenSize % c.numHeads !== 0) throw invalid(`ViT config: hiddenSize ${c.hiddenSize} is not a multiple of numHeads ${c.numHeads}.`, '/hiddenSize');
  if (c.numLabels === 0 && c.numLayers === 0 && !c.pixelStage) throw invalid('ViT config: the model has no layers (numLayers 0 and no pixelStage).', '/numLayers');
  if (c.pooler && c.numLabels > 0) throw invalid('ViT config: pooler is for bare encoders only (numLabels 0); a classification head reads the CLS token directly.', '/pooler');
  const ps = c.pixelStage;
  if (ps) {
    if (ps.hiddenSize % ps.heads !== 0) throw invalid(`ViT config: pixelStage.hiddenSize ${ps.hiddenSize} is not a multiple of pixelStage.heads ${ps.heads}.`, '/pixelStage/hiddenSize');
    if (c.imageSize % ps.patchMerge !== 0) throw invalid(`ViT config: imageSize ${c.imageSize} is not a multiple of pixelStage.patchMerge ${ps.patchMerge}.`, '/pixelStage/patchMerge');
  } else if (c.imageSize % c.patchSize !== 0) {
    throw invalid(`ViT config: imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}.`, '/patchSize');
  }
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

/**
 * Validates a model config against its schema (unknown keys fail, defaults applied) and checks
 * what a schema cannot say (divisibility, head/pooler combinations, the total size through
 * `assertModelFits`). Returns the full config.
 *
 * @example const config = normalizeModelConfig({ model: 'gpt', vocabSize: 65, nPositions: 64, hiddenSize: 32, numLayers: 2, numHeads: 2 });
 */
export function normalizeModelConfig<T extends ModelConfig = ModelConfig>(input: ModelConfigInput | ModelConfig): T {
  const kind = (input as { model?: unknown })?.model;
  if (kind !== 'vit' && kind !== 'gpt') {
    throw invalid(`a model config needs "model": "vit" or "gpt", got ${JSON.stringify(kind)}.`, '/model');
  }
  const schemaId = kind === 'vit' ? SCHEMA_IDS.vitModelConfig : SCHEMA_IDS.gptModelConfig;
  const result = validateAgainst<ModelConfig>(schemaId, input);
  if (!result.valid) throw invalid(`invalid ${kind === 'vit' ? 'ViT' : 'GPT'} model config:\n${formatIssues(result.issues)}`);
  if (result.value.model === 'vit') checkVit(result.value);
  else checkGpt(result.value);
  // the fields multiply: refuse a model too large to allocate here, before any builder or loader allocates
  assertModelFits(result.value as unknown as Readonly<Record<string, unknown>>);
  return result.value as T;
}

/** The MLP width of a config (4 × hidden when not given). */
export function mlpWidth(hiddenSize: number, intermediateSize?: number): number {
  return intermediateSize ?? 4 * hiddenSize;
}
