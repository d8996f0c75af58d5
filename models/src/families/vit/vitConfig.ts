import { SCHEMA_IDS } from '@swapformer/schemas';
import type { AttentionSpec } from '@swapformer/registry';
import { blockParameters, num, type Fields, type ModelSize } from '../../models/modelSizeLimits';
import { invalidConfig as invalid, validateModelConfig, type ActivationName, type ConfigRules } from '../../models/modelConfigBase';

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

/** Weights of a ViT config and its largest per-image hidden state (the pixel stage dominates). */
export function vitModelSize(c: Fields): ModelSize {
  const d = num(c, 'hiddenSize');
  const m = num(c, 'intermediateSize', 4 * d);
  const layers = num(c, 'numLayers');
  const image = num(c, 'imageSize');
  const channels = num(c, 'numChannels', 3);
  const stage = c.pixelStage as Fields | undefined;
  let parameters = layers * blockParameters(d, m) + 2 * d + num(c, 'numLabels') * (d + 1) + (c.pooler ? d * d + d : 0);
  let hiddenState: number;
  if (stage) {
    const hs = num(stage, 'hiddenSize');
    const merge = num(stage, 'patchMerge', 1);
    const tokens = (image / merge) ** 2 + 1;
    parameters += channels * hs + hs + num(stage, 'layers') * blockParameters(hs, num(stage, 'intermediateSize', 4 * hs)) + merge * merge * hs * d + d + tokens * d;
    hiddenState = Math.max(image * image * hs, tokens * d);
  } else {
    const patch = num(c, 'patchSize', 1);
    const tokens = (image / patch) ** 2 + 1;
    parameters += channels * patch * patch * d + d + tokens * d + d;
    hiddenState = tokens * d;
  }
  return { parameters, hiddenState };
}

export const VIT_CONFIG_RULES: ConfigRules<VitModelConfig> = { label: 'ViT', schemaId: SCHEMA_IDS.vitModelConfig, check: checkVit, modelSize: vitModelSize };

/** Validates a ViT config (schema, divisibility, head rules, size). */
export const normalizeVitConfig = (input: unknown): VitModelConfig => validateModelConfig(VIT_CONFIG_RULES, input);
