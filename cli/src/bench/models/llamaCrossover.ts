/**
 * Where swapping pays off end to end (issue 19): a Llama-shaped decoder with every operator in
 * every layer (its causal form), one forward at batch 1 for n = 512, 1,024, … Each cell is timed
 * once after a warm-up at the smallest n; a cell whose time, extrapolated from the operator's
 * last two points, would pass the per-cell budget is recorded as skipped instead of run (a
 * synchronous wasm forward cannot be interrupted, so the budget is enforced before, not during).
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildLlama, normalizeModelConfig, type LlamaModelConfig } from '@swapformer/models';
import type { OperatorRegistry } from '@swapformer/registry';
import { renderSvgChart } from '../../plot/svgChart';
import type { CrossoverCell, CrossoverRow } from './modelBenchTypes';

export type { CrossoverCell, CrossoverRow } from './modelBenchTypes';
import { seededIds, time } from './runModelBench';

export const CROSSOVER_OPERATORS = ['exact', 'performer', 'tost', 'thinformer', 'kdeformer', 'levattention'] as const;

/** The Llama-shaped decoder of the crossover: hidden 512, 8 heads of 64, 2 key/value heads, 4 layers, SwiGLU 1,536, vocabulary 8,192, no LM head. */
export function crossoverLlamaConfig(seed: number): LlamaModelConfig {
  return normalizeModelConfig({
    model: 'llama',
    vocabSize: 8192,
    hiddenSize: 512,
    intermediateSize: 1536,
    numLayers: 4,
    numHeads: 8,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 16384,
    lmHead: false,
    seed,
  }) as LlamaModelConfig;
}

export interface CrossoverOptions {
  readonly ns: readonly number[];
  readonly operators: readonly string[];
  /** Seconds one cell may take (predicted from the operator's previous cells). */
  readonly cellBudgetS: number;
  readonly seed: number;
  readonly progress?: (line: string) => void;
}

/** A cell's time from the last two measured ones (growth exponent clamped to [1, 2]; 1.5 from a single point). */
function predictSeconds(cells: readonly CrossoverCell[], n: number): number {
  const done = cells.filter((c) => c.timing);
  const b = done[done.length - 1];
  if (!b) return 0;
  const a = done[done.length - 2];
  const exponent = a ? Math.min(2, Math.max(1, Math.log(b.timing!.ms / a.timing!.ms) / Math.log(b.n / a.n))) : 1.5;
  return (b.timing!.ms * (n / b.n) ** exponent) / 1000;
}

export async function benchLlamaCrossover(
  options: CrossoverOptions,
  registry: OperatorRegistry,
  forwardDone: (out: tf.Tensor) => Promise<void> | void = (o) => void o.dataSync(),
): Promise<CrossoverRow[]> {
  const config = crossoverLlamaConfig(options.seed);
  const rows: CrossoverRow[] = [];
  for (const operator of options.operators) {
    let model: ReturnType<typeof buildLlama>;
    try {
      model = buildLlama(config, { name: operator }, registry);
    } catch (error) {
      rows.push({ operator, cells: [], refused: (error as Error).message.split('\n')[0] });
      continue;
    }
    const cells: CrossoverCell[] = [];
    try {
      let warm = false;
      for (const n of options.ns) {
        const predictedS = predictSeconds(cells, n);
        if (predictedS > options.cellBudgetS) {
          cells.push({ n, skipped: `over budget (≈ ${predictedS.toFixed(0)} s predicted > ${options.cellBudgetS} s)` });
          continue;
        }
        options.progress?.(`Llama-shaped decoder, ${operator}, n = ${n}`);
        const ids = tf.tensor2d(
          seededIds(n, options.seed + n, config.vocabSize),
          [1, n],
          'int32',
        );
        const run = async () => {
          const out = model.forward(ids);
          try {
            await forwardDone(out);
          } finally {
            out.dispose();
          }
        };
        try {
          if (!warm) await run();
          warm = true;
          cells.push({ n, timing: await time(run, 1) });
        } catch (error) {
          // a failure (an operator refusing this backend, memory) would repeat at every larger n
          cells.push({ n, skipped: `failed: ${(error as Error).message.split('\n')[0]}` });
          break;
        } finally {
          ids.dispose();
        }
      }
    } finally {
      model.dispose();
    }
    rows.push({ operator, cells });
  }
  return rows;
}

/** PyTorch's rows are peers of the whole model, not operators swapped in. */
export const isPeerRow = (row: CrossoverRow): boolean => row.operator.startsWith('torch');

/** "X is faster than exact end to end from n ≈ N": the log-log interpolated crossing of time(X) / time(exact) through 1. */
export function crossoverRule(row: CrossoverRow, exact: CrossoverRow): string {
  if (row.refused) return `${row.operator}: refused (${row.refused})`;
  const ratios = row.cells.flatMap((c) => {
    const e = exact.cells.find((x) => x.n === c.n)?.timing;
    return c.timing && e ? [{ n: c.n, r: c.timing.ms / e.ms }] : [];
  });
  if (ratios.length === 0) return `${row.operator}: no n where both it and exact ran`;
  // the n from which the operator stays faster: after the last measured point where it was not
  let k = ratios.length;
  while (k > 0 && ratios[k - 1].r < 1) k--;
  if (k === 0) return `${row.operator} is faster than exact end to end from the smallest n measured (${ratios[0].n}, ${(1 / ratios[0].r).toFixed(2)}×)`;
  if (k < ratios.length) {
    const [p, q] = [ratios[k - 1], ratios[k]];
    const t = Math.log(p.r) / (Math.log(p.r) - Math.log(q.r));
    const n = Math.exp(Math.log(p.n) + t * (Math.log(q.n) - Math.log(p.n)));
    return `${row.operator} is faster than exact end to end from n ≈ ${Math.round(n).toLocaleString('en-US')} (${(1 / q.r).toFixed(2)}× at ${q.n.toLocaleString('en-US')}${ratios.slice(0, k).some((x) => x.r < 1) ? '; also faster at some smaller n' : ''})`;
  }
  const last = ratios[ratios.length - 1];
  return `${row.operator} is not faster than exact end to end within the measured range (${last.r.toFixed(2)}× exact's time at n = ${last.n.toLocaleString('en-US')})`;
}

export function crossoverSvg(rows: readonly CrossoverRow[], backend: string): string {
  return renderSvgChart({
    title: `Llama-shaped decoder (hidden 512, 4 layers), forward at batch 1 on ${backend}`,
    xLabel: 'tokens n',
    yLabel: 'seconds',
    xScale: 'log',
    yScale: 'log',
    xTicks: [...new Set(rows.flatMap((r) => r.cells.map((c) => c.n)))],
    series: rows.filter((r) => !r.refused).map((r) => ({ label: r.operator, points: r.cells.filter((c) => c.timing).map((c) => ({ x: c.n, y: c.timing!.ms / 1000 })) })),
  });
}
