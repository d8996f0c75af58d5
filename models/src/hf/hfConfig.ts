/**
 * Hugging Face `config.json` ↔ model configs, through the families table: the family is found
 * by `model_type` (or `architectures[0]`), and its own mapping reads the transformers 4.x or 5.x
 * form. What transformers does not know (the attention selection, the pixel stage, the
 * tokenizer) travels in an extra `"swapformer"` block, which transformers ignores.
 */
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec } from '@swapformer/registry';
import { BUILT_IN_FAMILIES } from '../families/builtInFamilies';
import { familyForHfConfig, familyNamed, supportedArchitectures } from '../families/familyTable';
import type { FamilyTable, ModelFamily } from '../families/ModelFamily';
import type { HfDescription } from '../families/hfConfigHelpers';
import type { ModelConfig } from '../models/modelConfig';
import type { ModelConfigBase } from '../models/modelConfigBase';

/** Architectures the built-in families load, by `config.json` `architectures[0]`. */
export const SUPPORTED_ARCHITECTURES: readonly string[] = Object.freeze(supportedArchitectures(BUILT_IN_FAMILIES));

/** What `fromHfConfig` understood, and the family that reads it. */
export interface HfModelDescription<C extends ModelConfigBase = ModelConfig> extends HfDescription<C> {
  readonly family: ModelFamily;
}

type Json = Record<string, unknown>;

/**
 * The HF-style `config.json` content for a model config.
 *
 * @example JSON.stringify(toHfConfig(config, { name: 'exact' }), null, 2)
 */
export function toHfConfig(config: ModelConfigBase, attention: AttentionSpec, families: FamilyTable = BUILT_IN_FAMILIES): Json {
  return familyNamed(families, config.model).hf.toHfConfig(config, attention);
}

/**
 * Reads an HF `config.json` object into a validated model config. `hasKey` (a checkpoint key
 * test) settles what the config cannot say (whether a bare ViT has a pooler).
 *
 * @example const { config, architecture } = fromHfConfig(readJsonFile('ckpt/config.json') as object, 'ckpt/config.json');
 */
export function fromHfConfig(raw: Json, file = 'config.json', hasKey: (name: string) => boolean = () => false, families: FamilyTable = BUILT_IN_FAMILIES): HfModelDescription {
  // a config.json holding null, an array or a number parses as JSON; it must still fail as a config
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SwapformerError('invalid-checkpoint', `${file}: must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}.`, { path: file });
  }
  const family = familyForHfConfig(families, raw, file);
  const description = family.hf.fromHfConfig(raw, file, hasKey);
  return { ...description, config: description.config as ModelConfig, family };
}
