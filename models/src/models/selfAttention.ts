/**
 * Multi-head self-attention around a resolved operator: projections (q/k/v, or only q for
 * `projections: 'q-only'` operators such as TOST), rotary position embeddings on q and k when the
 * family has them (so operators see positions already applied and need nothing new), the
 * operator call through `runAttention` (hooks, validation, error stamping), and the output projection.
 *
 * Grouped-query attention (fewer k/v heads than query heads) goes through the operator contract:
 * a plugin that declares `capabilities.groupedKeyValues` gets the k/v heads as they are (and its
 * kv-cache keeps only those); any other gets them repeated to the query heads here, recorded on
 * the layer (`keyValueHeads.repeated`) and in the `modelBuilt` hook event — never silently.
 *
 * Shapes: x `[b·n, d]` (rows = batch × tokens), heads `[b, h, n, headDim]`, k/v `[b, hkv, n, headDim]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs-core';
import { repeatKeyValueHeads, runAttention, SwapformerError, type AttentionCallInfo, type AttentionContext, type AttentionOperator, type DecodingState, type OperatorGeometry, type OperatorRequirements, type SwapformerHooks } from '@swapformer/core';
import { selectionForLayer, type AttentionSpec, type OperatorRegistry, type ResolvedOperator } from '@swapformer/registry';
import { linear, mergeHeads, splitHeads } from './layers';
import type { HfLayout, Init, ParameterStore } from './parameterStore';

/** The operator of one layer, and where its selection came from. */
export interface LayerOperator {
  readonly layerIndex: number;
  /** JSON path of the selection in the config ("/attention/overrides/0"). */
  readonly path: string;
  readonly resolved: ResolvedOperator;
  readonly operator: AttentionOperator;
  /** Set under grouped-query attention: query and k/v heads, and whether k/v are repeated for an operator that does not take them grouped. */
  readonly keyValueHeads?: { readonly heads: number; readonly kvHeads: number; readonly repeated: boolean };
}

/**
 * Resolves and instantiates the operator of layer `layerIndex`: the error for an operator that
 * lacks a required capability names the model, the layer, the config path and the capability.
 */
export function resolveLayerOperator(
  registry: OperatorRegistry,
  spec: AttentionSpec,
  layerIndex: number,
  numLayers: number,
  requirements: OperatorRequirements,
  model: string,
  geometry: OperatorGeometry,
): LayerOperator {
  const { selection, path } = selectionForLayer(spec, layerIndex, numLayers);
  const resolved = registry.resolve(selection, requirements, { layerIndex, path, model });
  const kvHeads = geometry.kvHeads ?? geometry.heads;
  if (kvHeads === geometry.heads) return { layerIndex, path, resolved, operator: resolved.create({ ...geometry, kvHeads, layerIndex }) };
  if (!(kvHeads >= 1 && geometry.heads % kvHeads === 0)) {
    throw new SwapformerError('invalid-config', `${model} layer ${layerIndex}: ${geometry.heads} query heads are not a multiple of ${kvHeads} key/value heads.`, { layer: layerIndex });
  }
  const native = resolved.capabilities.groupedKeyValues === true;
  const operator = resolved.create({ ...geometry, kvHeads: native ? kvHeads : geometry.heads, layerIndex });
  return { layerIndex, path, resolved, operator, keyValueHeads: { heads: geometry.heads, kvHeads, repeated: !native } };
}

/** Rotary position embedding applied to q and k of the tokens at positions offset … offset + n − 1. */
export interface RotaryEmbedding {
  apply(q: Tensor4D, k: Tensor4D, offset: number): [Tensor4D, Tensor4D];
}

/** Checkpoint names of an attention module's parameters. */
export interface AttentionNames {
  /** Query projection (also the only projection of q-only operators: TOST's W_in). */
  readonly query: string;
  readonly key: string;
  readonly value: string;
  /** When set, q/k/v are one fused `[d, 3d]` projection under this name (GPT-2 `c_attn`). */
  readonly fusedQkv?: string;
  readonly output: string;
  /** Operator-owned state is named `<operatorPrefix>.<param name>`. */
  readonly operatorPrefix: string;
  readonly layout: HfLayout;
  readonly qkvBias: boolean;
}

/** Per-call settings of the model forward. */
export interface CallSettings {
  readonly training?: boolean;
  readonly seed?: number;
}

export interface SelfAttention {
  readonly layer: LayerOperator;
  forward(x: Tensor2D, batch: number, n: number, call: CallSettings): Tensor2D;
  /** Incremental decoding of t new tokens (operator.decoder must exist). */
  step(x: Tensor2D, batch: number, t: number, state: DecodingState, call: CallSettings): { output: Tensor2D; state: DecodingState };
}

export interface SelfAttentionOptions {
  readonly hooks: SwapformerHooks;
  readonly model: string;
  readonly hiddenSize: number;
  readonly heads: number;
  /** Key/value heads (grouped-query attention); defaults to heads. */
  readonly kvHeads?: number;
  /** Head dimension; defaults to hiddenSize / heads. */
  readonly headDim?: number;
  /** Bias on the output projection (default true; Llama and Qwen2 have none). */
  readonly outputBias?: boolean;
  readonly rotary?: RotaryEmbedding;
  readonly causal: boolean;
  /** Logit scale when it is not 1/sqrt(head dim). */
  readonly scale?: number;
  readonly init: Init;
  readonly outputInit: Init;
}

/**
 * @example const attn = createSelfAttention(store, layer, names, { hooks, model: 'ViT', hiddenSize: 64, heads: 4, causal: false, init: { normal: 0.02 }, outputInit: { normal: 0.02 } });
 */
