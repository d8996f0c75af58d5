import type { Tensor, Variable } from '@tensorflow/tfjs-core';

/**
 * The contract every model graph of the registry implements (ViT, GPT). Training loops,
 * checkpoint I/O and the CLI code against this interface only.
 *
 * Parameter names follow the Hugging Face layout of the model (`vit.encoder.layer.0.…`,
 * `transformer.h.0.…`), so a `NamedVariable`'s name is the key it has in `model.safetensors`.
 */

/** One variable of a model with its checkpoint name. */
export interface NamedVariable {
  readonly name: string;
  readonly variable: Variable;
  readonly trainable: boolean;
  /** set when the operator of a layer owns it (e.g. 'performer'), so loaders tolerate it missing */
  readonly ownedBy?: string;
}

/** Per-call options of `forward`. */
export interface ForwardOptions {
  /** True while training (operators may redraw features; passed on as `ctx.training`). */
  readonly training?: boolean;
  /** Seed of this call for randomized operators (overrides their option seed). */
  readonly seed?: number;
}

/**
 * A built model graph.
 *
 * @example
 * const model = buildModel(config, undefined, registry);
 * const logits = model.forward(pixels); // [b, numLabels]
 * const { value, grads } = tf.variableGrads(() => loss(model.forward(x, { training: true })), model.parameters().map((p) => p.variable));
 */
export interface SwapformerModel {
  /** The family name (`"vit"`, `"gpt"`, `"llama"`, …); narrow `BuiltInModel` by it. */
  readonly kind: string;
  /** The HF-style config.json content. */
  readonly config: Readonly<Record<string, unknown>>;
  /** ViT: pixel_values float32 [b, channels, height, width] → logits [b, numLabels].
   *  GPT: input_ids int32 [b, t] → logits [b, t, vocab]. Pure w.r.t. variables (usable in tf.variableGrads). */
  forward(input: Tensor, options?: ForwardOptions): Tensor;
  parameters(): NamedVariable[];
  dispose(): void;
}
