/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", arXiv:1711.05101) with
 * global-norm gradient clipping, on tfjs variables.
 *
 * Decay is decoupled: `p ← p − lr·(m̂/(√v̂ + ε) + λ·p)`, applied only to weight matrices and
 * token embeddings — never to norms, biases, operator temperatures / position biases, ViT
 * position embeddings or the CLS token, which the decay would drag to zero (`decays` below).
 * Moments are kept per parameter name, so a model rebuilt with another operator
 * (LevAttention's warm start) keeps its optimizer state.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import type { NamedVariable } from '../models/SwapformerModel';

export interface AdamWSettings {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** Clip the global gradient norm to this; 0 disables clipping. */
  readonly clipNorm: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05, clipNorm: 1 };

// Norms, biases, operator temperatures and biases, LayerScale; ViT position embeddings and the
// CLS token as in timm's no_weight_decay (GPT-2's wpe is decayed, as in nanoGPT).
const NO_DECAY_NAME = /(norm|bias|temp|scale|gamma|beta|\bln_|position_embeddings|cls_token)/i;

/**
 * Whether weight decay applies: rank ≥ 2 and not a norm, bias, temperature or scale by name.
 *
 * @example decays({ name: 'vit.encoder.layer.0.layernorm_before.weight', ... }) // false
 */
export function decays(param: Pick<NamedVariable, 'name' | 'variable'>): boolean {
  return param.variable.rank >= 2 && !NO_DECAY_NAME.test(param.name);
}

/** The moments of one parameter. */
export interface AdamMoments {
  readonly m: Variable;
  readonly v: Variable;
}

export interface AdamW {
  /** Number of updates applied so far (bias correction uses it). */
  readonly updates: number;
  /**
   * Clips `grads` (keyed by tfjs variable name) to the global norm, applies one update with
   * learning rate `lr`, disposes the grads and returns the pre-clip global norm (a scalar the
   * caller disposes).
   */
  step(params: readonly NamedVariable[], grads: Record<string, Tensor | null>, lr: number): Scalar;
  /** Moments by parameter name (for checkpoints). */
  state(): ReadonlyMap<string, AdamMoments>;
  /** Restores moments and the update count saved by `state()`. */
  restore(moments: ReadonlyMap<string, { m: Tensor; v: Tensor }>, updates: number): void;
  dispose(): void;
}

/**
 * @example
 * const opt = createAdamW({ ...DEFAULT_ADAMW, weightDecay: 0.1 });
 * const { value, grads } = tf.variableGrads(loss, params.map((p) => p.variable));
 * opt.step(params, grads, 1e-3).dispose();
 */
export function createAdamW(settings: AdamWSettings): AdamW {
  const moments = new Map<string, AdamMoments>();
  let updates = 0;
  const momentsOf = (param: NamedVariable): AdamMoments => {
    let entry = moments.get(param.name);
    if (!entry || !tf.util.arraysEqual(entry.m.shape, param.variable.shape)) {
      if (entry) {
        entry.m.dispose();
        entry.v.dispose();
      }
      entry = { m: tf.variable(tf.zerosLike(param.variable), false), v: tf.variable(tf.zerosLike(param.variable), false) };
      moments.set(param.name, entry);
    }
    return entry;
  };
  return {
    get updates() {
      return updates;
    },
    step(params, grads, lr) {
      updates += 1;
      const { beta1, beta2, epsilon, weightDecay, clipNorm } = settings;
      const correction1 = 1 - beta1 ** updates;
      const correction2 = 1 - beta2 ** updates;
      const live = params.filter((p) => p.trainable && grads[p.variable.name] != null);
      const norm = tf.tidy(() => {
        const squares = live.map((p) => tf.sum(tf.square(grads[p.variable.name] as Tensor)));
        return squares.length === 0 ? tf.scalar(0) : tf.sqrt(tf.addN(squares));
      });
      tf.tidy(() => {
        // scale = min(1, clip / norm): kept on the device, no sync per step.
        const scale = clipNorm > 0 ? tf.minimum(tf.scalar(1), tf.div(tf.scalar(clipNorm), tf.add(norm, 1e-6))) : tf.scalar(1);
        for (const p of live) {
          const g = tf.mul(grads[p.variable.name] as Tensor, scale);
          const { m, v } = momentsOf(p);
          m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
          v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
          let update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
          if (weightDecay > 0 && decays(p)) update = tf.add(update, tf.mul(p.variable, weightDecay));
          p.variable.assign(tf.sub(p.variable, tf.mul(update, lr)));
        }
      });
      for (const g of Object.values(grads)) g?.dispose();
      return norm as Scalar;
    },
    state: () => moments,
    restore(saved, count) {
      for (const entry of moments.values()) {
        entry.m.dispose();
        entry.v.dispose();
      }
      moments.clear();
      for (const [name, { m, v }] of saved) moments.set(name, { m: tf.variable(m, false), v: tf.variable(v, false) });
      updates = count;
    },
    dispose() {
      for (const entry of moments.values()) {
        entry.m.dispose();
        entry.v.dispose();
      }
      moments.clear();
    },
  };
}
