import { formatIssues, validateAgainst } from '@swapformer/schemas';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec } from '@swapformer/registry';
import { assertModelFits, type ModelSize } from './modelSizeLimits';

/**
 * What every family's model config shares, and the one validation path they all take. Family
 * folders import this module only (never the families table), so no family depends on another.
 */

/** MLP activations by their Hugging Face names (`gelu` = erf form, `gelu_new` = tanh form). */
export type ActivationName = 'gelu' | 'gelu_python' | 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'quick_gelu' | 'relu' | 'silu' | 'swish' | 'tanh';

/** The fields every model config has: the family name and what builds its weights and operators. */
export interface ModelConfigBase {
  /** The family (`"vit"`, `"gpt"`, `"llama"`, …): the key of the families table. */
  readonly model: string;
  readonly seed: number;
  readonly attention?: AttentionSpec;
}

/** A config as a user writes it: `model` plus any subset of the fields (schema defaults fill the rest). */
export type ModelConfigInput = { readonly model: string } & Readonly<Record<string, unknown>>;

export function invalidConfig(message: string, path?: string): SwapformerError {
  return new SwapformerError('invalid-config', message, { path });
}

/** How one family's config is checked: its schema, what a schema cannot say, and its size. */
export interface ConfigRules<C extends ModelConfigBase> {
  readonly label: string;
  readonly schemaId: string;
  check(config: C): void;
  modelSize(config: Readonly<Record<string, unknown>>): ModelSize;
}

/**
 * Validates a config against its family's schema (unknown keys fail, defaults applied), runs
 * the family's own checks, then refuses a model too large to allocate here — before any
 * builder or loader allocates.
 */
export function validateModelConfig<C extends ModelConfigBase>(rules: ConfigRules<C>, input: unknown): C {
  const result = validateAgainst<C>(rules.schemaId, input);
  if (!result.valid) throw invalidConfig(`invalid ${rules.label} model config:\n${formatIssues(result.issues)}`);
  rules.check(result.value);
  assertModelFits(result.value as unknown as Readonly<Record<string, unknown>>, rules.modelSize);
  return result.value;
}

/** The MLP width of a config (4 × hidden when not given). */
export function mlpWidth(hiddenSize: number, intermediateSize?: number): number {
  return intermediateSize ?? 4 * hiddenSize;
}
