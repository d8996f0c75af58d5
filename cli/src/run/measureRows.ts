/**
 * Rows of the drop-in tables: each operator (or trained checkpoint) is loaded, warmed up, then
 * evaluated once per seed while the core profiler times the attention calls of the chosen
 * layers. Operators that are not installed, or that the model refuses (a GPT needs causal
 * support), become skipped rows with the reason.
 */
import * as path from 'node:path';
import { canReadSync, createProfiler, SwapformerError, type AttentionProfiler } from '@swapformer/core';
import { type AttentionSpec, type LayerSet, selectionForLayer, readJsonFile, type OperatorRegistry, type OperatorSelection } from '@swapformer/registry';
import type { SwapformerModel } from '@swapformer/models';
import { captureAttentionInputs, timeOperatorAlone } from './isolatedAttentionTiming';
import type { DropInOperator, TrainedCheckpoint } from './runConfig';

/** Loads a checkpoint, optionally with another attention spec (the main job's only model access). */
export type CheckpointLoader = (dir: string, attention?: AttentionSpec) => SwapformerModel;

/** One seed's evaluation. */
export interface Measurement {
  readonly seed: number;
  /** Accuracy (ViT) or bits per character (GPT). */
  readonly metric: number;
  /** Milliseconds per example in the timed attention layers. */
  readonly attentionMs: number;
  /** Milliseconds per example for the whole evaluation pass. */
  readonly endToEndMs: number;
}

export interface TableRow {
  readonly label: string;
  readonly operator: string;
  readonly source: 'drop-in' | 'trained' | 'adapted';
  readonly randomized: boolean;
  readonly measurements: readonly Measurement[];
  /** Set when the row did not run. */
  readonly skipped?: string;
  /** GPT rows: a generated sample. */
  readonly sample?: string;
}

export interface MeanStd {
  readonly mean: number;
  readonly std: number;
}

/** Mean and sample standard deviation (0 for one value). */
export function meanStd(values: readonly number[]): MeanStd {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}

/** Label of a drop-in row: the given one, or the name with its explicit options. */
export function rowLabel(op: DropInOperator): string {
  if (op.label) return op.label;
  const opts = Object.entries(op.options ?? {}).filter(([k]) => k !== 'seed');
  return opts.length === 0 ? op.name : `${op.name} ${opts.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`;
}

/** True when layer `index` is in `layers`. */
export function inLayerSet(layers: LayerSet, index: number): boolean {
  return selectionForLayer({ default: { name: 'out' }, overrides: [{ layers, name: 'in' }] }, index, Number.MAX_SAFE_INTEGER).selection.name === 'in';
}

/** What a row evaluates: called once per seed with the model, returns the metric and examples seen. */
export type Evaluator = (model: SwapformerModel, seed: number) => Promise<{ metric: number; examples: number }>;

export interface RowContext {
  readonly registry: OperatorRegistry;
  readonly load: CheckpointLoader;
  readonly seeds: readonly number[];
  /** Layers whose attention time is reported (undefined: all). */
  readonly timedLayers?: LayerSet;
  readonly warmUp: (model: SwapformerModel) => Promise<void>;
  /**
   * How attention is timed: `profiler` (hook taps around every call; needs synchronous reads)
   * or `isolated` (each timed layer's operator alone on captured inputs; for webgpu in Node).
   * Default: `profiler` where the backend reads synchronously.
   */
  readonly timing?: 'profiler' | 'isolated';
  readonly evaluate: Evaluator;
  /** Extra per-row work on the loaded model (GPT samples). */
  readonly afterRow?: (model: SwapformerModel, seed: number) => Promise<string | undefined>;
  readonly onSeedDone?: (label: string, seed: number) => void;
}

async function measure(ctx: RowContext, profiler: AttentionProfiler, model: SwapformerModel, seed: number): Promise<Measurement> {
  profiler.reset();
  const started = performance.now();
  const { metric, examples } = await ctx.evaluate(model, seed);
  const endToEnd = performance.now() - started;
  const attention = profiler
    .report()
    .filter((r) => ctx.timedLayers === undefined || (r.layerIndex !== null && inLayerSet(ctx.timedLayers, r.layerIndex)))
    .reduce((s, r) => s + r.totalMs, 0);
  return { seed, metric, attentionMs: attention / examples, endToEndMs: endToEnd / examples };
}

/** The operator spec a checkpoint was saved with (`swapformer.attention` of its config.json), else exact. */
function savedAttention(dir: string): AttentionSpec {
  const config = readJsonFile(path.join(dir, 'config.json')) as { swapformer?: { attention?: AttentionSpec } };
  return config.swapformer?.attention ?? { name: 'exact' };
}

