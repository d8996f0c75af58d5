import * as tf from '@tensorflow/tfjs-core';
import type { Variable } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed, SwapformerError, type OperatorParameter } from '@swapformer/core';
import type { NamedVariable } from './SwapformerModel';

/**
 * How a parameter is laid out in a Hugging Face checkpoint relative to the graph:
 * - `as-is`: same shape and order (biases, norms, embeddings, GPT-2 Conv1D weights [in, out]);
 * - `linear`: the graph keeps `[in, out]` for fast rank-2 matMul; `nn.Linear` stores `[out, in]`;
 * - `patch-conv`: the graph keeps `[c·p·p, hidden]`; `nn.Conv2d` stores `[hidden, c, p, p]`.
 */
export type HfLayout = 'as-is' | 'linear' | 'patch-conv';

/** A model parameter with what checkpoint I/O needs to know about it. */
export interface ModelParameter extends NamedVariable {
  readonly layout: HfLayout;
  /** Shape in the checkpoint. */
  readonly hfShape: readonly number[];
}

/** Initial values: a seeded normal, zeros or ones. */
export type Init = { readonly normal: number } | 'zeros' | 'ones';

/** A parameter as the store describes it before its variable exists. */
export type ParameterDescription = Pick<ModelParameter, 'name' | 'layout' | 'hfShape'> & { readonly shape: readonly number[] };

/**
 * Where parameters' first values come from when not from `Init` — a checkpoint being loaded,
 * so no random draw is made only to be overwritten (drawing GPT-2 small's 124 M normals took
 * 4–6 s of a 6–8 s load). Returns the values in graph layout; `'deferred'` for zeros that the
 * caller assigns before use (skips the draw); undefined for the usual `Init`.
 */
export type InitialValues = (param: ParameterDescription) => Float32Array | 'deferred' | undefined;

/** How a store fills new variables. */
export interface ParameterStoreOptions {
  readonly initialValues?: InitialValues;
}

/** Creates and owns the named variables of one model. */
export interface ParameterStore {
  /** A new variable initialised from the model seed and its name (same seed ⇒ same weights). */
  add(name: string, shape: readonly number[], init: Init, layout?: HfLayout, hfShape?: readonly number[]): Variable;
  /** Registers an operator's own state under `prefix.<its name>` (the operator keeps ownership). */
  adopt(prefix: string, operatorName: string, parameters: readonly OperatorParameter[]): void;
  list(): ModelParameter[];
  get(name: string): ModelParameter | undefined;
  /** Disposes the variables the store created (not the adopted ones). */
  dispose(): void;
}

function drawInitial(seed: number, name: string, size: number, init: Init): Float32Array {
  const values = new Float32Array(size);
  if (init === 'ones') values.fill(1);
  else if (init !== 'zeros' && init.normal > 0) createSeededRandom(deriveSeed(seed, 'init', name)).fillNormal(values, 0, init.normal);
  return values;
}

function hfShapeOf(shape: readonly number[], layout: HfLayout): number[] {
  return layout === 'linear' ? [shape[1], shape[0]] : [...shape];
}

/**
 * @example const store = createParameterStore(0); const w = store.add('classifier.weight', [16, 10], { normal: 0.02 }, 'linear');
 */
export function createParameterStore(seed: number, options: ParameterStoreOptions = {}): ParameterStore {
  const params = new Map<string, ModelParameter>();
  const owned: Variable[] = [];
  const claim = (name: string) => {
    if (params.has(name)) throw new SwapformerError('invalid-config', `parameter "${name}" is defined twice in one model graph.`);
  };
  return {
    add(name, shape, init, layout = 'as-is', hfShape) {
      claim(name);
      const hf = hfShape ?? hfShapeOf(shape, layout);
      const size = shape.reduce((a, s) => a * s, 1);
      const given = options.initialValues?.({ name, shape, layout, hfShape: hf });
      if (given instanceof Float32Array && given.length !== size) throw new SwapformerError('invalid-checkpoint', `initial values for "${name}" have ${given.length} elements; [${shape.join(', ')}] needs ${size}.`);
      const initial = given instanceof Float32Array ? tf.tensor(given, [...shape], 'float32') : given === 'deferred' ? tf.zeros([...shape], 'float32') : tf.tensor(drawInitial(seed, name, size, init), [...shape], 'float32');
      const variable = tf.variable(initial, true);
      initial.dispose(); // the variable holds its own reference to the data; this one would keep it alive after dispose()
      owned.push(variable);
      params.set(name, { name, variable, trainable: true, layout, hfShape: hf });
      return variable;
    },
    adopt(prefix, operatorName, parameters) {
      for (const p of parameters) {
        const name = `${prefix}.${p.name}`;
        claim(name);
        params.set(name, { name, variable: p.variable, trainable: p.trainable, ownedBy: operatorName, layout: 'as-is', hfShape: [...p.variable.shape] });
      }
    },
    list: () => [...params.values()],
    get: (name) => params.get(name),
    dispose() {
      for (const v of owned) v.dispose();
      owned.length = 0;
      params.clear();
    },
  };
}

/** Tile edge of the transpose: 64 × 64 floats keep the strided writes of a tile within cache (≈ 1.4× the row-by-row loop on nn.Linear shapes). */
const TRANSPOSE_TILE = 64;

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
    const r1 = Math.min(r0 + TRANSPOSE_TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
      const c1 = Math.min(c0 + TRANSPOSE_TILE, cols);
      for (let r = r0; r < r1; r++) for (let c = c0, src = r * cols; c < c1; c++) out[c * rows + r] = data[src + c];
    }
  }
  return out;
}

/** Checkpoint values (HF layout) → graph layout. */
export function fromHfLayout(param: Pick<ModelParameter, 'layout' | 'hfShape'>, data: Float32Array): Float32Array {
  const [a, b] = param.hfShape;
  if (param.layout === 'linear') return transpose2d(data, a, b);
  if (param.layout === 'patch-conv') return transpose2d(data, a, data.length / a); // [hidden, c·p·p] → [c·p·p, hidden]
  return data;
}

/** Graph values → checkpoint (HF) layout. */
export function toHfLayout(param: ModelParameter, data: Float32Array): Float32Array {
  const [rows, cols] = param.variable.shape;
  return param.layout === 'as-is' ? data : transpose2d(data, rows, cols);
}
