import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError, type AttentionPlugin, type OperatorParameter, type OptionsFromSchema, type OptionsInputFromSchema } from '@swapformer/core';
import { emptyTostPrefix, tssa, tssaCausal } from './tost';
import type { TostParameters } from './tostParameters';
import { createTostDecoder } from './tostDecoder';
import { emptyShiftTail, initialShiftKernel, shiftTokens } from './tokenShift';

const { version } = require('../package.json') as { version: string };

/** Options of the `tost` operator as `create` receives them (defaults applied): the type of `tostOptionsSchema`, so the two cannot drift. */
export type TostPluginOptions = OptionsFromSchema<typeof tostOptionsSchema>;

/** Options as a caller writes them: every option may be left to its default. */
export type TostPluginOptionsInput = OptionsInputFromSchema<typeof tostOptionsSchema>;

/**
 * JSON Schema of the `tost` operator's options.
 *
 * @example resolveOptions(tostPlugin, { form: 'paper' });
 */
export const tostOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    form: {
      description:
        '"code": TSSA as the reference code runs it (Π from token-normalised energies, causal denom_bias); "paper": the paper\'s formula (Π from raw energies, 1/n step factor, no denom_bias).',
      enum: ['code', 'paper'],
      default: 'code',
    },
    tokenShift: {
      description:
        'Tokens looked back by a learned causal depthwise convolution on w before TSSA (0: off, as in the reference; 1: RWKV-style token shift; more: a short convolution of width tokenShift + 1). Causal TSSA moves no token content between positions, so a char-level LM without it predicts from the current character only.',
      type: 'integer',
      minimum: 0,
      maximum: 8,
      default: 0,
    },
  },
} as const;

/** A variable from an initial value, without keeping the initial tensor alive. */
function ownedVariable<T extends tf.Tensor>(initial: T): tf.Variable {
  const variable = tf.variable(initial, true);
  initial.dispose();
  return variable;
}

/**
 * ToST's Token Statistics Self-Attention: linear in n, mixes heads through the Π
 * soft-assignment, reads only w = q (the block's attention module applies W_in as the q
 * projection, with bias, and W_out itself). Owns trainable `temp` [h] and, when the geometry
 * gives maxSeqLen, the causal `denom_bias` [h, maxSeqLen]; with `tokenShift` s > 0 also the
 * `token_shift` kernel [s + 1, h, p] (tokenShift.ts). Not a drop-in for softmax weights:
 * models train it from scratch or fine-tune.
 *
 * @example registry.register(tostPlugin); registry.resolve({ name: 'tost' }, { training: true });
 */
export const tostPlugin: AttentionPlugin<TostPluginOptions> = {
  meta: {
    name: 'tost',
    version,
    apiVersion: '2.0.0', // the operator API this plugin is written against (checked at registration)
    description: 'ToST Token Statistics Self-Attention (TSSA): linear-time, head-mixing, trainable; non-causal and causal with a streaming state.',
    reference: 'Wu et al., Token Statistics Transformer, ICLR 2025 (arXiv:2412.17810); RobinWu218/ToST AttentionTSSA / CausalSelfAttention_TSSA',
  },
  optionsSchema: tostOptionsSchema,
  capabilities: {
    causal: 'native',
    keyPaddingMask: true,
    decoding: 'recurrent-state',
    trainableParameters: true,
    randomness: 'deterministic',
    testedBackends: ['wasm', 'cpu', 'webgpu'],
    dropInForPretrained: false,
    projections: 'q-only',
    mixesHeads: true,
    crossAttention: false,
  },
  create(options, services, geometry) {
    const { heads, headDim } = geometry;
    const maxSeqLen = geometry.maxSeqLen;
    const temp = ownedVariable(tf.ones([heads]));
    const denomBias = maxSeqLen === undefined ? undefined : ownedVariable(tf.zeros([heads, maxSeqLen]));
    const params: TostParameters = { temp: temp as unknown as Tensor1D, denomBias: denomBias as unknown as Tensor2D | undefined };
    const shiftKernel = options.tokenShift > 0 ? ownedVariable(initialShiftKernel(options.tokenShift, heads, headDim)) : undefined;
    const kernel = shiftKernel as unknown as Tensor3D | undefined;
    const where = `operator "tost"${geometry.layerIndex === undefined ? '' : ` at layer ${geometry.layerIndex}`}`;
    const fail = (message: string): never => {
      throw new SwapformerError('invalid-input', `${where}: ${message}`, { plugin: 'tost', layer: geometry.layerIndex });
    };

    const checkShape = (w: Tensor4D): void => {
      if (w.shape[1] !== heads) fail(`w (the q input) has ${w.shape[1]} heads, but the operator was created for ${heads} (temp is [${heads}]).`);
    };
    /** Positions [start, start + t) must have a denom_bias column in the causal code form. */
    const checkCausal = (w: Tensor4D, start: number): void => {
      checkShape(w);
      if (options.form !== 'code') return;
      const end = start + w.shape[2];
      if (denomBias === undefined) fail('causal TSSA needs geometry.maxSeqLen to size its per-position denom_bias [h, maxSeqLen]; create the operator with it.');
      if (end > maxSeqLen!) fail(`causal TSSA reached position ${end - 1}, but denom_bias covers positions 0…${maxSeqLen! - 1} (maxSeqLen ${maxSeqLen}); create the operator with a larger maxSeqLen.`);
    };

    const parameters: OperatorParameter[] = [{ name: 'temp', variable: temp, trainable: true }];
    if (denomBias) parameters.push({ name: 'denom_bias', variable: denomBias, trainable: true });
    if (shiftKernel) parameters.push({ name: 'token_shift', variable: shiftKernel, trainable: true });

    /** w with the token shift applied (a new tensor) or w itself without one. */
    const shiftedFromStart = (w: Tensor4D, mask: Tensor2D | undefined): Tensor4D => {
      if (!kernel) return w;
      const tail = emptyShiftTail(w.shape[0], heads, options.tokenShift, w.shape[3]);
      const out = shiftTokens(w, kernel, tail, mask);
      tf.dispose([tail, out.tail]);
      return out.shifted;
    };

    return {
      name: 'tost',
      // TSSA reads only w = q; k and v are part of the common signature and ignored.
      forward(q, _k, _v, ctx) {
        if (!ctx.causal) {
          checkShape(q);
          const w = shiftedFromStart(q, ctx.mask);
          try {
            return tssa(services.kernels, w, params, { form: options.form, mask: ctx.mask });
          } finally {
            if (w !== q) w.dispose();
          }
        }
        checkCausal(q, 0);
        return tf.tidy(() => tssaCausal(shiftedFromStart(q, ctx.mask), params, emptyTostPrefix(q.shape[0], heads, q.shape[3]), 0, { form: options.form, mask: ctx.mask }).y);
      },
      decoder: createTostDecoder({ heads, headDim, form: options.form, params, shiftKernel: kernel, checkStep: checkCausal }),
      parameters: () => parameters,
      dispose: () => tf.dispose(parameters.map((p) => p.variable)),
    };
  },
};

export { tssa, tssaCausal, emptyTostPrefix } from './tost';
export type { TostOptions, TostPrefix } from './tost';
export type { TostForm, TostParameters } from './tostParameters';
export { createTostDecoder } from './tostDecoder';
export { initialShiftKernel, emptyShiftTail, shiftTokens } from './tokenShift';
export type { TostDecoderConfig, TostDecodingState } from './tostDecoder';