async function runRow(ctx: RowContext, base: Omit<TableRow, 'measurements'>, dir: string, attention: AttentionSpec | undefined): Promise<TableRow> {
  let model: SwapformerModel;
  try {
    model = ctx.load(dir, attention);
  } catch (error) {
    if (!SwapformerError.is(error)) throw error;
    return { ...base, measurements: [], skipped: error.message.split('\n')[0] };
  }
  const isolated = (ctx.timing ?? (canReadSync() ? 'profiler' : 'isolated')) === 'isolated';
  const profiler = createProfiler(ctx.registry.hooks, { name: `swapformer:run:${base.label}`, sync: !isolated });
  const timed = (layer: number) => ctx.timedLayers === undefined || inLayerSet(ctx.timedLayers, layer);
  let capture: ReturnType<typeof captureAttentionInputs> | null = null;
  try {
    await ctx.warmUp(model);
    // Captured from the first evaluation batch, not the (smaller) warm-up call.
    if (isolated) capture = captureAttentionInputs(ctx.registry.hooks, timed, `swapformer:run:capture:${base.label}`);
    const seeds = base.randomized ? ctx.seeds : ctx.seeds.slice(0, 1);
    let measurements: Measurement[] = [];
    for (const seed of seeds) {
      measurements.push(await measure(ctx, profiler, model, seed));
      ctx.onSeedDone?.(base.label, seed);
    }
    profiler.stop();
    if (capture) {
      capture.stop();
      const spec = attention ?? savedAttention(dir);
      let perExample = 0;
      for (const call of capture.calls) {
        const selection: OperatorSelection = selectionForLayer(spec, call.layerIndex, Number.MAX_SAFE_INTEGER).selection;
        perExample += (await timeOperatorAlone(ctx.registry, selection, { ...call, ctx: { ...call.ctx, seed: seeds[0] } })) / call.q.shape[0];
      }
      measurements = measurements.map((m) => ({ ...m, attentionMs: perExample }));
    }
    const sample = await ctx.afterRow?.(model, ctx.seeds[0]);
    return { ...base, measurements, ...(sample === undefined ? {} : { sample }) };
  } catch (error) {
    // An operator failing mid-run costs its row, not the whole report.
    if (!SwapformerError.is(error)) throw error;
    return { ...base, measurements: [], skipped: `failed: ${error.message.split('\n')[0]}` };
  } finally {
    profiler.stop();
    capture?.dispose();
    model.dispose();
  }
}

/**
 * Evaluates drop-in rows (operator swapped into `checkpoint` at `swapLayers`, or every layer)
 * and trained rows (checkpoints as saved).
 *
 * @example const rows = measureRows(ctx, 'examples/checkpoints/vit', operators, trained, { first: 2 }, {});
 */
export async function measureRows(ctx: RowContext, checkpoint: string, operators: readonly DropInOperator[], trained: readonly TrainedCheckpoint[], swapLayers: LayerSet | undefined, requirements: { causal?: boolean }, adapted: readonly TrainedCheckpoint[] = []): Promise<TableRow[]> {
  const rows: TableRow[] = [];
  for (const op of operators) {
    const label = rowLabel(op);
    if (!ctx.registry.has(op.name)) {
      rows.push({ label, operator: op.name, source: 'drop-in', randomized: false, measurements: [], skipped: `not installed (installed: ${ctx.registry.list().map((r) => r.meta.name).join(', ')})` });
      continue;
    }
    const record = ctx.registry.get(op.name);
    if (requirements.causal && record.capabilities.causal === 'none') {
      rows.push({ label, operator: op.name, source: 'drop-in', randomized: false, measurements: [], skipped: 'no causal support (capabilities.causal "none"); a GPT needs it' });
      continue;
    }
    const selection = { name: op.name, ...(op.options ? { options: op.options } : {}) };
    const attention: AttentionSpec = swapLayers === undefined ? selection : { default: { name: 'exact' }, overrides: [{ layers: swapLayers, ...selection }] };
    rows.push(await runRow(ctx, { label, operator: op.name, source: 'drop-in', randomized: record.capabilities.randomness === 'seeded' }, checkpoint, attention));
  }
  for (const t of trained) rows.push(await runRow(ctx, { label: t.label, operator: 'trained', source: 'trained', randomized: false }, t.checkpoint, undefined));
  for (const t of adapted) rows.push(await runRow(ctx, { label: t.label, operator: 'adapted', source: 'adapted', randomized: false }, t.checkpoint, undefined));
  return rows;
}

/** Rows that ran, with means; `exact` is the first drop-in row named "exact". */
export function summarizeRows(rows: readonly TableRow[], higherIsBetter: boolean): Array<TableRow & { metric: MeanStd; attentionMs: number; endToEndMs: number; delta: number | null; speedup: number | null; dominated: boolean }> {
  const ran = rows.filter((r) => !r.skipped && r.measurements.length > 0);
  const stats = ran.map((r) => ({ row: r, metric: meanStd(r.measurements.map((m) => m.metric)), attentionMs: meanStd(r.measurements.map((m) => m.attentionMs)).mean, endToEndMs: meanStd(r.measurements.map((m) => m.endToEndMs)).mean }));
  const exact = stats.find((s) => s.row.source === 'drop-in' && s.row.operator === 'exact');
  const better = (a: number, b: number) => (higherIsBetter ? a >= b : a <= b);
  return stats.map((s) => ({
    ...s.row,
    metric: s.metric,
    attentionMs: s.attentionMs,
    endToEndMs: s.endToEndMs,
    delta: exact ? s.metric.mean - exact.metric.mean : null,
    speedup: exact && s.attentionMs > 0 ? exact.attentionMs / s.attentionMs : null,
    dominated: stats.some((o) => o !== s && better(o.metric.mean, s.metric.mean) && o.attentionMs <= s.attentionMs && (o.metric.mean !== s.metric.mean || o.attentionMs < s.attentionMs)),
  }));
}
