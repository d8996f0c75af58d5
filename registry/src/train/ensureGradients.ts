/**
 * Gradients for training on tfjs-core alone. The package's Node entry (`tf-core.node.js`,
 * CommonJS) registers no gradient functions, and `dist/register_all_gradients.js`, which does,
 * is an ES module whose relative imports have no file extension — Node refuses to load it
 * as is (bundlers and tsx resolve such imports, which is why it loads under the tests).
 *
 * `ensureGradients()` loads it once per process: directly when that works, otherwise through a
 * module resolve hook that adds the missing `.js` / `/index.js` to relative imports inside
 * tfjs-core's dist folder. The gradients land in tfjs's process-global registry, so every copy
 * of tfjs-core (the CommonJS one the backends use included) sees them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { SwapformerError } from '@swapformer/core';

const RESOLVE_HOOK = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    const inCore = (context.parentURL || '').includes('/@tensorflow/tfjs-core/dist/');
    if (!relative || !inCore || (error.code !== 'ERR_MODULE_NOT_FOUND' && error.code !== 'ERR_UNSUPPORTED_DIR_IMPORT')) throw error;
    try {
      return await next(specifier + '.js', context);
    } catch {
      return next(specifier + '/index.js', context);
    }
  }
}`;

const loaded = (): boolean => tf.getGradient('Sum') !== undefined && tf.getGradient('BatchMatMul') !== undefined;

let pending: Promise<void> | null = null;

/**
 * Makes sure tfjs has its gradient functions (needed by `tf.variableGrads`). Idempotent.
 *
 * @example await ensureGradients(); const { value, grads } = tf.variableGrads(loss);
 */
export function ensureGradients(): Promise<void> {
  if (loaded()) return Promise.resolve();
  pending ??= (async () => {
    try {
      require('@tensorflow/tfjs-core/dist/register_all_gradients');
    } catch {
      // Plain Node: fall through to the resolve hook.
    }
    if (loaded()) return;
    register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`, pathToFileURL(__filename));
    // A query makes a fresh module URL: a failed require() above leaves the plain one cached as failed.
    const specifier: string = '@tensorflow/tfjs-core/dist/register_all_gradients.js?swapformer-gradients';
    await import(specifier);
    if (!loaded()) throw new SwapformerError('backend-unavailable', 'could not register tfjs gradients from @tensorflow/tfjs-core/dist/register_all_gradients.js; training needs them.');
  })();
  return pending;
}
