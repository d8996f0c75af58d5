/**
 * The GEMM engine (gemmEngine.ts) as tfjs-wasm's `BatchMatMul` and `_FusedMatMul` kernels, so
 * every projection, MLP and LM head of a model on the wasm backend runs multi-threaded SIMD,
 * and gradients (which call the same ops) do too.
 *
 * Registration is an explicit call that returns its undo: tfjs keeps one kernel per (name,
 * backend) in a global registry and only warns on re-registration, so we unregister the wasm
 * backend's kernel, keep its config, and put it back on undo. Our configs forward the original
 * `setupFunc`/`disposeFunc`, because the original kernel still runs the cases we leave to it and
 * its setup must happen when a backend initialises after us.
 *
 * Products of a few rows (decode steps) pass B's data id as its key: the engine keeps such a B
 * packed between calls while the backend still holds that id (tfjs never changes a tensor's data
 * in place), so a decode step reads each weight once, on every thread (gemmEngine.ts).
 *
 * Left to the original kernel (same results, different speed): non-float32 inputs, products
 * with fewer than `minRows` output rows per batch whose B the engine cannot keep packed (a
 * batched B, or over the engine's budget: packing B, k·n floats, per call would cost as much as
 * the m·k·n product) or with fewer than `minWork`
 * multiply-adds (waking threads costs more), biases that are
 * not a rank-1 [n] vector, and activations tfjs-wasm does not fuse (it throws for them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createGemmEngine, RESIDENT_MAX_ROWS, type GemmEngine } from './gemmEngine';
import { GEMM_ACTIVATION, type GemmActivation } from './gemmModule';

/** The slice of tfjs-backend-wasm's BackendWasm these kernels use (typed here: kernels does not depend on the backend package). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  readonly dataIdMap: { has(dataId: object): boolean };
}

export interface FastMatMulOptions {
  /** Threads the products use, the calling thread included (a new engine: its worker threads live as long as the process). */
  readonly threads?: number;
  /** An engine to reuse instead (registering again then starts no threads). */
  readonly engine?: GemmEngine;
  /** Products with fewer multiply-adds go to the original kernel (default 2^15). */
  readonly minWork?: number;
  /** Products with fewer output rows per batch go to the original kernel (default 4). */
  readonly minRows?: number;
}

const KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

/** Marks our kernel configs in tfjs's registry, so the registration can be found there (no module state of our own). */
const REGISTRATION = Symbol.for('swapformer.fastMatMul');

/** The live registration: its thread count and its undo. */
export interface FastMatMulRegistration {
  readonly threads: number;
  readonly engine: GemmEngine;
  readonly undo: () => void;
}

/**
 * The fast kernels' registration if tfjs-wasm's BatchMatMul is ours now, else null — so a
 * process that starts several runs registers once, or undoes before switching back to tfjs.
 *
 * @example fastMatMulRegistration()?.undo();
 */
export function fastMatMulRegistration(): FastMatMulRegistration | null {
  const config = tf.getKernel(tf.BatchMatMul, 'wasm') as (tf.KernelConfig & { [REGISTRATION]?: FastMatMulRegistration }) | undefined;
  return config?.[REGISTRATION] ?? null;
}

/**
 * Makes the GEMM engine tfjs-wasm's BatchMatMul and _FusedMatMul; returns the function that
 * restores the original kernels. Throws when the wasm backend's kernels are not registered
 * (import '@tensorflow/tfjs-backend-wasm' first) or WebAssembly SIMD is missing.
 *
 * @example const undo = registerFastMatMul({ threads: 2 }); …; undo();
 */
export function registerFastMatMul(options: FastMatMulOptions): () => void {
  const originals = KERNELS.map((name) => tf.getKernel(name, 'wasm'));
  const missing = KERNELS.filter((_, i) => !originals[i]);
  if (missing.length) throw new Error(`registerFastMatMul: no 'wasm' kernel registered for ${missing.join(', ')}; import '@tensorflow/tfjs-backend-wasm' before registering`);
  if ((options.threads === undefined) === (options.engine === undefined)) throw new Error('registerFastMatMul: give exactly one of `threads` and `engine`');
  const engine = options.engine ?? createGemmEngine(options.threads!);
  if (!engine) throw new Error('registerFastMatMul: WebAssembly SIMD is not available in this engine; run with --matmul tfjs');
  const route = { minWork: options.minWork ?? 1 << 15, minRows: options.minRows ?? 4 };
  const [batchOriginal, fusedOriginal] = originals as [tf.KernelConfig, tf.KernelConfig];
  let undone = false;
  const undo = () => {
    if (undone) return;
    undone = true;
    for (const original of originals as tf.KernelConfig[]) {
      if (tf.getKernel(original.kernelName, 'wasm')) tf.unregisterKernel(original.kernelName, 'wasm');
      tf.registerKernel(original);
    }
  };
  const registration: FastMatMulRegistration = { threads: engine.threads, engine, undo };
  const configs: tf.KernelConfig[] = [
    { ...batchOriginal, kernelFunc: (args) => batchMatMul(engine, route, batchOriginal, args), [REGISTRATION]: registration } as tf.KernelConfig,
    { ...fusedOriginal, kernelFunc: (args) => fusedMatMul(engine, route, fusedOriginal, args), [REGISTRATION]: registration } as tf.KernelConfig,
  ];
  for (const config of configs) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  return undo;
}

interface Route { readonly minWork: number; readonly minRows: number }

interface Product {
  readonly outShape: number[];
  readonly m: number; readonly n: number; readonly k: number;
  readonly batchA: Int32Array; readonly batchB: Int32Array;
}