export function createSelfAttention(store: ParameterStore, layer: LayerOperator, names: AttentionNames, options: SelfAttentionOptions): SelfAttention {
  const d = options.hiddenSize;
  const heads = options.heads;
  const kvHeads = options.kvHeads ?? heads;
  const qWidth = heads * (options.headDim ?? d / heads);
  const kvWidth = kvHeads * (options.headDim ?? d / heads);
  const repeat = layer.keyValueHeads?.repeated ? heads / kvHeads : 1;
  const qOnly = layer.resolved.capabilities.projections === 'q-only';
  const bias = (name: string, width: number): Variable | undefined => (names.qkvBias ? store.add(name.replace(/weight$/, 'bias'), [width], 'zeros') : undefined);
  let wq: Variable | undefined, bq: Variable | undefined, wk: Variable | undefined, bk: Variable | undefined, wv: Variable | undefined, bv: Variable | undefined;
  let wqkv: Variable | undefined, bqkv: Variable | undefined;
  if (!qOnly && names.fusedQkv) {
    wqkv = store.add(`${names.fusedQkv}.weight`, [d, 3 * d], options.init, names.layout);
    bqkv = bias(`${names.fusedQkv}.weight`, 3 * d);
  } else {
    wq = store.add(`${names.query}.weight`, [d, qWidth], options.init, names.layout);
    bq = bias(`${names.query}.weight`, qWidth);
    if (!qOnly) {
      wk = store.add(`${names.key}.weight`, [d, kvWidth], options.init, names.layout);
      bk = bias(`${names.key}.weight`, kvWidth);
      wv = store.add(`${names.value}.weight`, [d, kvWidth], options.init, names.layout);
      bv = bias(`${names.value}.weight`, kvWidth);
    }
  }
  const wo = store.add(`${names.output}.weight`, [qWidth, d], options.outputInit, names.layout);
  const bo = options.outputBias === false ? undefined : store.add(`${names.output}.bias`, [d], 'zeros');
  store.adopt(names.operatorPrefix, layer.resolved.name, layer.operator.parameters());

  const site = { hooks: options.hooks, operator: layer.operator, capabilities: layer.resolved.capabilities, layerIndex: layer.layerIndex, model: options.model, checkFinite: false };
  let trainingCalls = 0;

  /** q, k, v of n tokens at positions offset …: rotary applied to q and k, k/v repeated for an operator without grouped heads. */
  const project = (x: Tensor2D, batch: number, n: number, offset: number): [Tensor4D, Tensor4D, Tensor4D] => {
    if (qOnly) {
      let q = splitHeads(linear(x, wq!, bq), batch, n, heads);
      if (options.rotary) q = options.rotary.apply(q, q, offset)[0];
      return [q, q, q];
    }
    let q: Tensor4D, k: Tensor4D, v: Tensor4D;
    if (wqkv) {
      const [q2, k2, v2] = tf.split(linear(x, wqkv, bqkv), 3, 1) as Tensor2D[];
      [q, k, v] = [splitHeads(q2, batch, n, heads), splitHeads(k2, batch, n, kvHeads), splitHeads(v2, batch, n, kvHeads)];
    } else {
      [q, k, v] = [splitHeads(linear(x, wq!, bq), batch, n, heads), splitHeads(linear(x, wk!, bk), batch, n, kvHeads), splitHeads(linear(x, wv!, bv), batch, n, kvHeads)];
    }
    if (options.rotary) [q, k] = options.rotary.apply(q, k, offset);
    return repeat > 1 ? [q, repeatKeyValueHeads(k, repeat), repeatKeyValueHeads(v, repeat)] : [q, k, v];
  };

  const context = (call: CallSettings): AttentionContext => ({
    causal: options.causal,
    scale: options.scale,
    seed: call.seed,
    layerIndex: layer.layerIndex,
    training: call.training ?? false,
    callIndex: call.training ? trainingCalls++ : undefined,
  });

  return {
    layer,
    forward(x, batch, n, call) {
      return tf.tidy(() => {
        const [q, k, v] = project(x, batch, n, 0);
        const out = runAttention(site, q, k, v, context(call)); // [b, h, n, dh]
        return linear(mergeHeads(out), wo, bo);
      });
    },
    step(x, batch, t, state, call) {
      const decoder = layer.operator.decoder;
      if (!decoder) {
        throw new SwapformerError('unsupported', `${options.model} layer ${layer.layerIndex}: operator "${layer.resolved.name}" has no incremental decoder (capabilities.decoding = "${layer.resolved.capabilities.decoding}").`, {
          plugin: layer.resolved.name,
          layer: layer.layerIndex,
        });
      }
      let next: DecodingState | undefined;
      const output = tf.tidy(() => {
        const [q, k, v] = project(x, batch, t, state.length);
        const ctx = context(call);
        const info: AttentionCallInfo = { operator: layer.resolved.name, layerIndex: layer.layerIndex, model: options.model, ctx };
        const inputs = options.hooks.beforeAttention.call({ q, k, v }, info);
        const result = decoder.step(inputs.q, inputs.k, inputs.v, state, { scale: ctx.scale, seed: ctx.seed, layerIndex: ctx.layerIndex, training: false });
        next = result.state;
        for (const s of result.state.tensors) tf.keep(s);
        return linear(mergeHeads(options.hooks.afterAttention.call(result.output, info)), wo, bo);
      });
      return { output, state: next! };
    },
  };
}
