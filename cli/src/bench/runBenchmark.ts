import * as tf from '@tensorflow/tfjs-core';
import { randomAttentionInputs, relativeError } from '@swapformer/core/conformance';
import type { BenchCell, BenchEnvironment, BenchInputs, BenchReport, Contender, PreparedRun, RunTime, ScalingFit } from './benchTypes';
import { fitPowerLaw, median } from './stats';


export interface BenchOptions {
  /** Sequence lengths, ascending. */
  readonly ns: readonly number[];
  readonly heads: number;
  readonly dim: number;
  readonly seed: number;
  /** Most timed repeats per contender and n, after one untimed warm-up. */
  readonly repeats: number;
  /** Fewer repeats where the warm-up says they would take longer than this, but never fewer than `minRepeats`. */
  readonly cellBudgetMs: number;
  /** Timed repeats every cell gets whatever the budget says (default 1). */
  readonly minRepeats?: number;
  /** Run the warm-up under tf.profile for peak bytes and per-kernel times. */
  readonly profile: boolean;
  /** No profiling above this n (profiling a GPU call with thousands of dispatches is slow). */
  readonly profileMaxN?: number;
  /** The scaling exponent is fitted over points with n ≥ this (the largest three if fewer than two). */
  readonly fitFromN: number;
  /** Called once per contender and n (done or skipped), for the progress bar. */
  readonly onProgress?: (label: string) => void;
  /** Called with the report so far after each n (to save partial results of a long sweep). */
  readonly onPoint?: (partial: BenchReport) => void;
}

/** Rows whose output is the reference for exact's own error column, in order of preference. */
export const EXACT_REFERENCES = ['numpy', 'onnxruntime', 'torch-sdpa', 'torch-naive'] as const;

/** How many (contender, n) steps a sweep has, for the progress bar. */
export function benchSteps(contenders: readonly Contender[], ns: readonly number[]): number {
  return contenders.length * ns.length;
}

function makeInputs(n: number, options: BenchOptions): BenchInputs {
  const { q, k, v } = randomAttentionInputs({ batch: 1, heads: options.heads, nq: n, nk: n, dk: options.dim }, options.seed, 0.5);
  return { n, heads: options.heads, dim: options.dim, q, k, v, arrays: { q: q.dataSync() as Float32Array, k: k.dataSync() as Float32Array, v: v.dataSync() as Float32Array } };
}

function topKernels(kernelMs: Readonly<Record<string, number>>, count = 6): Record<string, number> {
  const entries = Object.entries(kernelMs).sort((a, b) => b[1] - a[1]).slice(0, count);
  return Object.fromEntries(entries.map(([k, v]) => [k, Math.round(v * 100) / 100]));
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160);

interface Live {
  readonly contender: Contender;
  readonly run: PreparedRun;
  times: RunTime[];
  repeats: number;
  peakBytes: number | null;
  kernelMs: Record<string, number> | null;
  failed: string | null;
}

function emptyCell(contender: string, n: number, note: string): BenchCell {
  return { contender, n, timesMs: [], medianMs: null, minMs: null, maxMs: null, cpuMedianMs: null, peakBytes: null, relativeError: null, kernelMs: null, note };
}

/**
 * Fits time ∝ n^p per contender over its largest measured points: on median CPU time where
 * every point has one (points measured minutes apart on a shared machine differ in load, and
 * CPU time hardly sees that), else on median wall time.
 *
 * @example fitScaling(cells, ['exact'], 2048)
 */
export function fitScaling(cells: readonly BenchCell[], contenders: readonly string[], fitFromN: number): ScalingFit[] {
  return contenders.map((name) => {
    const measured = cells.filter((c) => c.contender === name && c.medianMs !== null).sort((a, b) => a.n - b.n);
    let used = measured.filter((c) => c.n >= fitFromN);
    if (used.length < 2) used = measured.slice(-3);
    const basis = used.length > 0 && used.every((c) => c.cpuMedianMs !== null && c.cpuMedianMs > 0) ? 'cpu' : 'wall';
    const exponent = fitPowerLaw(used.map((c) => [c.n, basis === 'cpu' ? c.cpuMedianMs! : c.medianMs!] as const));
    return { contender: name, exponent, fromN: used[0]?.n ?? null, toN: used[used.length - 1]?.n ?? null, points: used.length, basis };
  });
}

/**
 * Times every contender at every n in one process, interleaved: after one untimed warm-up each,
 * the repeats go round-robin over the contenders, so a slow spell of the machine hits all of them
 * alike and the ratios between rows stay meaningful. A contender that fails (out of memory, a
 * binding limit) is recorded with the reason and not tried at larger n.
 *
 * @example const report = await runBenchmark(contenders, { ns: [1024, 4096], heads: 4, dim: 64, ... }, env);
 */