/** Shapes of a (batched, broadcast) product; per output batch, the A and B batch it reads. */
function describe(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): Product {
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batches = outer.reduce((p, d) => p * d, 1);
  return { outShape: [...outer, m, n], m, n, k, batchA: batchIndex(outer, a.shape.slice(0, -2), batches), batchB: batchIndex(outer, b.shape.slice(0, -2), batches) };
}

/** For each flat index over `outer`, the flat index over `dims` (right-aligned; size-1 dims broadcast). */
function batchIndex(outer: number[], dims: number[], batches: number): Int32Array {
  const index = new Int32Array(batches);
  const offset = outer.length - dims.length;
  for (let i = 0; i < batches; i++) {
    let rest = i, flat = 0, stride = 1;
    for (let d = outer.length - 1; d >= 0; d--) {
      const coord = rest % outer[d];
      rest = Math.floor(rest / outer[d]);
      const own = d - offset;
      if (own >= 0) {
        if (dims[own] !== 1) flat += coord * stride;
        stride *= dims[own];
      }
    }
    index[i] = flat;
  }
  return index;
}

/** B kept packed by the engine between calls while the backend holds its data. */
function residentKeyOf(backend: WasmBackendLike, b: tf.TensorInfo) {
  return { key: b.dataId, isLive: (key: object) => backend.dataIdMap.has(key) };
}

function takesFastPath(engine: GemmEngine, backend: WasmBackendLike, p: Product, route: Route, transposeB: boolean, b: tf.TensorInfo, ...inputs: tf.TensorInfo[]): boolean {
  if (b.dtype !== 'float32' || inputs.some((t) => t.dtype !== 'float32')) return false;
  if (p.m * p.n * p.k * p.batchA.length < route.minWork) return false;
  if (p.m >= route.minRows) return true;
  return p.batchA.length === 1 && p.m <= RESIDENT_MAX_ROWS && engine.keepsResident(b.dataId, p.k, p.n, transposeB, residentKeyOf(backend, b).isLive);
}

function batchMatMul(engine: GemmEngine, route: Route, original: tf.KernelConfig, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const product = describe(a, b, transposeA, transposeB);
  if (!takesFastPath(engine, args.backend as unknown as WasmBackendLike, product, route, transposeB, b, a)) return original.kernelFunc(args);
  return runProduct(engine, args.backend as unknown as WasmBackendLike, product, { a, b, transposeA, transposeB, activation: 'linear' });
}

function fusedMatMul(engine: GemmEngine, route: Route, original: tf.KernelConfig, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b, bias, preluActivationWeights } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
  const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation: string; leakyreluAlpha?: number };
  const product = describe(a, b, transposeA, transposeB);
  const known = Object.prototype.hasOwnProperty.call(GEMM_ACTIVATION, activation);
  const biasFits = !bias || (bias.shape.length === 1 && bias.shape[0] === product.n);
  const preluFits = activation !== 'prelu' || (!!preluActivationWeights && preluActivationWeights.shape.length <= 3);
  if (!known || !biasFits || !preluFits || !takesFastPath(engine, args.backend as unknown as WasmBackendLike, product, route, transposeB, b, a, ...(bias ? [bias] : []), ...(preluActivationWeights ? [preluActivationWeights] : []))) return original.kernelFunc(args);
  return runProduct(engine, args.backend as unknown as WasmBackendLike, product, { a, b, transposeA, transposeB, bias, activation: activation as GemmActivation, alpha: leakyreluAlpha ?? 0, prelu: activation === 'prelu' ? preluActivationWeights : undefined });
}

interface ProductInputs {
  readonly a: tf.TensorInfo; readonly b: tf.TensorInfo;
  readonly transposeA: boolean; readonly transposeB: boolean;
  readonly bias?: tf.TensorInfo; readonly activation: GemmActivation; readonly alpha?: number; readonly prelu?: tf.TensorInfo;
}

function runProduct(engine: GemmEngine, backend: WasmBackendLike, p: Product, x: ProductInputs): tf.TensorInfo {
  // allocate first: makeOutput may grow the backend's heap, which detaches earlier views of it
  const out = backend.makeOutput(p.outShape, 'float32');
  const heap = (info: tf.TensorInfo) => backend.typedArrayFromHeap(info);
  engine.run({
    m: p.m, n: p.n, k: p.k,
    a: heap(x.a), transposeA: x.transposeA,
    b: heap(x.b), transposeB: x.transposeB,
    batchA: p.batchA, batchB: p.batchB,
    bias: x.bias ? heap(x.bias) : null,
    activation: x.activation, alpha: x.alpha,
    prelu: x.prelu ? { data: heap(x.prelu), strides: broadcastStrides(x.prelu.shape, p) } : null,
    out: heap(out),
    bResident: residentKeyOf(backend, x.b),
  });
  return out;
}

/** Strides of PReLU slopes of `shape` broadcast (right-aligned, numpy rules) against out viewed as [batches, m, n]. */
function broadcastStrides(shape: number[], p: Product): [number, number, number] {
  const dims = [1, 1, 1, ...shape].slice(-3);
  const full = [p.batchA.length, p.m, p.n];
  for (let d = 0; d < 3; d++) if (dims[d] !== 1 && dims[d] !== full[d]) throw new Error(`fused matMul: prelu weights of shape [${shape}] do not broadcast to the output [${full}]`);
  return [dims[0] === 1 ? 0 : dims[1] * dims[2], dims[1] === 1 ? 0 : dims[2], dims[2] === 1 ? 0 : 1];
}
