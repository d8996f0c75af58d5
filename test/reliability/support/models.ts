/**
 * The model builders (ViT/GPT graphs and generation), when this checkout's registry exports
 * them. Suites that need them are pending, saying why, until they are on the branch.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { OperatorRegistry } from '@swapformer/registry';
import * as modelsModule from '@swapformer/models';

export interface BuiltModel {
  readonly kind: 'vit' | 'gpt';
  forward(input: Tensor, options?: { training?: boolean; seed?: number }): Tensor;
  dispose(): void;
}

export interface ModelsApi {
  buildModel(config: Record<string, unknown>, attention: unknown, registry: OperatorRegistry, options?: { pretrainedWeights?: boolean; training?: boolean }): BuiltModel;
  generate(model: BuiltModel, prompts: number[][], options: { maxNewTokens: number; seed?: number; temperature?: number; onStep?: (step: number, logits: Float32Array, vocab: number) => void }): { tokens: number[][]; decoding: string };
}

/** buildModel and generate from @swapformer/models, or null while they are not on this branch. */
export function modelsApi(): ModelsApi | null {
  const m = modelsModule as unknown as Partial<ModelsApi>;
  return typeof m.buildModel === 'function' && typeof m.generate === 'function' ? (m as ModelsApi) : null;
}

export const MODELS_PENDING = 'the ViT/GPT builders (buildModel, generate) are not exported by @swapformer/models';

/** A small ViT (16×16 RGB, patches of 4, 2 layers of width 16, 5 labels). */
export const TINY_VIT = { model: 'vit', imageSize: 16, patchSize: 4, numChannels: 3, hiddenSize: 16, numLayers: 3, numHeads: 2, numLabels: 5 } as const;

/** A small character GPT with room for a 1,000-token generation. */
export const TINY_GPT = { model: 'gpt', vocabSize: 32, nPositions: 1024, hiddenSize: 16, numLayers: 2, numHeads: 2 } as const;