export async function runBenchmark(
  contenders: readonly Contender[],
  options: BenchOptions,
  environment: BenchEnvironment,
  unavailable: BenchReport['unavailable'] = [],
): Promise<BenchReport> {
  const started = performance.now();
  const cells: BenchCell[] = [];
  const failedAt = new Map<string, number>();
  for (const n of options.ns) {
    const inputs = makeInputs(n, options);
    const live: Live[] = [];
    try {
      for (const contender of contenders) {
        if (n > contender.maxN) {
          cells.push(emptyCell(contender.name, n, `not run above n = ${contender.maxN}${contender.limitReason ? ` (${contender.limitReason})` : ''}`));
          options.onProgress?.(`${contender.name} n=${n} skipped`);
          continue;
        }
        if (failedAt.has(contender.name)) {
          cells.push(emptyCell(contender.name, n, `failed at n = ${failedAt.get(contender.name)}`));
          options.onProgress?.(`${contender.name} n=${n} skipped`);
          continue;
        }
        try {
          live.push({ contender, run: await contender.prepare(inputs), times: [], repeats: options.repeats, peakBytes: null, kernelMs: null, failed: null });
        } catch (error) {
          failedAt.set(contender.name, n);
          cells.push(emptyCell(contender.name, n, `failed: ${message(error)}`));
          options.onProgress?.(`${contender.name} n=${n} failed`);
        }
      }
      // warm-up (untimed, profiled where possible); it also sets how many repeats fit the budget
      for (const l of live) {
        try {
          const t0 = performance.now();
          if (options.profile && l.run.profile && n <= (options.profileMaxN ?? Infinity)) {
            const p = await l.run.profile();
            l.peakBytes = p.peakBytes;
            l.kernelMs = topKernels(p.kernelMs);
          } else {
            await l.run.run();
          }
          const warmMs = performance.now() - t0;
          const fit = Math.floor(options.cellBudgetMs / Math.max(warmMs, 1e-3));
          l.repeats = Math.min(options.repeats, Math.max(options.minRepeats ?? 1, fit, 1));
        } catch (error) {
          l.failed = message(error);
        }
      }
      for (let round = 0; round < options.repeats; round++) {
        for (const l of live) {
          if (l.failed || l.times.length >= l.repeats) continue;
          try {
            l.times.push(await l.run.run());
          } catch (error) {
            l.failed = message(error);
          }
        }
      }
      const outputs = new Map<string, Float32Array | null>();
      const outputOf = async (name: string) => {
        if (!outputs.has(name)) {
          const l = live.find((x) => x.contender.name === name && !x.failed && x.times.length > 0);
          outputs.set(name, l ? await l.run.output() : null);
        }
        return outputs.get(name) ?? null;
      };
      for (const l of live) {
        const name = l.contender.name;
        if (l.failed) failedAt.set(name, n);
        let error: number | null = null;
        if (!l.failed && l.contender.approximatesSoftmax) {
          let reference: Float32Array | null = null;
          if (name !== 'exact') reference = await outputOf('exact');
          else for (const r of EXACT_REFERENCES) reference ??= await outputOf(r);
          const out = await outputOf(name);
          if (reference && out && reference.length === out.length) error = relativeError(out, reference);
        }
        const times = l.times.map((t) => t.ms).sort((a, b) => a - b);
        const cpuTimes = l.times.map((t) => t.cpuMs).filter((t): t is number => t !== undefined);
        cells.push({
          contender: name,
          n,
          timesMs: times,
          medianMs: times.length ? median(times) : null,
          minMs: times.length ? times[0] : null,
          maxMs: times.length ? times[times.length - 1] : null,
          cpuMedianMs: cpuTimes.length && cpuTimes.length === times.length ? median(cpuTimes) : null,
          peakBytes: l.peakBytes,
          relativeError: error,
          kernelMs: l.kernelMs,
          note: l.failed ? `failed: ${l.failed}` : '',
        });
          options.onProgress?.(`${name} n=${n}`);
      }
    } finally {
      for (const l of live) await l.run.dispose();
      tf.dispose([inputs.q, inputs.k, inputs.v]);
    }
    options.onPoint?.(report(options.ns.filter((x) => x <= n)));
  }
  return report(options.ns);

  function report(ns: readonly number[]): BenchReport {
    const names = contenders.map((c) => c.name);
    const order = (c: BenchCell) => names.indexOf(c.contender) * 1e9 + c.n;
    const sorted = [...cells].sort((a, b) => order(a) - order(b));
    return {
      environment,
      shape: { batch: 1, heads: options.heads, dim: options.dim },
      seed: options.seed,
      ns: [...ns],
      contenders: contenders.map((c) => ({ name: c.name, kind: c.kind, detail: c.detail, maxN: c.maxN, approximatesSoftmax: c.approximatesSoftmax })),
      cells: sorted,
      scaling: fitScaling(sorted, names, options.fitFromN),
      unavailable,
      wallSeconds: (performance.now() - started) / 1000,
    };
  }
}
