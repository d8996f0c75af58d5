import type { AttentionSpec } from '@swapformer/registry';
import type { SwapformerModel } from '@swapformer/models';

/**
 * How the training loop makes, loads and saves models. The registry's ViT/GPT builders and
 * HF checkpoints implement it (`createRegistryModelFactory`); tests pass a tiny stand-in.
 */
export interface ModelFactory {
  /** A freshly initialised model (initialisation drawn from `seed`) running `attention`. */
  create(attention: AttentionSpec | undefined, seed: number): SwapformerModel;
  /** The model saved in checkpoint `dir`, running `attention` (its operator state may be missing). */
  load(dir: string, attention: AttentionSpec | undefined): SwapformerModel;
  /** Writes `model` to `dir` (HF layout: config.json + model.safetensors). */
  save(model: SwapformerModel, dir: string): void;
}
