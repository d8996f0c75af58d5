import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';

/** A tensor as JSON files carry it (fixtures, `swapformer infer` input and output). */
export interface TensorJson {
  readonly shape: number[];
  readonly data: number[];
}

function flatten(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const x of data) flatten(x, out);
  else out.push(data);
}

/**
 * Reads `{"shape": [...], "data": [...]}` (data flat or nested) into a tensor, checking sizes,
 * finiteness and, for int32, integrality. `name` is used in error messages.
 *
 * @example const ids = tensorFromJson(input.input_ids, 'int32', 'input_ids');
 */
export function tensorFromJson(value: unknown, dtype: 'float32' | 'int32', name: string): Tensor {
  const v = value as Partial<TensorJson> | undefined;
  if (typeof v !== 'object' || v === null || !Array.isArray(v.shape) || v.data === undefined) {
    throw new SwapformerError('invalid-input', `${name} must be {"shape": [...], "data": [...]}.`);
  }
  const shape = v.shape;
  if (!shape.every((s) => Number.isSafeInteger(s) && s > 0)) throw new SwapformerError('invalid-input', `${name}.shape must hold positive integers, got ${JSON.stringify(shape)}.`);
  const flat: unknown[] = [];
  flatten(v.data, flat);
  const size = shape.reduce((a, s) => a * s, 1);
  if (flat.length !== size) throw new SwapformerError('invalid-input', `${name}: shape [${shape.join(', ')}] needs ${size} values, data has ${flat.length}.`);
  const bad = flat.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x) || (dtype === 'int32' && !Number.isInteger(x)));
  if (bad >= 0) throw new SwapformerError('invalid-input', `${name}.data[${bad}] = ${JSON.stringify(flat[bad])} is not a finite ${dtype === 'int32' ? 'integer' : 'number'}.`);
  return tf.tensor(flat as number[], shape, dtype);
}

/** A tensor as `{"shape": [...], "data": [...]}` (data flat). */
export function tensorToJson(t: Tensor): TensorJson {
  return { shape: [...t.shape], data: Array.from(t.dataSync()) };
}
