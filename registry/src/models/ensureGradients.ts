/**
 * tfjs-core's Node entry (`tf-core.node.js`) registers no gradients, and its
 * `dist/register_all_gradients.js` is an ES module whose relative imports have no file
 * extension, so plain Node cannot load it (bundlers and tsx can). Gradients live in a
 * process-global registry shared by every copy of tfjs-core, so loading that module once —
 * through whichever loader works — makes `tf.variableGrads` work on the models.
 */
import * as tf from '@tensorflow/tfjs-core';
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
  if (gradientsRegistered()) return true;
  try {
    require(ENTRY);
  } catch {
    return false;
  }
  return gradientsRegistered();
}

let pending: Promise<void> | undefined;

/**
 * Makes sure tfjs-core's gradients are registered, so models can be trained with
 * `tf.variableGrads` / optimizers. Call once before training in plain Node (the first call
 * loads tfjs-core's gradient modules through Node's ESM loader, about 2 s).
 *
 * @example await ensureGradients(); const { grads } = tf.variableGrads(loss, vars);
 */
export function ensureGradients(): Promise<void> {
  if (tryRegisterGradientsSync()) return Promise.resolve();
  pending ??= (async () => {
    const { register } = await import('node:module');
    const { pathToFileURL } = await import('node:url');
    register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`);
    await import(pathToFileURL(require.resolve(`${ENTRY}.js`)).href);
    if (!gradientsRegistered()) {
      throw new SwapformerError('unsupported', `loading ${ENTRY} registered no gradients; training needs them (install @tensorflow/tfjs, whose bundle registers them, as a workaround).`);
    }
  })();
  return pending;
}
