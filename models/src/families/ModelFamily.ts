/**
 * A model family as data (transformers' AutoModel pattern): how its config is validated and
 * sized, how its graph is built, and how its Hugging Face checkpoints are read — `config.json`
 * in the transformers 4.x and 5.x forms, architecture names, key names, base-model prefix,
 * tied and ignored keys. Everything generic (`buildModel`, `normalizeModelConfig`,
 * `loadCheckpoint`, the CLI's config kinds) looks a family up in a `FamilyTable` passed to it,
 * so a new family is one folder plus its schema.
 */
import type { OperatorRequirements } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import type { BuildOptions } from '../models/buildOptions';
import type { ModelConfigBase } from '../models/modelConfigBase';
import type { Fields, ModelSize } from '../models/modelSizeLimits';
import type { ModelParameter } from '../models/parameterStore';
import type { SwapformerModel } from '../models/SwapformerModel';
import type { HfDescription, Json } from './hfConfigHelpers';

/** Read access to a checkpoint's tensors, by their stored names. */
export interface StoredTensors {
  has(name: string): boolean;
  shape(name: string): readonly number[];
  read(name: string): Float32Array;
  names(): readonly string[];
}

/** Where a parameter's values come from when a family reads it its own way. */
export interface ParameterSource {
  /** The parameter as the checkpoint lays it out (a family may change its layout, e.g. GPT-2 saved from nn.Linear). */
  readonly param: ModelParameter;
  /** Stored key read. */
  readonly from: string;
  readonly shape: readonly number[];
  readonly data: () => Float32Array;
  /** Taken from part of another tensor (a q-only layer's query from GPT-2's fused c_attn). */
  readonly derived?: boolean;
}

/** How a family's checkpoints are stored by transformers. */
export interface HfCheckpointRules<C> {
  /** `config.json` `model_type` values this family reads. */
  readonly modelTypes: readonly string[];
  /** `architectures[0]` values this family reads. */
  readonly architectures: readonly string[];
  /**
   * transformers' `base_model_prefix` with its dot ("transformer.", "model.", "vit."): a head
   * model's backbone keys sit under it, a bare model's do not, and transformers loads either
   * file into either class by adding or removing it.
   */
  readonly basePrefix: string;
  /** Stored buffers that are not parameters (causal-mask buffers, rotary `inv_freq`): skipped and reported. */
  readonly ignoredKeys: readonly RegExp[];
  /** Stored keys the built model does not keep because they are tied to another parameter (key → the parameter it equals). */
  tiedKeys(config: C): Readonly<Record<string, string>>;
  fromHfConfig(json: Json, file: string, hasKey: (name: string) => boolean): HfDescription<C>;
  toHfConfig(config: C, attention: AttentionSpec): Json;
  /** Optional: reads a parameter its own way (undefined: the generic name rules apply). */
  readParameter?(param: ModelParameter, stored: StoredTensors, resolve: (name: string) => string | undefined, model: SwapformerModel): ParameterSource | undefined;
  /** Optional: true when stored tensors of the right shape still need `readParameter`'s reinterpretation, so none may be preloaded. */
  reinterpretsLayout?(stored: StoredTensors, config: C): boolean;
}

export interface ModelFamily<C extends ModelConfigBase = ModelConfigBase, M extends SwapformerModel = SwapformerModel> {
  /** The config's `"model"` value. */
  readonly name: string;
  /** Human name in messages ("GPT", "Llama"). */
  readonly label: string;
  /** One line for `swapformer validate` and the config kinds. */
  readonly description: string;
  readonly schemaId: string;
  /** Schema validation with defaults, then what a schema cannot say, then the size guard. */
  normalize(input: unknown): C;
  modelSize(config: Fields): ModelSize;
  /** Number of attention layers a config has (for validating its selection), and what they require. */
  attentionLayers(config: Fields): number;
  readonly requirements: OperatorRequirements;
  build(config: C, attention: AttentionSpec, registry: OperatorRegistry, options: BuildOptions): M;
  readonly hf: HfCheckpointRules<C>;
}

/**
 * The families a caller can build and load, by config name. Passed explicitly; never mutated.
 * Entries differ in config and model types, which a table cannot name one by one (`any`); the
 * lookups narrow nothing, and callers narrow the built model by its `kind`.
 */
// `any`: a table holds families of different config and model types (each checks its own)
export type FamilyTable = readonly ModelFamily<any, any>[];
