import * as tf from '@tensorflow/tfjs-core';
import { canReadSync, syncReadsUnavailableWhere } from '../backend/syncReads';
import { SwapformerError } from '../errors/SwapformerError';
import type { SwapformerHooks } from './SwapformerHooks';

/** Time spent in one (layer, operator) pair. */
export interface ProfileRow {
  readonly operator: string;
  readonly layerIndex: number | null;
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
}

export interface AttentionProfiler {
  /** Rows sorted by layer, then operator. */
  report(): ProfileRow[];
  /** Total milliseconds in attention across all layers. */
  totalMs(): number;
  reset(): void;
  /** Stop recording (taps stay registered but do nothing). */
  stop(): void;
}

export interface ProfilerOptions {
  /**
   * Force the output to be computed before the clock stops (`dataSync`); needed on
   * asynchronous backends (webgpu) where ops are only queued. Default true.
   */
  readonly sync?: boolean;
  readonly name?: string;
}

/**
 * The built-in profiler: taps before/after attention at the outermost stages so that only the
 * operator (and inner taps) are timed, and reports time per layer and operator.
 *
 * @example const profiler = createProfiler(hooks); model.forward(x); console.table(profiler.report());
 */
export function createProfiler(hooks: SwapformerHooks, options: ProfilerOptions = {}): AttentionProfiler {
  const name = options.name ?? 'swapformer:profiler';
  const sync = options.sync ?? true;
  if (sync && !canReadSync()) throw syncTimingUnsupported();
  const rows = new Map<string, { operator: string; layerIndex: number | null; calls: number; totalMs: number }>();
  const starts: number[] = [];
  let active = true;
  hooks.beforeAttention.tap({ name, stage: 1e9 }, (inputs) => {
    if (active) starts.push(performance.now());
    return inputs;
  });
  hooks.afterAttention.tap({ name, stage: -1e9 }, (output, info) => {
    if (!active) return output;
    if (sync) {
      if (!canReadSync()) throw syncTimingUnsupported();
      output.dataSync();
    }
    const started = starts.pop();
    if (started === undefined) return output;
    const layerIndex = info.layerIndex ?? null;
    const key = `${layerIndex}\u0000${info.operator}`;
    const row = rows.get(key) ?? { operator: info.operator, layerIndex, calls: 0, totalMs: 0 };
    row.calls += 1;
    row.totalMs += performance.now() - started;
    rows.set(key, row);
    return output;
  });
  return {
    report: () =>
      [...rows.values()]
        .map((r) => ({ ...r, meanMs: r.totalMs / r.calls }))
        .sort((a, b) => (a.layerIndex ?? -1) - (b.layerIndex ?? -1) || a.operator.localeCompare(b.operator)),
    totalMs: () => [...rows.values()].reduce((s, r) => s + r.totalMs, 0),
    reset: () => rows.clear(),
    stop: () => {
      active = false;
    },
  };
}

function syncTimingUnsupported(): SwapformerError {
  return new SwapformerError(
    'unsupported',
    `the attention profiler cannot time on the "${tf.getBackend()}" backend: it forces each output with a synchronous read, which this backend cannot do ${syncReadsUnavailableWhere()}.\n` +
      '  Use createProfiler(hooks, { sync: false }) (enqueue time only), or time whole calls with `await out.data()` (what `swapformer run` does there: isolated timing).',
  );
}
