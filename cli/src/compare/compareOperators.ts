import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { canReadSync, runAttention, SwapformerError, unmetRequirements, type AttentionContext } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import type { OperatorRegistry } from '@swapformer/registry';
import { randomAttentionInputs, relativeError, maxAbsDiff } from '@swapformer/core/conformance';

export interface CompareOptions {
  /** Operator names; default every registered operator. */
  readonly operators?: readonly string[];
  readonly n: number;
  readonly heads: number;
  readonly dim: number;
  readonly batch?: number;
  readonly seed?: number;
  /** Timed repeats after one warm-up run (median reported). */
  readonly repeats?: number;
  readonly causal?: boolean;
  /** Called after each operator (progress). */
  readonly onProgress?: (name: string) => void;
}

export interface CompareRow {
  readonly operator: string;
  readonly package: string | null;
  /** ‖out − exact‖_F / ‖exact‖_F; null when the operator is not an approximation of softmax. */
  readonly relativeError: number | null;
  readonly maxAbsError: number | null;
  readonly medianMs: number | null;
  readonly minMs: number | null;
  /** exact time / this time. */
  readonly speedupVsExact: number | null;
  readonly note: string;
}

export interface CompareReport {
  readonly backend: string;
  readonly shape: { readonly batch: number; readonly heads: number; readonly n: number; readonly dim: number };
  readonly causal: boolean;
  readonly seed: number;
  readonly rows: readonly CompareRow[];
}

async function timeRuns(fn: () => Tensor4D, repeats: number): Promise<{ out: Tensor4D; times: number[] }> {
  const warm = fn();
  await warm.data();
  warm.dispose();
  const times: number[] = [];
  let out: Tensor4D | null = null;
  for (let i = 0; i < repeats; i++) {
    out?.dispose();
    const t0 = performance.now();
    out = fn();
    await out.data();
    times.push(performance.now() - t0);
  }
  return { out: out!, times };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/**
 * Runs each operator on the same seeded random q/k/v and compares it with exact attention:
 * relative error and time (median of `repeats` after a warm-up), side by side in one run.
 *
 * @example const report = await compareOperators(registry, { n: 1024, heads: 4, dim: 64 });
 */
export async function compareOperators(registry: OperatorRegistry, options: CompareOptions): Promise<CompareReport> {
  const batch = options.batch ?? 1;
  const seed = options.seed ?? 0;
  const repeats = Math.max(1, options.repeats ?? 3);
  const causal = options.causal ?? false;
  const names = options.operators?.length ? [...options.operators] : registry.list().map((r) => r.meta.name);
  for (const name of names) registry.get(name); // unknown names fail before any work
  const { q, k, v } = randomAttentionInputs({ batch, heads: options.heads, nq: options.n, nk: options.n, dk: options.dim }, seed, 0.5);
  const ctx: AttentionContext = { causal, seed, layerIndex: 0 };
  const geometry = { heads: options.heads, headDim: options.dim, valueDim: options.dim, modelDim: options.heads * options.dim, maxSeqLen: options.n, layerIndex: 0 };
  const rows: CompareRow[] = [];
  let exactOut: Tensor4D | null = null;
  let exactMs: number | null = null;
  try {
    const exactName = registry.has('exact') ? 'exact' : null;
    const order = exactName ? [exactName, ...names.filter((n) => n !== exactName)] : names;
    if (!exactName) exactOut = softmaxAttention(registry.services.kernels, q, k, v, { causal });
    for (const name of order) {
      const record = registry.get(name);
      const reasons = unmetRequirements(record.capabilities, { causal });
      if (reasons.length > 0) {
        if (names.includes(name)) rows.push({ operator: name, package: record.packageName ?? null, relativeError: null, maxAbsError: null, medianMs: null, minMs: null, speedupVsExact: null, note: `skipped: lacks ${reasons[0].split(':')[0]}` });
        options.onProgress?.(name);
        continue;
      }
      const resolved = registry.resolve({ name }, { causal });
      const operator = resolved.create(geometry);
      try {
        // one validated call through the hooks, then raw timed forwards
        // (its finiteness checks read synchronously; on webgpu in Node the output is checked here, read asynchronously)
        const sync = canReadSync();
        const checked = runAttention({ hooks: registry.hooks, operator, capabilities: resolved.capabilities, layerIndex: 0, checkFinite: sync }, q, k, v, ctx);
        const finite = sync || (await checked.data()).every(Number.isFinite);
        checked.dispose();
        if (!finite) throw new SwapformerError('operator-failed', `${name}: its output contains NaN or Inf on backend '${tf.getBackend()}' (n ${options.n}, dim ${options.dim}).`, { plugin: name });
        const { out, times } = await timeRuns(() => tf.tidy(() => operator.forward(q, k, v, ctx)), repeats);
        const ms = median(times);
        if (name === exactName) {
          exactOut = out;
          exactMs = ms;
        }
        const approximates = resolved.capabilities.dropInForPretrained;
        const row: CompareRow = {
          operator: name,
          package: record.packageName ?? null,
          relativeError: approximates && exactOut ? relativeError(out, exactOut) : null,
          maxAbsError: approximates && exactOut ? maxAbsDiff(out, exactOut) : null,
          medianMs: ms,
          minMs: Math.min(...times),
          speedupVsExact: exactMs !== null ? exactMs / ms : null,
          note: approximates ? (name === exactName ? 'reference' : '') : 'not an approximation of softmax (own parameters)',
        };
        if (names.includes(name)) rows.push(row);
        if (out !== exactOut) out.dispose();
      } finally {
        operator.dispose();
      }
      options.onProgress?.(name);
    }
  } finally {
    tf.dispose([q, k, v]);
    exactOut?.dispose();
  }
  return { backend: tf.getBackend(), shape: { batch, heads: options.heads, n: options.n, dim: options.dim }, causal, seed, rows };
}
