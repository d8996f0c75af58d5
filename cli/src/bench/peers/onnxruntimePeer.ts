import type { Contender } from '../benchTypes';
import { timeCall } from '../contenders/forceResult';
import { exactAttentionOnnxModel } from './onnxAttentionModel';

/** The slice of onnxruntime-node's API the peer uses (the package is an optional dependency). */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims?: readonly number[];
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}
export interface OrtModule {
  readonly InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  readonly Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
  readonly env: { readonly versions?: Record<string, string> };
}

/** onnxruntime-node, or the reason it cannot be loaded. */
export function loadOnnxRuntime(): OrtModule | string {
  try {
    return require('onnxruntime-node') as OrtModule;
  } catch (error) {
    return `onnxruntime-node is not installed or its binary does not load (${(error as Error).message.split('\n')[0]}); npm install onnxruntime-node`;
  }
}

/**
 * onnxruntime-node (CPU execution provider) running the exported exact-attention graph: what
 * transformers.js users run on. Threads are set explicitly; spinning idle threads are turned off
 * so they do not steal the cores from the contender timed next.
 *
 * @example const ort = await onnxruntimePeer(module, { heads: 4, dim: 64, threads: 2, maxN: 16384 });
 */
export async function onnxruntimePeer(ort: OrtModule, settings: { readonly heads: number; readonly dim: number; readonly threads: number; readonly maxN: number }): Promise<Contender> {
  const session = await ort.InferenceSession.create(exactAttentionOnnxModel({ heads: settings.heads, headDim: settings.dim }), {
    executionProviders: ['cpu'],
    intraOpNumThreads: settings.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const version = ort.env.versions?.node ?? ort.env.versions?.common ?? '?';
  return {
    name: 'onnxruntime',
    kind: 'peer',
    detail: `onnxruntime-node ${version}, CPU EP, intra-op threads ${settings.threads}, graph optimization "all": Transpose → MatMul → Mul → Softmax → MatMul`,
    approximatesSoftmax: true,
    maxN: settings.maxN,
    async prepare(inputs) {
      const dims = [1, inputs.heads, inputs.n, inputs.dim];
      const feeds = { q: new ort.Tensor('float32', inputs.arrays.q, dims), k: new ort.Tensor('float32', inputs.arrays.k, dims), v: new ort.Tensor('float32', inputs.arrays.v, dims) };
      let last: Float32Array | null = null;
      return {
        async run() {
          last = null;
          // process CPU time includes onnxruntime's intra-op threads
          return timeCall(async () => {
            last = (await session.run(feeds)).out.data as Float32Array;
          });
        },
        output: async () => last,
        dispose: () => {
          last = null;
        },
      };
    },
    async dispose() {
      await session.release?.();
    },
  };
}
