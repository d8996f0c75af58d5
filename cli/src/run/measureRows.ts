/**
 * Rows of the drop-in tables: each operator (or trained checkpoint) is loaded, warmed up, then
 * evaluated once per seed while the core profiler times the attention calls of the chosen
 * layers. Operators that are not installed, or that the model refuses (a GPT needs causal
 * support), become skipped rows with the reason.
 */
import * as path from 'node:path';
import { canReadSync, createProfiler, SwapformerError, type AttentionProfiler } from '@swapformer/core';
import { type AttentionSpec, attentionSelections, type LayerSet, selectionForLayer, readJsonFile, type OperatorRegistry, type OperatorSelection } from '@swapformer/registry';
import type { SwapformerModel } from '@swapformer/models';
import { captureAttentionInputs, timeOperatorAlone } from './isolatedAttentionTiming';
import { budgetWarnings, layerBudgets, watchLayerLengths, type LayerBudget } from './layerBudgets';
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
  /**
   * The row was asked for and could not run (not installed, refused options, failed mid-run);
   * `run` exits non-zero for these unless --keep-going. Rows that do not apply (a GPT row for
   * an operator without causal support) are skipped without it.
   */
  readonly failed?: boolean;
  /** GPT rows: a generated sample. */
  readonly sample?: string;
  /** Drop-in rows: each swapped layer's sequence length and the operator's keys per query there. */
  readonly layers?: readonly LayerBudget[];
  /** Swapped layers where a budgeted operator's n is not ≫ its budget. */
  readonly warnings?: readonly string[];
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
  if (op.attention) return attentionSelections(op.attention).map((s) => s.selection.name).join('+');
  const opts = Object.entries(op.options ?? {}).filter(([k]) => k !== 'seed');
  return opts.length === 0 ? String(op.name) : `${op.name} ${opts.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`;
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

/** A message whole on one line: a table's skipped note must not lose the reason after the first line. */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
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
    return { ...base, measurements: [], skipped: oneLine(error.message), failed: true };
  }
  const isolated = (ctx.timing ?? (canReadSync() ? 'profiler' : 'isolated')) === 'isolated';
  const profiler = createProfiler(ctx.registry.hooks, { name: `swapformer:run:${base.label}`, sync: !isolated });
  const timed = (layer: number) => ctx.timedLayers === undefined || inLayerSet(ctx.timedLayers, layer);
  let capture: ReturnType<typeof captureAttentionInputs> | null = null;
  // drop-in rows only: a trained checkpoint's operator was trained at these lengths on purpose
  const lengths = base.source === 'drop-in' ? watchLayerLengths(ctx.registry.hooks, timed, `swapformer:run:lengths:${base.label}`) : null;
  try {
    await ctx.warmUp(model);
    // Captured from the first evaluation batch, not the (smaller) warm-up call.
    if (isolated) capture = captureAttentionInputs(ctx.registry.hooks, timed, `swapformer:run:capture:${base.label}`);
    const seeds = base.randomized ? ctx.seeds : ctx.seeds.slice(0, 1);
    let measurements: Measurement[] = [];
    for (const seed of seeds) {
      measurements.push(await measure(ctx, profiler, model, seed));
      ctx.onSeedDone?.(base.label, seed);
      // the layers' lengths come from the evaluation itself: the warm-up call is shorter (8 tokens for a GPT)
      lengths?.stop();
    }
    const layers = lengths ? layerBudgets(model, lengths.lengths) : [];
    const warnings = budgetWarnings(layers);
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
    return { ...base, measurements, ...(sample === undefined ? {} : { sample }), ...(layers.length ? { layers } : {}), ...(warnings.length ? { warnings } : {}) };
  } catch (error) {
    // An operator failing mid-run costs its row, not the whole report.
    if (!SwapformerError.is(error)) throw error;
    return { ...base, measurements: [], skipped: `failed: ${oneLine(error.message)}`, failed: true };
  } finally {
    lengths?.stop();
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
  const installed = () => ctx.registry.list().map((r) => r.meta.name).join(', ');
  for (const op of operators) {
    const label = rowLabel(op);
    // a row is one operator swapped into swapLayers, or a whole per-layer selection as `infer --config` takes
    const selections = op.attention ? attentionSelections(op.attention).map((s) => s.selection) : [{ name: op.name!, ...(op.options ? { options: op.options } : {}) }];
    const operator = [...new Set(selections.map((s) => s.name))].join('+');
    const missing = selections.find((s) => !ctx.registry.has(s.name));
    if (missing) {
      rows.push({ label, operator, source: 'drop-in', randomized: false, measurements: [], skipped: `${selections.length > 1 ? `"${missing.name}" ` : ''}not installed (installed: ${installed()})`, failed: true });
      continue;
    }
    const records = selections.map((s) => ctx.registry.get(s.name));
    const acausal = records.find((r) => r.capabilities.causal === 'none');
    if (requirements.causal && acausal) {
      rows.push({ label, operator, source: 'drop-in', randomized: false, measurements: [], skipped: `${records.length > 1 ? `"${acausal.meta.name}" has ` : ''}no causal support (capabilities.causal "none"); a GPT needs it` });
      continue;
    }
    const attention: AttentionSpec = op.attention ?? (swapLayers === undefined ? selections[0] : { default: { name: 'exact' }, overrides: [{ layers: swapLayers, ...selections[0] }] });
    rows.push(await runRow(ctx, { label, operator, source: 'drop-in', randomized: records.some((r) => r.capabilities.randomness === 'seeded') }, checkpoint, attention));
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
