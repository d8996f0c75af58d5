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
import type { NamedVariable } from '@swapformer/models';

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

/** Where each live parameter sits in the flat moment vectors. */
interface FlatLayout {
  readonly key: string;
  readonly names: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  readonly sizes: readonly number[];
}

function layoutOf(live: readonly NamedVariable[]): FlatLayout {
  const names = live.map((p) => p.name);
  const shapes = live.map((p) => p.variable.shape);
  return { key: live.map((p) => `${p.name}:${p.variable.shape.join('x')}`).join('|'), names, shapes, sizes: live.map((p) => p.variable.size) };
}

function disposeMoments(moments: ReadonlyMap<string, { m: Tensor; v: Tensor }> | null): void {
  for (const { m, v } of moments?.values() ?? []) tf.dispose([m, v]);
}

/** Splits a flat vector into per-parameter tensors of the layout's shapes. */
function splitFlat(flat: Tensor, layout: FlatLayout): Tensor[] {
  const parts = layout.sizes.length === 1 ? [flat] : tf.split(flat, [...layout.sizes]);
  return parts.map((part, i) => tf.reshape(part, [...layout.shapes[i]]));
}

/**
 * The moments live in two flat vectors over every live parameter, so one update is a handful of
 * element-wise ops on one long vector instead of ~14 small ops (and their scalar uploads) per
 * parameter: on webgpu the per-dispatch cost of ~1,000 small ops dominated a training step.
 *
 * @example
 * const opt = createAdamW({ ...DEFAULT_ADAMW, weightDecay: 0.1 });
 * const { value, grads } = tf.variableGrads(loss, params.map((p) => p.variable));
 * opt.step(params, grads, 1e-3).dispose();
 */
export function createAdamW(settings: AdamWSettings): AdamW {
  let layout: FlatLayout | null = null;
  let flat: { m: Variable; v: Variable; decayMask: Tensor } | null = null;
  let views: Map<string, AdamMoments> | null = null; // per-parameter copies made by state()
  let pending: Map<string, { m: Tensor; v: Tensor }> | null = null; // restored, before the first step
  let updates = 0;
  const dropPending = () => {
    disposeMoments(pending);
    pending = null;
  };
  const dropViews = () => {
    disposeMoments(views);
    views = null;
  };
  const dropFlat = () => {
    if (flat) tf.dispose([flat.m, flat.v, flat.decayMask]);
    flat = null;
  };
  /** Per-name moments of the current flat vectors (new tensors the caller disposes). */
  const currentByName = (): Map<string, { m: Tensor; v: Tensor }> => {
    const out = new Map<string, { m: Tensor; v: Tensor }>();
    if (pending) {
      for (const [name, { m, v }] of pending) out.set(name, { m: tf.clone(m), v: tf.clone(v) });
      return out;
    }
    if (!flat || !layout) return out;
    const at = layout;
    const ms = tf.tidy(() => splitFlat(flat!.m, at));
    const vs = tf.tidy(() => splitFlat(flat!.v, at));
    layout.names.forEach((name, i) => out.set(name, { m: ms[i], v: vs[i] }));
    return out;
  };
  /** Builds the flat vectors for `next`, keeping the moments of parameters known by name. */
  const relayout = (next: FlatLayout, live: readonly NamedVariable[], known: ReadonlyMap<string, { m: Tensor; v: Tensor }>) => {
    const pick = (i: number, which: 'm' | 'v') => {
      const saved = known.get(next.names[i]);
      return saved && tf.util.arraysEqual(saved[which].shape, [...next.shapes[i]]) ? tf.reshape(saved[which], [-1]) : tf.zeros([next.sizes[i]]);
    };
    const asVariable = (which: 'm' | 'v') => {
      const joined = tf.tidy(() => tf.concat(next.names.map((_, i) => pick(i, which))));
      const variable = tf.variable(joined, false);
      joined.dispose(); // the variable holds its own reference to the data
      return variable;
    };
    const m = asVariable('m');
    const v = asVariable('v');
    const decayMask = tf.tidy(() => tf.concat(live.map((p, i) => tf.fill([next.sizes[i]], decays(p) ? 1 : 0))));
    dropFlat();
    flat = { m, v, decayMask };
    layout = next;
  };
  return {
    get updates() {
      return updates;
    },
    step(params, grads, lr) {
      updates += 1;
      dropViews();
      const { beta1, beta2, epsilon, weightDecay, clipNorm } = settings;
      const correction1 = 1 - beta1 ** updates;
      const correction2 = 1 - beta2 ** updates;
      const live = params.filter((p) => p.trainable && grads[p.variable.name] != null);
      if (live.length === 0) return tf.scalar(0);
      const next = layoutOf(live);
      if (!layout || layout.key !== next.key) {
        const known = currentByName();
        relayout(next, live, known);
        disposeMoments(known);
        dropPending();
      }
      const { m, v, decayMask } = flat!;
      const g = tf.tidy(() => tf.concat(live.map((p) => tf.reshape(grads[p.variable.name] as Tensor, [-1]))));
      const norm = tf.tidy(() => tf.sqrt(tf.sum(tf.square(g))));
      tf.tidy(() => {
        // scale = min(1, clip / norm): kept on the device, no sync per step.
        const clipped = clipNorm > 0 ? tf.mul(g, tf.minimum(tf.scalar(1), tf.div(tf.scalar(clipNorm), tf.add(norm, 1e-6)))) : g;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(clipped, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(clipped), 1 - beta2)));
        const p = tf.concat(live.map((q) => tf.reshape(q.variable, [-1])));
        let update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
        if (weightDecay > 0) update = tf.add(update, tf.mul(tf.mul(p, decayMask), weightDecay));
        const updated = splitFlat(tf.sub(p, tf.mul(update, lr)), layout!);
        live.forEach((q, i) => q.variable.assign(updated[i]));
      });
      g.dispose();
      for (const grad of Object.values(grads)) grad?.dispose();
      return norm as Scalar;
    },
    state() {
      if (!views) {
        const byName = currentByName();
        views = new Map([...byName].map(([name, { m, v }]) => [name, { m: tf.variable(m, false), v: tf.variable(v, false) }]));
        disposeMoments(byName);
      }
      return views;
    },
    restore(saved, count) {
      dropViews();
      dropFlat();
      dropPending();
      layout = null;
      // Kept by name until the first step fixes the layout of the live parameters.
      pending = new Map([...saved].map(([name, { m, v }]) => [name, { m: tf.keep(tf.clone(m)), v: tf.keep(tf.clone(v)) }]));
      updates = count;
    },
    dispose() {
      dropViews();
      dropFlat();
      dropPending();
      layout = null;
    },
  };
}
