/**
 * Attention time where the profiler cannot measure it: tfjs-webgpu in Node has no synchronous
 * read, so a hook tap cannot wait for an operator's output. There, the inputs of the first call
 * of every timed layer are captured during evaluation, and afterwards a fresh instance of that
 * layer's operator (same selection, same geometry) is timed alone on them: median of a few
 * forwards, each awaited with one read-back of its output.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionContext, SwapformerHooks } from '@swapformer/core';
import type { OperatorRegistry, OperatorSelection } from '@swapformer/registry';

/** The inputs one attention call received. */
export interface CapturedCall {
  readonly layerIndex: number;
  readonly q: Tensor4D;
  readonly k: Tensor4D;
  readonly v: Tensor4D;
  readonly ctx: AttentionContext;
}

export interface AttentionCapture {
  readonly calls: readonly CapturedCall[];
  stop(): void;
  dispose(): void;
}

/**
 * Keeps copies of the inputs of the first call of every layer `wanted` accepts.
 *
 * @example const capture = captureAttentionInputs(registry.hooks, (i) => i === 0); model.forward(x); capture.stop();
 */
export function captureAttentionInputs(hooks: SwapformerHooks, wanted: (layerIndex: number) => boolean, name = 'swapformer:run:capture'): AttentionCapture {
  const calls: CapturedCall[] = [];
  let active = true;
  hooks.beforeAttention.tap({ name, stage: 1e9 }, (inputs, info) => {
    const layer = info.layerIndex;
    if (active && layer !== undefined && wanted(layer) && !calls.some((c) => c.layerIndex === layer)) {
      // Inside runAttention's tidy: keep the copies past it.
      calls.push({ layerIndex: layer, q: tf.keep(tf.clone(inputs.q)), k: tf.keep(tf.clone(inputs.k)), v: tf.keep(tf.clone(inputs.v)), ctx: { ...info.ctx, mask: undefined } });
    }
    return inputs;
  });
  return {
    calls,
    stop: () => {
      active = false;
    },
    dispose: () => {
      active = false;
      for (const c of calls) tf.dispose([c.q, c.k, c.v]);
      calls.length = 0;
    },
  };
}

/**
 * Median milliseconds of `selection`'s forward on a captured call (a fresh operator instance;
 * the first forward is a warm-up).
 *
 * @example const ms = await timeOperatorAlone(registry, { name: 'performer' }, capture.calls[0]);
 */
export async function timeOperatorAlone(registry: OperatorRegistry, selection: OperatorSelection, call: CapturedCall, repeats = 3): Promise<number> {
  const [, heads, n, headDim] = call.q.shape;
  const operator = registry.resolve(selection, { causal: call.ctx.causal, pretrainedWeights: true, training: true }, { layerIndex: call.layerIndex }).create({ heads, headDim, valueDim: call.v.shape[3], modelDim: heads * headDim, maxSeqLen: Math.max(n, call.k.shape[2]), layerIndex: call.layerIndex });
  try {
    const times: number[] = [];
    for (let r = 0; r <= repeats; r++) {
      const started = performance.now();
      const out = operator.forward(call.q, call.k, call.v, call.ctx);
      await out.data();
      out.dispose();
      if (r > 0) times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    operator.dispose();
  }
}
