import type { FamilyTable } from './ModelFamily';
import { gptFamily } from './gpt/gptFamily';
import type { GptModel } from './gpt/buildGpt';
import type { GptModelConfig } from './gpt/gptConfig';
import { llamaFamily } from './llama/llamaFamily';
import type { LlamaModel } from './llama/buildLlama';
import type { LlamaModelConfig } from './llama/llamaConfig';
import { vitFamily } from './vit/vitFamily';
import type { VitModel } from './vit/buildVit';
import type { VitModelConfig } from './vit/vitConfig';

/**
 * The families this package ships, the default table of `buildModel`, `normalizeModelConfig`
 * and `loadCheckpoint`. Frozen: a caller with more families passes its own table
 * (`[...BUILT_IN_FAMILIES, myFamily]`) instead of registering into a shared one.
 */
export const BUILT_IN_FAMILIES: FamilyTable = Object.freeze([vitFamily, gptFamily, llamaFamily]);

/** A config of a built-in family. */
export type BuiltInModelConfig = VitModelConfig | GptModelConfig | LlamaModelConfig;
/** A graph of a built-in family (narrow it by `kind`). */
export type BuiltInModel = VitModel | GptModel | LlamaModel;
