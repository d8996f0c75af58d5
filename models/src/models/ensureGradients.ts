/**
 * tfjs-core's Node entry (`tf-core.node.js`) registers no gradients, and its
 * `dist/register_all_gradients.js` is an ES module whose relative imports have no file
 * extension, so plain Node cannot load it (bundlers and tsx can). Gradients live in a
 * process-global registry shared by every copy of tfjs-core, so loading that module once —
 * through whichever loader works — makes `tf.variableGrads` work on the models.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';

const ENTRY = '@tensorflow/tfjs-core/dist/register_all_gradients';

/** Appends `.js` to extensionless relative imports inside tfjs-core's ESM dist. */
const RESOLVE_HOOK = `
export async function resolve(specifier, context, next) {
  if ((specifier.startsWith('./') || specifier.startsWith('../')) && context.parentURL && context.parentURL.includes('/@tensorflow/tfjs-core/dist/') && !/\\.[cm]?js$/.test(specifier)) {
    try { return await next(specifier + '.js', context); } catch { /* not a file without its extension */ }
  }
  return next(specifier, context);
}`;

/** True when tfjs gradients are registered (a representative kernel has one). */
export function gradientsRegistered(): boolean {
  return tf.getGradient('BatchMatMul') !== undefined && tf.getGradient('Softmax') !== undefined;
}

/** Synchronous attempt (works under bundlers, tsx and ts-node); false if this loader cannot. */
export function tryRegisterGradientsSync(): boolean {
  if (!gradientsRegistered()) {
    try {
      require(ENTRY);
    } catch {
      return false;
    }
  }
  if (!gradientsRegistered()) return false;
  useDeviceSideReductionGradients();
  return true;
}

/** `dy` reshaped to `x`'s rank with the reduced axes kept as 1s. */
function keepReducedAxes(dy: Tensor, x: Tensor, axis: number | number[]): Tensor {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
  return tf.reshape(dy, shape);
}

const deviceSideSumGradient: tf.GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    return { x: () => tf.broadcastTo(keepReducedAxes(dy as Tensor, x, attrs.axis as number | number[]), x.shape) };
  },
};

const deviceSideMeanGradient: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const axis = attrs.axis as number | number[];
    const count = tf.util.parseAxisParam(axis, x.shape).reduce((n, a) => n * x.shape[a], 1);
    return { x: () => tf.div(tf.broadcastTo(keepReducedAxes(dy as Tensor, x, axis), x.shape), count) };
  },
};

/**
 * tfjs's gradients of Sum and Mean multiply `dy` by `ones(x.shape)`, a tensor filled on the host
 * and uploaded in every backward pass — on webgpu that upload dominated a training step. These
 * give the same values by broadcasting `dy` on the device, and replace tfjs's once they are loaded
 * (process-wide, like the registration itself).
 */
function useDeviceSideReductionGradients(): void {
  if (tf.getGradient('Sum') !== deviceSideSumGradient) tf.registerGradient(deviceSideSumGradient);
  if (tf.getGradient('Mean') !== deviceSideMeanGradient) tf.registerGradient(deviceSideMeanGradient);
}

/**
 * Registers tfjs-core's gradients (and the device-side Sum/Mean gradients above), so models can
 * be trained with `tf.variableGrads` / optimizers. Importing this package registers nothing:
 * training code (and tests that take gradients) call this once before the first backward pass.
 * In plain Node the first call loads tfjs-core's gradient modules through Node's ESM loader
 * (about 2 s); later calls find them registered and return at once.
 *
 * @example await ensureGradients(); const { grads } = tf.variableGrads(loss, vars);
 */
export async function ensureGradients(): Promise<void> {
  if (tryRegisterGradientsSync()) return;
  const { register } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`);
  // Node caches the module, so a second concurrent call evaluates it once
  await import(pathToFileURL(require.resolve(`${ENTRY}.js`)).href);
  if (!gradientsRegistered()) {
    throw new SwapformerError('unsupported', `loading ${ENTRY} registered no gradients; training needs them (install @tensorflow/tfjs, whose bundle registers them, as a workaround).`);
  }
  useDeviceSideReductionGradients();
}
